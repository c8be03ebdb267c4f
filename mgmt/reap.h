/* Clean what crashed runs left: a `chuted run` killed mid-setup, a monitor
 * killed with -9. Called under the global lock by commands that change state. */
#ifndef CH_REAP_H
#define CH_REAP_H

#include "mgmt/cli.h"

void ch_reap (struct ch_ctx *ctx);
/* ch_reap under the global lock: what every chute command does first, so
 * that ps, exec, stop... see a chute whose monitor died as it now is. */
int ch_reap_locked (struct ch_ctx *ctx, ch_error_t *err);

#endif
