/* Shared between the front (cgroup.c) and the backends (v1.c, v2.c). */
#ifndef CH_CGROUP_INTERNAL_H
#define CH_CGROUP_INTERNAL_H

#include "cgroups/layout.h"

#include <stdbool.h>
#include <sys/types.h>

/* One directory of the chute in one mounted hierarchy. */
struct cg_hier
{
  char *name;  /* "memory", "cpu,cpuacct", "unified" */
  char *mount; /* hierarchy root */
  char *dir;   /* mount + "/" + path */
  int made_from; /* first path component index create made here; -1 none */
};

struct ch_cgroup;

struct ch_cgroup_ops
{
  const char *name;
  /* Called for each directory on the way down (level >= 1), after mkdir:
   * PARENT exists, DIR exists. */
  int (*prepare_dir) (struct ch_cgroup *cg, struct cg_hier *h, const char *parent, const char *dir, ch_error_t *err);
  /* Called before creating the child of PARENT (v2 enables controllers here). */
  int (*prepare_parent) (struct ch_cgroup *cg, struct cg_hier *h, const char *parent, ch_error_t *err);
  int (*apply) (struct ch_cgroup *cg, const struct ch_cgroup_resources *res, ch_error_t *err);
  int (*stats) (struct ch_cgroup *cg, struct ch_cgroup_stats *st, ch_error_t *err);
  int (*freeze) (struct ch_cgroup *cg, bool frozen, ch_error_t *err);
  int (*frozen) (struct ch_cgroup *cg, bool *frozen, ch_error_t *err);
  int (*kill_all) (struct ch_cgroup *cg, int sig, ch_error_t *err);
  /* Directory whose cgroup.procs lists every process of the chute. */
  const char *(*procs_dir) (struct ch_cgroup *cg);
};

struct ch_cgroup
{
  const struct ch_cgroup_ops *ops;
  enum ch_cgroup_mode mode;
  bool fake;
  char *path;
  struct cg_hier *hier;
  size_t n_hier;
  /* v1: index into hier[] for each controller, -1 if not mounted.
   * v2: unused (everything is hier[0]). */
  int ctrl[CH_CG_NCTRL];
  int unified; /* index of the cgroup2 dir (v2 and hybrid), -1 if none */
};

extern const struct ch_cgroup_ops ch_cgroup_v1_ops;
extern const struct ch_cgroup_ops ch_cgroup_v2_ops;

/* cgfs.c: file helpers. Errors name FILE (not the whole path): the front
 * prefixes "cgroup PATH". */
int cg_write (bool create, const char *dir, const char *file, const char *value, ch_error_t *err);
/* *OUT = NULL (and 0 returned) when FILE does not exist. */
int cg_read_opt (const char *dir, const char *file, char **out, ch_error_t *err);
int cg_read_u64_opt (const char *dir, const char *file, uint64_t *out, ch_error_t *err);
int cg_read_keyed_opt (const char *dir, const char *file, const char *key, uint64_t *out, ch_error_t *err);
/* PIDs in DIR/cgroup.procs and in every child cgroup below. */
int cg_procs (const char *dir, pid_t **pids, size_t *n, ch_error_t *err);
int cg_signal_procs (const char *dir, int sig, size_t *n_signalled, ch_error_t *err);
/* rmdir DIR and any child cgroups (depth first), retrying EBUSY for up to
 * TIMEOUT_MS; ENOENT is success. */
int cg_rmdir_tree (const char *dir, int timeout_ms, ch_error_t *err);
void cg_sleep_ms (int ms);
/* devices.c / devices_bpf.c: replace DIR's device policy with "deny all,
 * then D[0..N) in order" (v1 files; a BPF program on a v2 directory). */
int cg_devices_v1 (bool fake, const char *dir, const struct ch_cgroup_device *d, size_t n, ch_error_t *err);
int cg_devices_bpf (bool fake, const char *dir, const struct ch_cgroup_device *d, size_t n, ch_error_t *err);

#endif
