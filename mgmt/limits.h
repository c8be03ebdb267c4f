/* A chute's limits: the one route from what the user gave (`run` and
 * `update` flags, and chute.yaml's `resource:`) to cgroup resources, with
 * one validation. */
#ifndef CH_LIMITS_H
#define CH_LIMITS_H

#include "cgroups/cgroup.h"
#include "common/error.h"
#include "mgmt/chute.h"

#include <stdbool.h>

/* Set one limit of C from a flag: FLAG is the long option's name
 * ("memory", "memory-swap", "cpus", "cpu-shares", "cpu-quota", "cpu-period",
 * "pids", "blkio-weight", "cpuset-cpus"). Returns 1 when FLAG is not a
 * limit, 0 when set, < 0 (message naming --FLAG) when VALUE is refused. */
int ch_limits_flag (struct ch_chute *c, const char *flag, const char *value, ch_error_t *err);

/* C's limits, checked as a whole (memory >= 4 MiB, swap >= memory, ranges),
 * into RES (initialised here; clear it after). A memory limit without a
 * swap limit lifts the swap limit (v1 memsw, v2 swap.max), so an update
 * that raises memory cannot trip over an old swap value. */
int ch_limits_resources (const struct ch_chute *c, struct ch_cgroup_resources *res, ch_error_t *err);

/* RES as config.json's linux.resources. */
json_t *ch_limits_to_oci (const struct ch_cgroup_resources *res);

#endif
