/* The deploy engine's health gate (engine_health.c): after a chute file's
 * chute started, it must stay alive (not exited, not restarted) for
 * `health.grace`, and, when the file gives a probe, one probe must pass
 * within `health.timeout` from the start, tried every `health.interval`:
 *   http: "PORT/PATH"  a GET from inside the chute's network namespace to
 *                      127.0.0.1:PORT/PATH answers 2xx or 3xx;
 *   tcp: PORT          a connection to 127.0.0.1:PORT inside it is accepted;
 *   exec: [CMD...]     CMD run in the chute as `chuted exec` runs it exits 0.
 * Loopback inside the chute's netns (its init's /proc/PID/ns/net) reaches
 * the chute whatever its network: bridge, none or the host's. */
#ifndef CH_HEALTH_H
#define CH_HEALTH_H

#include "common/error.h"
#include "mgmt/cli.h"
#include "mgmt/manifest.h"

#include <stdint.h>
#include <sys/types.h>

struct ch_health_probe
{
  enum ch_health_kind kind;
  unsigned port;  /* http, tcp */
  char *path;     /* http: "/PATH" */
  char **argv;    /* exec */
};

/* The probe of a checked chute file M (CH_HEALTH_ALIVE: none). */
void ch_health_probe_from (const struct ch_chutefile *m, struct ch_health_probe *p);
void ch_health_probe_clear (struct ch_health_probe *p);
/* "http 8080/ping", "tcp 53", "exec [\"/bin/check\", \"-q\"]", "alive". */
char *ch_health_probe_name (const struct ch_health_probe *p);

/* The status code of an HTTP/1.x response's first line in BUF (LEN bytes,
 * maybe not all of it): > 0, or 0 when BUF does not start with one (yet). */
int ch_health_http_status (const char *buf, size_t len);

/* Run probe P once against chute NAME, whose init is PID, for at most
 * TIMEOUT_MS: 0 when it passes, < 0 with why not ("connection refused",
 * "answered 503", "exited with code 1: ..."). */
int ch_health_probe_once (struct ch_ctx *ctx, const struct ch_health_probe *p, const char *name, pid_t pid,
                          int64_t timeout_ms, ch_error_t *err);

/* The gate of chute M (started as M->chute.name): 0 when healthy, < 0 with
 * the reason ("health: http 8080/ping: answered 503 after 30s", "not alive:
 * exited with code 3"). */
int ch_engine_wait_healthy (struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err);

#endif
