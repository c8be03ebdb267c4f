/* The cgroup layout of a host and the pure pieces of the backends, exposed
 * so unit tests can drive them without a real cgroup fs (and so a tool can
 * point the backends at another root). Normal callers use cgroup.h only. */
#ifndef CH_CGROUP_LAYOUT_H
#define CH_CGROUP_LAYOUT_H

#include "cgroups/cgroup.h"

#include <stdbool.h>
#include <stdint.h>

/* The v1 controllers a chute is placed in. */
enum ch_cgroup_ctrl
{
  CH_CG_CPU,
  CH_CG_CPUACCT,
  CH_CG_CPUSET,
  CH_CG_MEMORY,
  CH_CG_DEVICES,
  CH_CG_FREEZER,
  CH_CG_BLKIO,
  CH_CG_PIDS,
  CH_CG_NET_CLS,
  CH_CG_NET_PRIO,
  CH_CG_HUGETLB,
  CH_CG_NCTRL
};
extern const char *const ch_cgroup_ctrl_names[CH_CG_NCTRL];

struct ch_cgroup_layout
{
  enum ch_cgroup_mode mode;
  char *unified;            /* cgroup2 mount point, NULL if none */
  char *v1[CH_CG_NCTRL];    /* v1 mount point of each controller, NULL if not mounted */
  /* Not a real cgroup fs (a test tree under CHUTED_CGROUP_ROOT): files the
   * kernel would provide are created on write, missing cgroup.controllers
   * inherit the parent's subtree_control. */
  bool fake;
};

void ch_cgroup_layout_clear (struct ch_cgroup_layout *l);

/* Pure: the layout described by the text of /proc/self/mountinfo. */
int ch_cgroup_layout_parse (const char *mountinfo, struct ch_cgroup_layout *l, ch_error_t *err);

/* The layout of a directory shaped like /sys/fs/cgroup (ROOT/cgroup.controllers
 * -> v2; ROOT/<controller>/ -> v1, plus ROOT/unified/ -> hybrid). */
int ch_cgroup_layout_from_dir (const char *root, struct ch_cgroup_layout *l, ch_error_t *err);

/* $CHUTED_CGROUP_ROOT if set (from_dir), else statfs(/sys/fs/cgroup) for a
 * pure v2 host, else from_dir(/sys/fs/cgroup) when each hierarchy found
 * there is a cgroup fs, else one read of /proc/self/mountinfo. */
int ch_cgroup_layout_detect (struct ch_cgroup_layout *l, ch_error_t *err);

/* ch_cgroup_create / ch_cgroup_open against an explicit layout. */
int ch_cgroup_create_in (const struct ch_cgroup_layout *l, const char *path, const struct ch_cgroup_resources *res,
                         struct ch_cgroup **out, ch_error_t *err);
int ch_cgroup_open_in (const struct ch_cgroup_layout *l, const char *path, struct ch_cgroup **out, ch_error_t *err);

/* v1: must memory.memsw.limit_in_bytes be written before memory.limit_in_bytes?
 * The kernel keeps memsw >= memory at every step; CUR_MEMSW is the current
 * memsw limit (< 0: unlimited), NEW_* may be CH_CGROUP_UNSET or CH_CGROUP_MAX. */
bool ch_cgroup_v1_memsw_first (int64_t cur_memsw, int64_t new_mem, int64_t new_memsw);

/* v2 memory.swap.max value ("max" or swap-only bytes) for runtime-spec's
 * memory+swap SWAP (set, or CH_CGROUP_MAX) and memory MEM; error when they
 * do not fit. */
int ch_cgroup_v2_swap_value (int64_t mem, int64_t swap, char **out, ch_error_t *err);

/* v2 cpu.max value for runtime-spec quota/period (either may be UNSET). */
char *ch_cgroup_v2_cpu_max (int64_t quota, int64_t period);

/* Pure: the number after KEY on a "KEY N" line of TEXT (cpu.stat,
 * memory.events, memory.oom_control); false if absent. */
bool ch_cgroup_keyed_u64 (const char *text, const char *key, uint64_t *out);

/* Pure: a single-value file ("123\n" or "max\n" -> UINT64_MAX). */
bool ch_cgroup_parse_u64 (const char *text, uint64_t *out);

/* Device rules (devices.c, devices_bpf.c). Is D "every device, every access"? */
bool ch_cgroup_device_is_all (const struct ch_cgroup_device *d);
/* The v1 devices.allow/deny line for D written as TYPE ('a' -> "a"). */
char *ch_cgroup_device_v1_rule (const struct ch_cgroup_device *d, char type);
/* The BPF_CGROUP_DEVICE program for "deny all, then D[0..N) in order",
 * and loading it (a fd for BPF_PROG_ATTACH). */
struct bpf_insn;
int ch_cgroup_devices_bpf_build (const struct ch_cgroup_device *d, size_t n, struct bpf_insn **prog, size_t *len,
                                 ch_error_t *err);
int ch_cgroup_devices_bpf_load (const struct bpf_insn *prog, size_t len, int *fd, ch_error_t *err);

#endif
