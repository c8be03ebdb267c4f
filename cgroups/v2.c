/* cgroup v2 backend: one hierarchy, controllers enabled top-down through
 * cgroup.subtree_control, runtime-spec values converted to v2 ones. */
#include "cgroups/internal.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define FREEZE_TIMEOUT_MS 5000
#define KILL_TIMEOUT_MS 5000

static const char *const wanted[] = { "cpu", "cpuset", "io", "memory", "pids", "hugetlb" };

static bool
has_word (const char *list, const char *w)
{
  size_t wl = strlen (w);

  for (const char *p = list; p && *p;)
    {
      p += strspn (p, " \t\n+");
      size_t n = strcspn (p, " \t\n");
      if (n == wl && strncmp (p, w, n) == 0)
        return true;
      p += n;
    }
  return false;
}

/* The controllers PARENT lacks, as a subtree_control write ("" for none);
 * *ENABLED: what it has. */
static int
missing (const char *parent, char **add, char **enabled, ch_error_t *err)
{
  cleanup_free char *avail = NULL;
  struct ch_buf b = { 0 };

  if (cg_read_opt (parent, "cgroup.controllers", &avail, err) < 0
      || cg_read_opt (parent, "cgroup.subtree_control", enabled, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof (wanted) / sizeof (wanted[0]); i++)
    /* a test tree without cgroup.controllers offers every controller */
    if ((avail == NULL || has_word (avail, wanted[i])) && !has_word (*enabled, wanted[i]))
      ch_buf_printf (&b, "%s+%s", b.len ? " " : "", wanted[i]);
  *add = ch_buf_steal (&b);
  return 0;
}

static int
v2_prepare_parent (struct ch_cgroup *cg, struct cg_hier *h, const char *parent, ch_error_t *err)
{
  cleanup_free char *enabled = NULL;
  cleanup_free char *s = NULL;
  cleanup_close int lock = -1;
  int r;

  if (missing (parent, &s, &enabled, err) < 0)
    return -1;
  if (*s == '\0')
    return 0;
  /* Chutes started at once (a boot restore) each found the controllers
   * off and each wrote them on, one after another: a write synchronises
   * the whole hierarchy and holds every fork meanwhile (slow under
   * emulation). The first writes, under a lock on the parent; the others
   * find them on. */
  lock = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock >= 0 && flock (lock, LOCK_EX) == 0)
    {
      free (s);
      free (enabled);
      s = enabled = NULL;
      if (missing (parent, &s, &enabled, err) < 0)
        return -1;
      if (*s == '\0')
        return 0;
    }
  if (cg->fake && enabled && *enabled)
    {
      /* the kernel merges; a plain file would forget what was enabled */
      char *m = xasprintf ("%.*s %s", (int) strcspn (enabled, "\n"), enabled, s);
      free (s);
      s = m;
    }
  r = cg_write (cg->fake, parent, "cgroup.subtree_control", s, err);
  if (r == 0)
    return 0;
  /* one refusal (cpu with RT tasks around, say) fails the whole write:
   * enable what can be; a limit on a missing controller fails later,
   * naming its file. Nothing enabled at all (EBUSY: the parent holds
   * processes) is this level's error. */
  char *save = NULL;
  int ok = 0;
  for (char *tok = strtok_r (s, " ", &save); tok; tok = strtok_r (NULL, " ", &save))
    if (*tok == '+')
      {
        ch_error_t e = NULL;
        ok += cg_write (cg->fake, parent, "cgroup.subtree_control", tok, &e) == 0;
        ch_error_release (&e);
      }
  if (ok == 0)
    return ch_error_prefix (err, "enable controllers in `%s`", parent);
  ch_error_release (err);
  return 0;
}

static int __attribute__ ((format (printf, 4, 5)))
wf (struct ch_cgroup *cg, const char *file, ch_error_t *err, const char *fmt, ...)
{
  cleanup_free char *v = NULL;
  va_list ap;

  va_start (ap, fmt);
  v = xvasprintf (fmt, ap);
  va_end (ap);
  if (cg_write (cg->fake, cg->hier[0].dir, file, v, err) == 0)
    return 0;
  if ((*err)->status == ENOENT)
    return ch_error (err, ENOENT, "%s=%s: controller not enabled for this cgroup", file, v);
  return -1;
}

static const char *
limit (int64_t v, char *buf, size_t len)
{
  if (v < 0)
    return "max";
  snprintf (buf, len, "%" PRId64, v);
  return buf;
}

static int
io_max (struct ch_cgroup *cg, const char *key, const struct ch_cgroup_throttle *t, size_t n, ch_error_t *err)
{
  /* one device and key per write: the kernel keeps the device's other keys */
  for (size_t i = 0; i < n; i++)
    if (wf (cg, "io.max", err, "%" PRIu32 ":%" PRIu32 " %s=%" PRIu64, t[i].major, t[i].minor, key, t[i].rate) < 0)
      return -1;
  return 0;
}

static int
v2_apply (struct ch_cgroup *cg, const struct ch_cgroup_resources *r, ch_error_t *err)
{
  char b[32];

  /* v1 knobs v2 does not have: refused, as crun does */
  if (r->memory_swappiness != CH_CGROUP_UNSET)
    return ch_error (err, 0, "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
  if (r->disable_oom_killer)
    return ch_error (err, 0, "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer");
  if (r->kernel_tcp != CH_CGROUP_UNSET)
    return ch_error (err, 0, "linux.resources.memory.kernelTCP: cgroup v2 has no kernel TCP memory limit");
  if (r->kernel_memory != CH_CGROUP_UNSET)
    fprintf (stderr, "chuted: warning: linux.resources.memory.kernel ignored: cgroup v2 has no kernel memory limit\n");
  if (r->net_classid != CH_CGROUP_UNSET || r->n_net_prios)
    return ch_error (err, 0, "linux.resources.network: cgroup v2 has no net_cls or net_prio controller");
  for (size_t i = 0; i < r->n_hugepages; i++)
    {
      cleanup_free char *f = xasprintf ("hugetlb.%s.max", r->hugepages[i].pagesize);
      if (wf (cg, f, err, "%" PRIu64, r->hugepages[i].limit) < 0)
        return ch_error_prefix (err, "linux.resources.hugepageLimits");
    }
  if (r->devices_set && cg_devices_bpf (cg->fake, cg->hier[0].dir, r->devices, r->n_devices, err) < 0)
    return -1;
  if (r->cpu_shares > 0 && wf (cg, "cpu.weight", err, "%" PRIu64, ch_cgroup_shares_to_weight (r->cpu_shares)) < 0)
    return -1;
  if (r->cpu_quota != CH_CGROUP_UNSET || r->cpu_period > 0)
    {
      cleanup_free char *v = ch_cgroup_v2_cpu_max (r->cpu_quota, r->cpu_period);
      if (wf (cg, "cpu.max", err, "%s", v) < 0)
        return -1;
    }
  if (r->memory_limit != CH_CGROUP_UNSET && wf (cg, "memory.max", err, "%s", limit (r->memory_limit, b, sizeof b)) < 0)
    return -1;
  if (r->memory_swap != CH_CGROUP_UNSET)
    {
      cleanup_free char *v = NULL;
      if (ch_cgroup_v2_swap_value (r->memory_limit, r->memory_swap, &v, err) < 0)
        return -1;
      if (wf (cg, "memory.swap.max", err, "%s", v) < 0)
        {
          /* no swap accounting: no swap to limit (as v1) */
          if ((*err)->status != ENOENT)
            return -1;
          ch_error_release (err);
        }
    }
  if (r->memory_reservation != CH_CGROUP_UNSET
      && wf (cg, "memory.low", err, "%s", limit (r->memory_reservation, b, sizeof b)) < 0)
    return -1;
  if (r->pids_limit != CH_CGROUP_UNSET && wf (cg, "pids.max", err, "%s", limit (r->pids_limit > 0 ? r->pids_limit : CH_CGROUP_MAX, b, sizeof b)) < 0)
    return -1;
  if (r->blkio_weight > 0
      && wf (cg, "io.weight", err, "default %" PRIu64, ch_cgroup_blkio_to_io_weight (r->blkio_weight)) < 0)
    {
      /* BFQ only: io.bfq.weight keeps the v1 scale */
      if ((*err)->status != ENOENT)
        return -1;
      ch_error_release (err);
      if (wf (cg, "io.bfq.weight", err, "default %" PRId64, r->blkio_weight) < 0)
        return -1;
    }
  if (r->blkio_leaf_weight != CH_CGROUP_UNSET)
    return ch_error (err, 0, "linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights");
  for (size_t i = 0; i < r->n_weight_devices; i++)
    {
      const struct ch_cgroup_weight_device *w = &r->weight_devices[i];
      if (w->leaf_weight != CH_CGROUP_UNSET)
        return ch_error (err, 0, "linux.resources.blockIO.weightDevice[%zu].leafWeight: cgroup v2 has no leaf weights", i);
      if (w->weight != CH_CGROUP_UNSET
          && wf (cg, "io.weight", err, "%" PRIu32 ":%" PRIu32 " %" PRIu64, w->major, w->minor,
                 ch_cgroup_blkio_to_io_weight ((uint64_t) w->weight)) < 0)
        {
          int rc = -1;
          if ((*err)->status == ENOENT)
            {
              ch_error_release (err);
              rc = wf (cg, "io.bfq.weight", err, "%" PRIu32 ":%" PRIu32 " %" PRId64, w->major, w->minor, w->weight);
            }
          if (rc < 0)
            return ch_error_prefix (err, "linux.resources.blockIO.weightDevice[%zu].weight", i);
        }
    }
  if (io_max (cg, "rbps", r->read_bps, r->n_read_bps, err) < 0
      || io_max (cg, "wbps", r->write_bps, r->n_write_bps, err) < 0
      || io_max (cg, "riops", r->read_iops, r->n_read_iops, err) < 0
      || io_max (cg, "wiops", r->write_iops, r->n_write_iops, err) < 0)
    return -1;
  if (r->cpuset_cpus && wf (cg, "cpuset.cpus", err, "%s", r->cpuset_cpus) < 0)
    return -1;
  if (r->cpuset_mems && wf (cg, "cpuset.mems", err, "%s", r->cpuset_mems) < 0)
    return -1;
  return 0;
}

static int
v2_stats (struct ch_cgroup *cg, struct ch_cgroup_stats *st, ch_error_t *err)
{
  const char *d = cg->hier[0].dir;
  uint64_t usec = 0;

  if (cg_read_keyed_opt (d, "cpu.stat", "usage_usec", &usec, err) < 0)
    return -1;
  st->cpu_usage_ns = usec * 1000;
  if (cg_read_u64_opt (d, "memory.current", &st->memory_current, err) < 0
      || cg_read_u64_opt (d, "memory.peak", &st->memory_peak, err) < 0
      || cg_read_u64_opt (d, "memory.max", &st->memory_limit, err) < 0
      || cg_read_keyed_opt (d, "memory.events", "oom_kill", &st->oom_kills, err) < 0
      || cg_read_u64_opt (d, "pids.current", &st->pids_current, err) < 0
      || cg_read_u64_opt (d, "pids.max", &st->pids_limit, err) < 0)
    return -1;
  return 0;
}

static int
v2_freeze (struct ch_cgroup *cg, bool frozen, ch_error_t *err)
{
  const char *d = cg->hier[0].dir;
  long long deadline = ch_now_ms () + FREEZE_TIMEOUT_MS;
  cleanup_free char *ev = xasprintf ("%s/cgroup.events", d);
  cleanup_close int fd = -1;

  if (cg_write (cg->fake, d, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
    return -1;
  fd = open (ev, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "open cgroup.events");
  for (;;)
    {
      uint64_t v = !frozen;
      cleanup_free char *s = NULL;
      struct pollfd p = { .fd = fd, .events = POLLPRI };
      long long left;

      if (cg_read_opt (d, "cgroup.events", &s, err) < 0)
        return -1;
      if (s && ch_cgroup_keyed_u64 (s, "frozen", &v) && v == (uint64_t) frozen)
        return 0;
      left = deadline - ch_now_ms ();
      if (left <= 0)
        return ch_error (err, ETIMEDOUT, "cgroup.events: frozen is not %d after %d ms", frozen, FREEZE_TIMEOUT_MS);
      /* kernfs wakes POLLPRI pollers when cgroup.events changes; the cap
       * covers a test tree, where nothing does */
      if (poll (&p, 1, left < 50 ? (int) left : 50) < 0 && errno != EINTR)
        return ch_error (err, errno, "poll cgroup.events");
    }
}

static int
v2_frozen (struct ch_cgroup *cg, bool *frozen, ch_error_t *err)
{
  cleanup_free char *s = NULL;

  if (cg_read_opt (cg->hier[0].dir, "cgroup.freeze", &s, err) < 0)
    return -1;
  *frozen = s && s[0] == '1';
  return 0;
}

static const char *
v2_procs_dir (struct ch_cgroup *cg)
{
  return cg->hier[0].dir;
}

static int
v2_kill_all (struct ch_cgroup *cg, int sig, ch_error_t *err)
{
  const char *d = cg->hier[0].dir;
  long long deadline = ch_now_ms () + KILL_TIMEOUT_MS;
  size_t n;

  /* cgroup.kill (5.14+) kills the whole subtree atomically, forks included */
  if (sig == SIGKILL && !cg->fake)
    {
      if (cg_write (false, d, "cgroup.kill", "1", err) == 0)
        return 0;
      if ((*err)->status != ENOENT)
        return -1;
      ch_error_release (err);
    }
  if (sig != SIGKILL)
    return cg_signal_procs (d, sig, &n, err);
  /* older kernels: kill until nobody is left to kill */
  for (int delay = 1;; delay = delay < 20 ? delay * 2 : delay)
    {
      if (cg_signal_procs (d, sig, &n, err) < 0)
        return -1;
      if (n == 0 || ch_now_ms () >= deadline)
        return 0;
      cg_sleep_ms (delay);
    }
}

const struct ch_cgroup_ops ch_cgroup_v2_ops = {
  .name = "v2",
  .prepare_parent = v2_prepare_parent,
  .apply = v2_apply,
  .stats = v2_stats,
  .freeze = v2_freeze,
  .frozen = v2_frozen,
  .kill_all = v2_kill_all,
  .procs_dir = v2_procs_dir,
};
