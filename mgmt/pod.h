/* A chute of several services (a pod, ParaDrop 0.12's `services:`): each
 * service is a chute record of its own, named CHUTE+SERVICE (mgmt/chute.h:
 * `+` is outside the user's name rule, so no `chuted run` name collides),
 * with its own monitor, logs, restart policy and a leaf cgroup
 * CGROUP_PARENT/CHUTE/SERVICE. What the services share is the pod's, made
 * by the first service up and released by the last one down, under the
 * pod's lock (RUN_ROOT/chutes/CHUTE+.lock):
 *   - the network: netns/'s network of the name CHUTE (netns, veth,
 *     address, ports, shaping, Wi-Fi), joined by path by every service;
 *   - the cgroup CGROUP_PARENT/CHUTE with the chute's limits (memory, cpu,
 *     pids), so they bound the chute as a whole; its services are leaves
 *     under it, which keeps cgroup v2's no-internal-process rule.
 * A service "holds" the pod between its start and its release
 * (ch_chute_down): while its bundle exists. The deploy engine starts a
 * pod's services in file order and stops them in reverse. */
#ifndef CH_POD_H
#define CH_POD_H

#include "cgroups/cgroup.h"
#include "common/error.h"
#include "mgmt/chute.h"
#include "mgmt/manifest.h"
#include "netns/net.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Is NAME a deployed pod (services recorded, no chute of its own name)? */
bool ch_pod_is (const struct ch_ctx *ctx, const char *name);

/* lifecycle.c: service C of POD comes up (chute lock held). Joins the pod's
 * network, or makes the pod's cgroup, network and Wi-Fi when none is up.
 * *LOCK: the pod's lock, held until C's bundle is written (then closed). */
int ch_pod_share_up (struct ch_ctx *ctx, const struct ch_chute *c, const char *pod, const struct ch_net_config *nc,
                     struct ch_net_result *net, int *lock, ch_error_t *err);
/* `--network container:TARGET`: join the network chute TARGET runs in (a
 * pod's, for a pod or one of its services); it stays TARGET's. */
int ch_pod_join_chute (struct ch_ctx *ctx, const char *target, struct ch_net_result *net, ch_error_t *err);
/* Service NAME of POD is down: the last one releases what the pod shares. */
int ch_pod_share_down (struct ch_ctx *ctx, const char *name, const char *pod, ch_error_t *err);
/* bundle.c: a service's own cgroup carries no chute-wide limit (its pod's does). */
void ch_pod_leaf_resources (const char *name, struct ch_cgroup_resources *res);

/* The engine's side. */
/* The names of pod POD's recorded services, in start order. */
int ch_pod_services (const struct ch_ctx *ctx, const char *pod, char ***names, ch_error_t *err);
/* Create and start every service of M in order; on failure nothing of it is left. */
int ch_pod_run (struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err);
int ch_pod_start (struct ch_ctx *ctx, const char *pod, ch_error_t *err);
/* Stop (REMOVE: and remove) every service, in reverse order. */
int ch_pod_stop (struct ch_ctx *ctx, const char *pod, bool remove, ch_error_t *err);
/* The health gate of a pod: every service stays running, unrestarted, GRACE_S seconds. */
int ch_pod_wait_alive (struct ch_ctx *ctx, const char *pod, uint64_t grace_s, ch_error_t *err);
/* `chuted chutes`: [{name, chute, actual}] of chute NAME (a pod's services,
 * or the chute itself); *RUNNING: all run; *RECORDED: any is recorded. */
json_t *ch_pod_actual (const struct ch_ctx *ctx, const char *name, bool *running, bool *recorded);

#endif
