/* chuted-image build: the command line of the Dockerfile builder
 * (image/dockerfile.h), which `chuted build` execs. */
#ifndef CH_MGMT_BUILD_H
#define CH_MGMT_BUILD_H

#include "common/globals.h"

/* ARGV[0] = "build"; returns the exit code: 0, a failed RUN's own, 2 for
 * usage, 125 for our errors. */
int ch_build_main (const struct ch_globals *g, int argc, char **argv);

#endif
