/* One cgroup interface over three host layouts (v1, v2, hybrid), picked at
 * run time. A backend is a vtable (crun's cgroup-manager habit). */
#ifndef CH_CGROUP_H
#define CH_CGROUP_H

#include "common/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CH_CGROUP_UNSET (-1)
/* "No limit" for the int64 limits (memory, swap, reservation, quota, pids):
 * any value below -1 (CH_CGROUP_UNSET, which leaves the file alone) writes
 * v1's -1 / v2's "max". Needed by update to lift a limit; runtime-spec's
 * -1 maps to UNSET, which on a new cgroup is the same thing. pids_limit 0
 * also means no limit, as in runtime-spec. */
#define CH_CGROUP_MAX (-2)

/* Limits in runtime-spec units (cgroup v1 flavour, as config.json says);
 * the v2 backend converts (shares -> weight, blkio weight -> io.weight).
 * A field left CH_CGROUP_UNSET (or NULL / 0 entries) is not written. */
struct ch_cgroup_throttle
{
  uint32_t major, minor;
  uint64_t rate; /* bytes/s or io/s */
};

/* linux.resources.blockIO.weightDevice[]: either weight may be UNSET */
struct ch_cgroup_weight_device
{
  uint32_t major, minor;
  int64_t weight, leaf_weight; /* 10..1000 */
};

/* One device cgroup rule, as linux.resources.devices gives it. */
enum
{
  CH_CGROUP_DEV_MKNOD = 1, /* the kernel's BPF_DEVCG_ACC_* bits */
  CH_CGROUP_DEV_READ = 2,
  CH_CGROUP_DEV_WRITE = 4,
  CH_CGROUP_DEV_RWM = 7
};
struct ch_cgroup_device
{
  bool allow;
  char type;            /* 'a' (any), 'c', 'b' */
  int64_t major, minor; /* -1: any */
  unsigned access;      /* CH_CGROUP_DEV_* bits, not 0 */
};

struct ch_cgroup_hugepage
{
  char *pagesize; /* "2MB", "1GB": the hugetlb.<size>.* file name part */
  uint64_t limit; /* bytes */
};

struct ch_cgroup_ifprio
{
  char *name; /* interface */
  uint32_t priority;
};

struct ch_cgroup_resources
{
  int64_t cpu_shares;   /* 2..262144 */
  int64_t cpu_quota;    /* us per period; CH_CGROUP_MAX = unlimited */
  int64_t cpu_period;   /* us */
  int64_t memory_limit; /* bytes */
  int64_t memory_swap;  /* memory+swap bytes, as runtime-spec */
  int64_t memory_reservation;
  int64_t pids_limit;   /* 0 or CH_CGROUP_MAX = unlimited; UNSET (-1) = leave */
  int64_t blkio_weight; /* 10..1000 */
  int64_t blkio_leaf_weight; /* 10..1000; v1 CFQ only, refused elsewhere */
  struct ch_cgroup_weight_device *weight_devices;
  size_t n_weight_devices;
  char *cpuset_cpus;
  char *cpuset_mems;
  struct ch_cgroup_throttle *read_bps, *write_bps, *read_iops, *write_iops;
  size_t n_read_bps, n_write_bps, n_read_iops, n_write_iops;
  /* devices_set: replace the device policy with "deny everything, then
   * DEVICES in order, a later rule winning over an earlier one" (v1
   * devices.deny/allow, v2 a BPF_CGROUP_DEVICE program). Unset: the
   * policy is left alone (update). */
  bool devices_set;
  struct ch_cgroup_device *devices;
  size_t n_devices;
  /* v1 only (v2 has no such knobs: refused there, as crun does) */
  int64_t memory_swappiness; /* 0..100 */
  bool disable_oom_killer;
  int64_t kernel_tcp; /* memory.kmem.tcp.limit_in_bytes */
  /* memory.kmem.limit_in_bytes: deprecated by the runtime-spec ("may be
   * ignored by runtimes"); applied where the kernel still enforces it,
   * otherwise a warning says it is ignored, as runc does */
  int64_t kernel_memory;
  int64_t net_classid; /* net_cls.classid */
  struct ch_cgroup_ifprio *net_prios; /* net_prio.ifpriomap */
  size_t n_net_prios;
  struct ch_cgroup_hugepage *hugepages; /* hugetlb.<size>.limit_in_bytes / .max */
  size_t n_hugepages;
};

void ch_cgroup_resources_init (struct ch_cgroup_resources *r); /* everything UNSET */
void ch_cgroup_resources_clear (struct ch_cgroup_resources *r); /* free owned members */

/* A missing file (controller not mounted, memory.peak before 5.19) reads as
 * 0; "no limit" reads as UINT64_MAX. */
struct ch_cgroup_stats
{
  uint64_t cpu_usage_ns;
  uint64_t memory_current, memory_peak, memory_limit;
  uint64_t pids_current, pids_limit;
  uint64_t oom_kills; /* OOM kills inside this cgroup */
};

enum ch_cgroup_mode
{
  CH_CGROUP_V1,
  CH_CGROUP_V2,
  CH_CGROUP_HYBRID /* v1 controllers + a v2 mount without them (this host) */
};

struct ch_cgroup; /* opaque: one chute's cgroup in every hierarchy it uses */

/* Which layout does this host have (from /proc/self/mountinfo + statfs). */
int ch_cgroup_detect (enum ch_cgroup_mode *mode, ch_error_t *err);
const char *ch_cgroup_mode_name (enum ch_cgroup_mode mode);

/* Create PATH (relative, e.g. "chuted/web") in every hierarchy, enabling
 * controllers on the way down (v2), apply RES. Fails (and removes what it
 * made) if a limit cannot be applied. */
int ch_cgroup_create (const char *path, const struct ch_cgroup_resources *res, struct ch_cgroup **out,
                      ch_error_t *err);
/* Did this create make the chute's directory in every hierarchy (the
 * cgroup is the chute's own, and killing all in it kills only the chute)?
 * False when the leaf existed already (an empty cgroup an OCI cgroupsPath
 * named); create refuses one that holds processes. */
bool ch_cgroup_is_own (const struct ch_cgroup *cg);
/* The directories this create made (parents first), NULL-terminated. */
char **ch_cgroup_made_dirs (const struct ch_cgroup *cg);
/* Undo a create without killing anything: remove only what it made. */
void ch_cgroup_release (struct ch_cgroup *cg);
/* rmdir DIRS (as ch_cgroup_made_dirs gave them) deepest first; one that
 * still holds a process or a child cgroup stays. */
void ch_cgroup_remove_dirs (char *const *dirs);
/* Open an existing one (no creation). */
int ch_cgroup_open (const char *path, struct ch_cgroup **out, ch_error_t *err);
void ch_cgroup_free (struct ch_cgroup *cg);

/* Move PID into the cgroup (every hierarchy) by writing cgroup.procs. */
int ch_cgroup_enter (struct ch_cgroup *cg, pid_t pid, ch_error_t *err);

/* join.c: a new process joins without anyone writing its pid to
 * cgroup.procs, whose global lock makes the first writer after a quiet
 * spell wait for an RCU grace period (~10 ms on this host, the longest step
 * of a chute start): the v2 hierarchy is joined at birth (clone3
 * CLONE_INTO_CGROUP with V2_FD), each v1 one by the process itself writing
 * "0" to its `tasks` (moving one thread, `current`, takes no such lock). */
struct ch_cgroup_join
{
  int v2_fd;        /* for clone_args.cgroup; -1 when no v2 hierarchy */
  int *tasks_fds;   /* v1 `tasks` files, opened for writing */
  char **tasks_names; /* their hierarchies, for errors */
  size_t n_tasks;
};
int ch_cgroup_join_open (struct ch_cgroup *cg, struct ch_cgroup_join *j, ch_error_t *err);
/* In the new (single-threaded) process: join every v1 hierarchy. */
int ch_cgroup_join_self (const struct ch_cgroup_join *j, ch_error_t *err);
/* When clone3 refused CLONE_INTO_CGROUP: PID joins the v2 hierarchy the old way. */
int ch_cgroup_enter_v2 (struct ch_cgroup *cg, pid_t pid, ch_error_t *err);
void ch_cgroup_join_close (struct ch_cgroup_join *j);
int ch_cgroup_update (struct ch_cgroup *cg, const struct ch_cgroup_resources *res, ch_error_t *err);
int ch_cgroup_stats (struct ch_cgroup *cg, struct ch_cgroup_stats *st, ch_error_t *err);
int ch_cgroup_freeze (struct ch_cgroup *cg, bool frozen, ch_error_t *err);
/* Is a freeze in effect (or under way)? false where there is no freezer. */
int ch_cgroup_frozen (struct ch_cgroup *cg, bool *frozen, ch_error_t *err);
/* Signal every process in the cgroup (cgroup.kill on v2 for SIGKILL when present). */
int ch_cgroup_kill_all (struct ch_cgroup *cg, int sig, ch_error_t *err);
/* The pids in the cgroup and its descendants (malloc'd; *N may be 0). */
int ch_cgroup_procs (struct ch_cgroup *cg, pid_t **pids, size_t *n, ch_error_t *err);
/* Kill what is left, wait for it to go, rmdir in every hierarchy. */
int ch_cgroup_destroy (struct ch_cgroup *cg, ch_error_t *err);
/* NULL-terminated list of "controller:/abs/path" (v2: "unified:/sys/fs/cgroup/...") for inspect. */
char **ch_cgroup_paths (struct ch_cgroup *cg);

/* Standard conversions (runtime-spec / crun): shares 2..262144 -> weight 1..10000
 * as weight = 1 + ((shares - 2) * 9999) / 262142; blkio 10..1000 -> io 1..10000. */
uint64_t ch_cgroup_shares_to_weight (uint64_t shares);
uint64_t ch_cgroup_blkio_to_io_weight (uint64_t weight);

#endif
