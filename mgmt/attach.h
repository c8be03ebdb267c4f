/* The client side of the attach protocol (runtime/attach.h): relay the
 * chute's output to our stdout/stderr and, with -i, our stdin to it. */
#ifndef CH_MGMT_ATTACH_H
#define CH_MGMT_ATTACH_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <stdbool.h>

/* Connect to the chute's attach socket. */
int ch_attach_connect (const struct ch_ctx *ctx, const char *name, int *fd, ch_error_t *err);
/* Tell the monitor that this client removes the chute once it has ended
 * (run --rm in the foreground), so it does not run its on-exit rm. */
int ch_attach_will_remove (int fd, ch_error_t *err);
/* Relay until the monitor sends the exit frame or hangs up; *EXIT_CODE is
 * the chute's (or -1 if unknown). */
int ch_attach_relay (int fd, bool stdin_too, bool tty, int *exit_code, ch_error_t *err);

#endif
