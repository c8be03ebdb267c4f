/* The client side of the attach protocol (runtime/attach.h): relay the
 * chute's output to our stdout/stderr and, with -i, our stdin to it. */
#ifndef CH_MGMT_ATTACH_H
#define CH_MGMT_ATTACH_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <signal.h>
#include <stdbool.h>

/* Connect to the chute's attach socket. */
int ch_attach_connect (const struct ch_ctx *ctx, const char *name, int *fd, ch_error_t *err);
/* Tell the monitor that this client removes the chute once it has ended
 * (run --rm in the foreground), so it does not run its on-exit rm. */
int ch_attach_will_remove (int fd, ch_error_t *err);
/* docker's and podman's default, ctrl-p,ctrl-q, as bytes: leaves, the chute runs on. */
#define CH_DETACH_KEYS_DEFAULT "\x10\x11"

/* Parse a --detach-keys value (docker's syntax: comma-separated `ctrl-X`
 * (X in a-z [ \\ ] ^ _; not ctrl-@, a NUL) or single characters) into *KEYS, the byte sequence;
 * "" gives "": detaching disabled. */
int ch_detach_keys_parse (const char *spec, char **keys, ch_error_t *err);

/* Block the signals the relay proxies (into SET): from then on they wait
 * for it, so one sent while the chute starts is not lost, nor kills the
 * client. Blocked signals are inherited: call it after the last fork. */
void ch_attach_block_signals (sigset_t *set);

struct ch_attach_opts
{
  bool stdin_too;          /* relay our stdin to the chute */
  bool tty;                /* the chute has a terminal: ours goes raw */
  const char *detach_keys; /* a tty session leaves on this sequence ("" or NULL: never) */
};

/* Relay until the monitor sends the exit frame or hangs up, or the user
 * types the detach keys (*DETACHED, the chute runs on). *EXIT_CODE is the
 * chute's (or -1 if unknown). Meanwhile the catchable signals this process
 * gets (Ctrl-C without a tty, kill, a closed terminal's SIGHUP) go to the
 * chute's init through the monitor, as podman's sig-proxy. */
int ch_attach_relay (int fd, const struct ch_attach_opts *o, int *exit_code, bool *detached, ch_error_t *err);

#endif
