/* Clean what crashed runs left: a `chuted run` killed mid-setup, a monitor
 * killed with -9. Called under the global lock by commands that change state. */
#ifndef CH_REAP_H
#define CH_REAP_H

#include "mgmt/cli.h"

void ch_reap (struct ch_ctx *ctx);

#endif
