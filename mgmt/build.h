/* chuted-image build: the command line of the Dockerfile builder
 * (image/dockerfile.h), which `chuted build` execs. */
#ifndef CH_MGMT_BUILD_H
#define CH_MGMT_BUILD_H

#include "common/globals.h"
#include "mgmt/cli.h"

/* The options of `chuted build` (ch_opts_build, cmd_build.c), which
 * chuted-image build parses from the same table. */
enum
{
  CH_BUILD_O_ARG = 256,
  CH_BUILD_O_NO_CACHE,
  CH_BUILD_O_DISK,
  CH_BUILD_O_MEMORY,
  CH_BUILD_O_CPUS,
  CH_BUILD_O_PIDS,
  CH_BUILD_O_NET,
  CH_BUILD_O_RESULT_FD,
};
extern const struct ch_opt ch_opts_build[];

/* ARGV[0] = "build"; returns the exit code: 0, a failed RUN's own, 2 for
 * usage, 125 for our errors. */
int ch_build_main (const struct ch_globals *g, int argc, char **argv);

/* cmd_build.c (chuted): the argv that runs the builder with CTX's global
 * options: chuted-image --root R --run-root RR --cgroup-parent P ARGS...
 * (ARGS from "build" on). `chuted build` execs it; a deploy that builds
 * (chute.yaml's dockerfile:) forks and execs it. */
char **ch_build_argv (const struct ch_ctx *ctx, char *const *args);

/* build_light.c: ParaDrop's light services, built from a Dockerfile made
 * for them (FROM BASE + their source + CMD). */
struct ch_light_base
{
  char *image;   /* what FROM names */
  char *deps;    /* NULL, or the dependency file installed first (requirements.txt) */
  char *install; /* ...by this command (pip install --requirement requirements.txt) */
};
/* ROOT/config/light-bases, which maps base names to images */
char *ch_light_bases_file (const struct ch_ctx *ctx);
/* Base NAME: the config file's line, else ParaDrop's own (python2 ...). */
int ch_light_base (const struct ch_ctx *ctx, const char *name, struct ch_light_base *out, ch_error_t *err);
void ch_light_base_clear (struct ch_light_base *b);
struct ch_mservice;
/* The Dockerfile of light service S on B, its source in SRC_DIR. */
char *ch_light_dockerfile (const struct ch_mservice *s, const struct ch_light_base *b, const char *src_dir);

#endif
