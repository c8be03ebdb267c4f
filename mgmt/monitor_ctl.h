/* The monitor seen from mgmt: its monitor.json, its start, its liveness. */
#ifndef CH_MONITOR_CTL_H
#define CH_MONITOR_CTL_H

#include "mgmt/lifecycle.h"

/* RUN_DIR/monitor.json for chute C (restart count and reason from UP). */
int ch_monitor_write_config (struct ch_ctx *ctx, const struct ch_chute *c, const char *run_dir, bool attach_wait,
                             const struct ch_up *up, ch_error_t *err);
/* Start the monitor, locked and waiting for 'g' on UP->go_fd; its reports
 * come on UP->ready_fd. */
int ch_monitor_spawn (struct ch_ctx *ctx, const char *run_dir, struct ch_up *up, ch_error_t *err);

#endif
