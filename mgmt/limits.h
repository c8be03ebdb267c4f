/* A chute's limits: the one route from what the user gave (`run` and
 * `update` flags, and chute.yaml's `resource:`) to cgroup resources, with
 * one validation. */
#ifndef CH_LIMITS_H
#define CH_LIMITS_H

#include "cgroups/cgroup.h"
#include "common/error.h"
#include "mgmt/chute.h"

#include <stdbool.h>

/* The limit flags as `run` and `update` both take them, one list for both
 * (entries of a command's ch_opt table, mgmt/cli.h). Their codes are
 * long-only and above any command's own; a parser hands every one of them
 * to ch_limits_flag with the option's long name. */
enum
{
  CH_O_LIMIT_MEMORY_SWAP = 0x4000,
  CH_O_LIMIT_CPUS,
  CH_O_LIMIT_CPU_QUOTA,
  CH_O_LIMIT_CPU_PERIOD,
  CH_O_LIMIT_PIDS,
  CH_O_LIMIT_BLKIO,
  CH_O_LIMIT_CPUSET,
};
#define CH_LIMIT_OPTS                                                                                                  \
  { "memory", 'm', "SIZE", "memory limit (e.g. 64M; at least 4M)" },                                                   \
      { "memory-swap", CH_O_LIMIT_MEMORY_SWAP, "SIZE", "memory+swap limit" },                                          \
      { "cpu-shares", 'c', "N", "relative CPU weight" },                                                               \
      { "cpus", CH_O_LIMIT_CPUS, "N", "number of CPUs (e.g. 0.5)" },                                                   \
      { "cpu-quota", CH_O_LIMIT_CPU_QUOTA, "US", "CPU time per period, microseconds" },                                \
      { "cpu-period", CH_O_LIMIT_CPU_PERIOD, "US", "CPU period, microseconds" },                                       \
      { "pids", CH_O_LIMIT_PIDS, "N", "most processes at once" },                                                      \
      { "pids-limit", CH_O_LIMIT_PIDS, "N", "the same as --pids" },                                                    \
      { "blkio-weight", CH_O_LIMIT_BLKIO, "N", "relative block I/O weight (10-1000)" },                                \
      { "cpuset-cpus", CH_O_LIMIT_CPUSET, "LIST", "CPUs the chute may use (e.g. 0-1)" }
#define CH_CASE_LIMIT_OPTS                                                                                             \
  case 'm':                                                                                                            \
  case 'c':                                                                                                            \
  case CH_O_LIMIT_MEMORY_SWAP:                                                                                         \
  case CH_O_LIMIT_CPUS:                                                                                                \
  case CH_O_LIMIT_CPU_QUOTA:                                                                                           \
  case CH_O_LIMIT_CPU_PERIOD:                                                                                          \
  case CH_O_LIMIT_PIDS:                                                                                                \
  case CH_O_LIMIT_BLKIO:                                                                                               \
  case CH_O_LIMIT_CPUSET

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
