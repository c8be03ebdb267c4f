/* cgroup v1 backend (also the hybrid one: limits go through v1, the
 * unified dir only holds the processes). */
#include "cgroups/internal.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FREEZE_TIMEOUT_MS 5000
/* v1 reports "no limit" as LONG_MAX rounded down to a page */
#define V1_UNLIMITED (1ULL << 62)

static const char *
cdir (struct ch_cgroup *cg, enum ch_cgroup_ctrl c)
{
  return cg->ctrl[c] >= 0 ? cg->hier[cg->ctrl[c]].dir : NULL;
}

static int
need (struct ch_cgroup *cg, enum ch_cgroup_ctrl c, const char *file, const char **dir, ch_error_t *err)
{
  *dir = cdir (cg, c);
  if (*dir == NULL)
    return ch_error (err, 0, "%s: the %s controller is not mounted", file, ch_cgroup_ctrl_names[c]);
  return 0;
}

static int __attribute__ ((format (printf, 5, 6)))
wf (struct ch_cgroup *cg, const char *dir, const char *file, ch_error_t *err, const char *fmt, ...)
{
  cleanup_free char *v = NULL;
  va_list ap;

  va_start (ap, fmt);
  v = xvasprintf (fmt, ap);
  va_end (ap);
  return cg_write (cg->fake, dir, file, v, err);
}

static bool
blank (const char *s)
{
  return s == NULL || s[strspn (s, " \t\n")] == '\0';
}

/* A new cpuset cgroup starts with empty cpus/mems, and a task cannot join
 * an empty cpuset: inherit the parent's, at every level. */
static int
v1_prepare_dir (struct ch_cgroup *cg, struct cg_hier *h, const char *parent, const char *dir, ch_error_t *err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

  if (cg->ctrl[CH_CG_CPUSET] < 0 || h != &cg->hier[cg->ctrl[CH_CG_CPUSET]])
    return 0;
  for (size_t i = 0; i < 2; i++)
    {
      cleanup_free char *cur = NULL, *pv = NULL;
      if (cg_read_opt (dir, files[i], &cur, err) < 0)
        return -1;
      /* a test tree has no file until written: same as empty */
      if ((cur == NULL && !cg->fake) || !blank (cur))
        continue;
      if (cg_read_opt (parent, files[i], &pv, err) < 0)
        return -1;
      if (blank (pv))
        continue;
      pv[strcspn (pv, "\n")] = '\0';
      if (cg_write (cg->fake, dir, files[i], pv, err) < 0)
        return -1;
    }
  return 0;
}

static int
throttles (struct ch_cgroup *cg, const char *dir, const char *file, const struct ch_cgroup_throttle *t, size_t n,
           ch_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (wf (cg, dir, file, err, "%" PRIu32 ":%" PRIu32 " %" PRIu64, t[i].major, t[i].minor, t[i].rate) < 0)
      return -1;
  return 0;
}

/* CFQ's per-device files, else BFQ's (which has no leaf weights) */
static int
v1_blkio_weights (struct ch_cgroup *cg, const char *d, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  if (r->blkio_leaf_weight != CH_CGROUP_UNSET
      && wf (cg, d, "blkio.leaf_weight", err, "%" PRId64, r->blkio_leaf_weight) < 0)
    return ch_error_prefix (err, "linux.resources.blockIO.leafWeight");
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct ch_cgroup_weight_device *w = &r->weight_devices[i];
      if (w->weight != CH_CGROUP_UNSET
          && wf (cg, d, "blkio.weight_device", err, "%" PRIu32 ":%" PRIu32 " %" PRId64, w->major, w->minor, w->weight) < 0)
        {
          int rc = -1;
          if ((*err)->status == ENOENT)
            {
              ch_error_release (err);
              rc = wf (cg, d, "blkio.bfq.weight_device", err, "%" PRIu32 ":%" PRIu32 " %" PRId64, w->major, w->minor, w->weight);
            }
          if (rc < 0)
            return ch_error_prefix (err, "linux.resources.blockIO.weightDevice[%zu].weight", i);
        }
      if (w->leaf_weight != CH_CGROUP_UNSET
          && wf (cg, d, "blkio.leaf_weight_device", err, "%" PRIu32 ":%" PRIu32 " %" PRId64, w->major, w->minor,
                 w->leaf_weight) < 0)
        return ch_error_prefix (err, "linux.resources.blockIO.weightDevice[%zu].leafWeight", i);
    }
  return 0;
}

static int
write_memsw (struct ch_cgroup *cg, const char *dir, int64_t v, ch_error_t *err)
{
  if (wf (cg, dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, v) == 0)
    return 0;
  /* no swap accounting (swapaccount=0 or no swap): there is no swap to
   * limit, the memory limit still holds */
  if ((*err)->status == ENOENT)
    {
      ch_error_release (err);
      return 0;
    }
  return -1;
}

static int
v1_memory (struct ch_cgroup *cg, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  int64_t mem = r->memory_limit, sw = r->memory_swap, cur = -1;
  uint64_t cur_u = UINT64_MAX;
  const char *d;

  if (mem == CH_CGROUP_UNSET && sw == CH_CGROUP_UNSET && r->memory_reservation == CH_CGROUP_UNSET)
    return 0;
  if (need (cg, CH_CG_MEMORY, "memory", &d, err) < 0)
    return -1;
  if (sw >= 0 && mem >= 0 && sw < mem)
    return ch_error (err, 0, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64, sw, mem);
  if (sw != CH_CGROUP_UNSET && cg_read_u64_opt (d, "memory.memsw.limit_in_bytes", &cur_u, err) < 0)
    return -1;
  cur = cur_u >= V1_UNLIMITED ? -1 : (int64_t) cur_u;
  if (ch_cgroup_v1_memsw_first (cur, mem, sw))
    {
      if (write_memsw (cg, d, sw < 0 ? -1 : sw, err) < 0)
        return -1;
      sw = CH_CGROUP_UNSET;
    }
  if (mem != CH_CGROUP_UNSET && wf (cg, d, "memory.limit_in_bytes", err, "%" PRId64, mem < 0 ? -1 : mem) < 0)
    return -1;
  if (sw != CH_CGROUP_UNSET && write_memsw (cg, d, sw < 0 ? -1 : sw, err) < 0)
    return -1;
  if (r->memory_reservation != CH_CGROUP_UNSET
      && wf (cg, d, "memory.soft_limit_in_bytes", err, "%" PRId64,
             r->memory_reservation < 0 ? -1 : r->memory_reservation) < 0)
    return -1;
  return 0;
}

/* The devices controller; without it (some v1 hosts), a BPF program on
 * the unified dir enforces the same rules. */
static int
v1_devices (struct ch_cgroup *cg, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  const char *d = cdir (cg, CH_CG_DEVICES);

  if (!r->devices_set)
    return 0;
  if (d)
    return cg_devices_v1 (cg->fake, d, r->devices, r->n_devices, err);
  if (cg->unified >= 0)
    return cg_devices_bpf (cg->fake, cg->hier[cg->unified].dir, r->devices, r->n_devices, err);
  return ch_error (err, 0, "device rules: no devices controller and no cgroup2 hierarchy on this host");
}

/* Kernel memory limits were obsoleted in Linux 5.4: newer kernels keep
 * memory.kmem.limit_in_bytes but drop what is written to it (or have no
 * such file). The read-back tells which; the kernel keeps whole pages. */
static int
v1_kernel_memory (struct ch_cgroup *cg, int64_t limit, ch_error_t *err)
{
  const char *f = "memory.kmem.limit_in_bytes";
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE), got = UINT64_MAX;
  const char *d;

  if (need (cg, CH_CG_MEMORY, f, &d, err) < 0)
    return -1;
  if (wf (cg, d, f, err, "%" PRId64, limit < 0 ? -1 : limit) < 0)
    {
      if ((*err)->status != ENOENT)
        return -1;
      ch_error_release (err);
      fprintf (stderr, "chuted: warning: linux.resources.memory.kernel ignored: this kernel has no %s\n", f);
      return 0;
    }
  if (cg->fake || limit < 0)
    return 0;
  if (cg_read_u64_opt (d, f, &got, err) < 0)
    return -1;
  if (got != (uint64_t) limit / page * page)
    fprintf (stderr, "chuted: warning: linux.resources.memory.kernel ignored: this kernel does not enforce "
                     "kernel memory limits (%s stays %" PRIu64 ")\n", f, got);
  return 0;
}

/* Knobs only v1 has. A missing controller or file (kmem.tcp is gone from
 * newer kernels) is an error naming the runtime-spec field, never a skip. */
static int
v1_extras (struct ch_cgroup *cg, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  const char *d;

  if (r->memory_swappiness != CH_CGROUP_UNSET
      && (need (cg, CH_CG_MEMORY, "memory.swappiness", &d, err) < 0
          || wf (cg, d, "memory.swappiness", err, "%" PRId64, r->memory_swappiness) < 0))
    return ch_error_prefix (err, "linux.resources.memory.swappiness");
  if (r->disable_oom_killer
      && (need (cg, CH_CG_MEMORY, "memory.oom_control", &d, err) < 0
          || cg_write (cg->fake, d, "memory.oom_control", "1", err) < 0))
    return ch_error_prefix (err, "linux.resources.memory.disableOOMKiller");
  if (r->kernel_tcp != CH_CGROUP_UNSET
      && (need (cg, CH_CG_MEMORY, "memory.kmem.tcp.limit_in_bytes", &d, err) < 0
          || wf (cg, d, "memory.kmem.tcp.limit_in_bytes", err, "%" PRId64, r->kernel_tcp < 0 ? -1 : r->kernel_tcp) < 0))
    return ch_error_prefix (err, "linux.resources.memory.kernelTCP");
  if (r->kernel_memory != CH_CGROUP_UNSET && v1_kernel_memory (cg, r->kernel_memory, err) < 0)
    return ch_error_prefix (err, "linux.resources.memory.kernel");
  if (r->net_classid != CH_CGROUP_UNSET
      && (need (cg, CH_CG_NET_CLS, "net_cls.classid", &d, err) < 0
          || wf (cg, d, "net_cls.classid", err, "%" PRId64, r->net_classid) < 0))
    return ch_error_prefix (err, "linux.resources.network.classID");
  if (r->n_net_prios && need (cg, CH_CG_NET_PRIO, "net_prio.ifpriomap", &d, err) < 0)
    return ch_error_prefix (err, "linux.resources.network.priorities");
  for (size_t i = 0; i < r->n_net_prios; i++)
    if (wf (cg, d, "net_prio.ifpriomap", err, "%s %" PRIu32, r->net_prios[i].name, r->net_prios[i].priority) < 0)
      return ch_error_prefix (err, "linux.resources.network.priorities");
  if (r->n_hugepages && need (cg, CH_CG_HUGETLB, "hugetlb", &d, err) < 0)
    return ch_error_prefix (err, "linux.resources.hugepageLimits");
  for (size_t i = 0; i < r->n_hugepages; i++)
    {
      cleanup_free char *f = xasprintf ("hugetlb.%s.limit_in_bytes", r->hugepages[i].pagesize);
      if (wf (cg, d, f, err, "%" PRIu64, r->hugepages[i].limit) < 0)
        return ch_error_prefix (err, "linux.resources.hugepageLimits");
    }
  return 0;
}

static int
v1_apply (struct ch_cgroup *cg, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  const char *d;

  if (v1_devices (cg, r, err) < 0)
    return -1;

  if (r->cpu_shares > 0 || r->cpu_period > 0 || r->cpu_quota != CH_CGROUP_UNSET)
    {
      if (need (cg, CH_CG_CPU, "cpu", &d, err) < 0)
        return -1;
      if (r->cpu_shares > 0 && wf (cg, d, "cpu.shares", err, "%" PRId64, r->cpu_shares) < 0)
        return -1;
      if (r->cpu_period > 0 && wf (cg, d, "cpu.cfs_period_us", err, "%" PRId64, r->cpu_period) < 0)
        return -1;
      if (r->cpu_quota != CH_CGROUP_UNSET
          && wf (cg, d, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu_quota < 0 ? -1 : r->cpu_quota) < 0)
        return -1;
    }
  if (v1_memory (cg, r, err) < 0 || v1_extras (cg, r, err) < 0)
    return -1;
  if (r->pids_limit != CH_CGROUP_UNSET)
    {
      if (need (cg, CH_CG_PIDS, "pids.max", &d, err) < 0)
        return -1;
      if (r->pids_limit > 0 ? wf (cg, d, "pids.max", err, "%" PRId64, r->pids_limit) < 0
                            : cg_write (cg->fake, d, "pids.max", "max", err) < 0)
        return -1;
    }
  if (r->blkio_weight > 0 || r->blkio_leaf_weight != CH_CGROUP_UNSET || r->n_weight_devices || r->n_read_bps
      || r->n_write_bps || r->n_read_iops || r->n_write_iops)
    {
      if (need (cg, CH_CG_BLKIO, "blkio", &d, err) < 0)
        return -1;
      if (r->blkio_weight > 0 && wf (cg, d, "blkio.weight", err, "%" PRId64, r->blkio_weight) < 0)
        {
          /* CFQ is gone: with BFQ the knob is blkio.bfq.weight */
          if ((*err)->status != ENOENT)
            return -1;
          ch_error_release (err);
          if (wf (cg, d, "blkio.bfq.weight", err, "%" PRId64, r->blkio_weight) < 0)
            return -1;
        }
      if (v1_blkio_weights (cg, d, r, err) < 0)
        return -1;
      if (throttles (cg, d, "blkio.throttle.read_bps_device", r->read_bps, r->n_read_bps, err) < 0
          || throttles (cg, d, "blkio.throttle.write_bps_device", r->write_bps, r->n_write_bps, err) < 0
          || throttles (cg, d, "blkio.throttle.read_iops_device", r->read_iops, r->n_read_iops, err) < 0
          || throttles (cg, d, "blkio.throttle.write_iops_device", r->write_iops, r->n_write_iops, err) < 0)
        return -1;
    }
  if (r->cpuset_cpus || r->cpuset_mems)
    {
      if (need (cg, CH_CG_CPUSET, "cpuset", &d, err) < 0)
        return -1;
      if (r->cpuset_cpus && cg_write (cg->fake, d, "cpuset.cpus", r->cpuset_cpus, err) < 0)
        return -1;
      if (r->cpuset_mems && cg_write (cg->fake, d, "cpuset.mems", r->cpuset_mems, err) < 0)
        return -1;
    }
  return 0;
}

static int
v1_stats (struct ch_cgroup *cg, struct ch_cgroup_stats *st, ch_error_t *err)
{
  const char *d;

  if ((d = cdir (cg, CH_CG_CPUACCT)) && cg_read_u64_opt (d, "cpuacct.usage", &st->cpu_usage_ns, err) < 0)
    return -1;
  if ((d = cdir (cg, CH_CG_MEMORY)))
    {
      if (cg_read_u64_opt (d, "memory.usage_in_bytes", &st->memory_current, err) < 0
          || cg_read_u64_opt (d, "memory.max_usage_in_bytes", &st->memory_peak, err) < 0
          || cg_read_u64_opt (d, "memory.limit_in_bytes", &st->memory_limit, err) < 0
          || cg_read_keyed_opt (d, "memory.oom_control", "oom_kill", &st->oom_kills, err) < 0)
        return -1;
      if (st->memory_limit >= V1_UNLIMITED)
        st->memory_limit = UINT64_MAX;
    }
  if ((d = cdir (cg, CH_CG_PIDS)))
    {
      if (cg_read_u64_opt (d, "pids.current", &st->pids_current, err) < 0
          || cg_read_u64_opt (d, "pids.max", &st->pids_limit, err) < 0)
        return -1;
    }
  return 0;
}

static int
read_state (const char *d, char **state, ch_error_t *err)
{
  if (cg_read_opt (d, "freezer.state", state, err) < 0)
    return -1;
  if (*state == NULL)
    return ch_error (err, ENOENT, "freezer.state");
  (*state)[strcspn (*state, "\n")] = '\0';
  return 0;
}

static int
v1_freeze (struct ch_cgroup *cg, bool frozen, ch_error_t *err)
{
  const char *want = frozen ? "FROZEN" : "THAWED";
  long long deadline = ch_now_ms () + FREEZE_TIMEOUT_MS;
  const char *d;
  int delay = 1;

  if (need (cg, CH_CG_FREEZER, "freezer.state", &d, err) < 0)
    return -1;
  for (;;)
    {
      cleanup_free char *state = NULL;
      /* rewriting FROZEN restarts the freeze of tasks forked meanwhile */
      if (cg_write (cg->fake, d, "freezer.state", want, err) < 0)
        return -1;
      if (read_state (d, &state, err) < 0)
        return -1;
      if (strcmp (state, want) == 0)
        return 0;
      if (ch_now_ms () >= deadline)
        {
          ch_error_t e2 = NULL;
          if (frozen)
            cg_write (cg->fake, d, "freezer.state", "THAWED", &e2);
          ch_error_release (&e2);
          return ch_error (err, ETIMEDOUT, "freezer.state still %s after %d ms", state, FREEZE_TIMEOUT_MS);
        }
      cg_sleep_ms (delay);
      if (delay < 20)
        delay *= 2;
    }
}

/* FREEZING counts as frozen: a freeze was asked for (runc says paused too). */
static int
v1_frozen (struct ch_cgroup *cg, bool *frozen, ch_error_t *err)
{
  cleanup_free char *state = NULL;
  const char *d = cdir (cg, CH_CG_FREEZER);

  *frozen = false;
  if (d == NULL)
    return 0;
  if (read_state (d, &state, err) < 0)
    return -1;
  *frozen = strcmp (state, "THAWED") != 0;
  return 0;
}

static const char *
v1_procs_dir (struct ch_cgroup *cg)
{
  static const enum ch_cgroup_ctrl order[] = { CH_CG_FREEZER, CH_CG_PIDS, CH_CG_MEMORY, CH_CG_CPU };

  for (size_t i = 0; i < sizeof (order) / sizeof (order[0]); i++)
    if (cdir (cg, order[i]))
      return cdir (cg, order[i]);
  return cg->hier[0].dir;
}

/* Freeze, signal, thaw: a frozen task cannot fork a child past the kill. */
static int
v1_kill_all (struct ch_cgroup *cg, int sig, ch_error_t *err)
{
  const char *fz = cdir (cg, CH_CG_FREEZER);
  cleanup_free char *state = NULL;
  bool was_frozen = false;
  size_t n;
  int r;

  if (fz)
    {
      if (read_state (fz, &state, err) < 0)
        return ch_error_prefix (err, "%s", fz);
      was_frozen = strcmp (state, "FROZEN") == 0;
      if (!was_frozen && v1_freeze (cg, true, err) < 0)
        {
          /* a freeze that does not settle must not stop a SIGKILL: kill
           * anyway, destroy's wait re-kills late forks */
          if (sig != SIGKILL)
            return -1;
          ch_error_release (err);
        }
    }
  r = cg_signal_procs (v1_procs_dir (cg), sig, &n, err);
  /* a paused chute stays paused, except that SIGKILL needs it running to die */
  if (fz && (!was_frozen || sig == SIGKILL))
    {
      ch_error_t e2 = NULL;
      if (v1_freeze (cg, false, r < 0 ? &e2 : err) < 0 && r == 0)
        return -1;
      ch_error_release (&e2);
    }
  return r;
}

const struct ch_cgroup_ops ch_cgroup_v1_ops = {
  .name = "v1",
  .prepare_dir = v1_prepare_dir,
  .apply = v1_apply,
  .stats = v1_stats,
  .freeze = v1_freeze,
  .frozen = v1_frozen,
  .kill_all = v1_kill_all,
  .procs_dir = v1_procs_dir,
};
