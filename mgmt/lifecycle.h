/* Bringing a chute up (rootfs, network, bundle, monitor) and down again;
 * every path that fails undoes what it made. All under the chute's lock. */
#ifndef CH_LIFECYCLE_H
#define CH_LIFECYCLE_H

#include "common/error.h"
#include "mgmt/chute.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct ch_up
{
  pid_t monitor_pid;
  int ready_fd; /* monitor's report pipe */
  int go_fd;    /* write 'g' once monitor.json and the bundle are in place */
  /* in: a restart by the reaper carries the count on and says why */
  int restarts;
  const char *reason;
};

/* Prepare and start the monitor. With ATTACH_WAIT the monitor waits for
 * `ch_attach` before starting the chute. */
int ch_chute_up (struct ch_ctx *ctx, const struct ch_chute *c, bool attach_wait, struct ch_up *up, ch_error_t *err);
/* Wait for "ok PID" / "err CODE MSG" from the monitor; on error sets
 * ctx->fail_code to the chute's code (127 for exec not found...). */
int ch_chute_wait_started (struct ch_ctx *ctx, struct ch_up *up, pid_t *init_pid, ch_error_t *err);
/* Release what a (no longer running) chute holds: network, rootfs mount,
 * cgroup, bundle. Keeps status.json and logs. Idempotent. */
int ch_chute_down (struct ch_ctx *ctx, const char *name, ch_error_t *err);
/* The part of ch_chute_down another chute of the name would collide with:
 * the OCI container (cgroup), the network, Wi-Fi. Idempotent. */
int ch_chute_release (struct ch_ctx *ctx, const char *name, ch_error_t *err);

/* The monitor's status.json (NULL if none) and whether the chute is live. */
json_t *ch_chute_status (const struct ch_ctx *ctx, const char *name);
bool ch_chute_running (const struct ch_ctx *ctx, const char *name, pid_t *monitor_pid);
/* Whether the chute's monitor process is alive (it holds RUN_DIR/monitor.lock),
 * whatever status.json says. */
bool ch_chute_monitor_alive (const struct ch_ctx *ctx, const char *name);
/* Wait up to TIMEOUT_MS for the chute's monitor process to be gone: it says
 * "exited" a moment before it is (then it unlinks its attach socket, or runs
 * its on-exit command). */
void ch_chute_wait_monitor_gone (const struct ch_ctx *ctx, const char *name, int timeout_ms);

/* Signal the chute (SIGNO, then SIGKILL after TIMEOUT_S; none at 0) and wait
 * until its monitor says it ended; releases nothing. *KILLED (if not NULL)
 * says whether SIGKILL was needed. */
int ch_chute_halt (struct ch_ctx *ctx, const char *name, int signo, int timeout_s, bool *killed, ch_error_t *err);
/* As ch_chute_stop, with SIGNO first instead of SIGTERM; *KILLED as above. */
int ch_chute_stop_with (struct ch_ctx *ctx, const char *name, int signo, int timeout_s, bool *killed,
                        ch_error_t *err);
int ch_chute_stop (struct ch_ctx *ctx, const char *name, int timeout_s, ch_error_t *err);
int ch_chute_remove (struct ch_ctx *ctx, const char *name, bool force, ch_error_t *err);
/* An update's stop and removal (chute_retire.c): stop as ch_chute_stop and
 * release what the next chute of the name needs, but move the files (and
 * the still mounted rootfs) out of the name's way for
 * ch_chute_purge_retired to remove once the next one runs. */
int ch_chute_retire (struct ch_ctx *ctx, const char *name, int timeout_s, ch_error_t *err);
/* Whether ch_chute_retire left something of chute NAME. */
bool ch_chute_has_retired (const struct ch_ctx *ctx, const char *name);
/* Remove what ch_chute_retire moved aside for chute NAME, if anything. */
int ch_chute_purge_retired (struct ch_ctx *ctx, const char *name, ch_error_t *err);
/* The same for every chute (a change killed before it removed them), but
 * those whose lock is held: for the reaper, under the global lock. */
void ch_chute_reap_retired (struct ch_ctx *ctx);

#endif
