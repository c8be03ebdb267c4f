/* The front: one chute's directory in every hierarchy the layout has,
 * created all-or-nothing; the backend vtable does the controller files. */
#include "cgroups/internal.h"
#include "common/file.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long destroy waits for killed tasks to leave and for rmdir to stop
 * saying EBUSY: bounded, so a stuck task is an error and not a hang. */
#define CG_EMPTY_TIMEOUT_MS 5000
#define CG_RMDIR_TIMEOUT_MS 2000

void
ch_cgroup_resources_init (struct ch_cgroup_resources *r)
{
  memset (r, 0, sizeof (*r));
  r->cpu_shares = r->cpu_quota = r->cpu_period = CH_CGROUP_UNSET;
  r->memory_limit = r->memory_swap = r->memory_reservation = CH_CGROUP_UNSET;
  r->pids_limit = r->blkio_weight = r->blkio_leaf_weight = CH_CGROUP_UNSET;
  r->memory_swappiness = r->kernel_tcp = r->kernel_memory = r->net_classid = CH_CGROUP_UNSET;
}

void
ch_cgroup_resources_clear (struct ch_cgroup_resources *r)
{
  free (r->cpuset_cpus);
  free (r->cpuset_mems);
  free (r->read_bps);
  free (r->write_bps);
  free (r->read_iops);
  free (r->write_iops);
  free (r->weight_devices);
  free (r->devices);
  for (size_t i = 0; i < r->n_net_prios; i++)
    free (r->net_prios[i].name);
  free (r->net_prios);
  for (size_t i = 0; i < r->n_hugepages; i++)
    free (r->hugepages[i].pagesize);
  free (r->hugepages);
  ch_cgroup_resources_init (r);
}

static int
check_path (const char *path, ch_error_t *err)
{
  if (path == NULL || *path == '\0' || *path == '/')
    return ch_error (err, 0, "cgroup path `%s` must be relative and not empty", path ? path : "");
  for (const char *c = path; *c;)
    {
      size_t n = strcspn (c, "/");
      if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
        return ch_error (err, 0, "cgroup path `%s`: empty, `.` or `..` component", path);
      c += n;
      if (*c == '/' && *++c == '\0')
        return ch_error (err, 0, "cgroup path `%s`: empty, `.` or `..` component", path);
    }
  return 0;
}

void
ch_cgroup_free (struct ch_cgroup *cg)
{
  if (cg == NULL)
    return;
  for (size_t i = 0; i < cg->n_hier; i++)
    {
      free (cg->hier[i].name);
      free (cg->hier[i].mount);
      free (cg->hier[i].dir);
    }
  free (cg->hier);
  free (cg->path);
  free (cg);
}

static int
add_hier (struct ch_cgroup *cg, const char *name, const char *mount)
{
  for (size_t i = 0; i < cg->n_hier; i++)
    if (strcmp (cg->hier[i].mount, mount) == 0)
      {
        char *n = xasprintf ("%s,%s", cg->hier[i].name, name);
        free (cg->hier[i].name);
        cg->hier[i].name = n;
        return (int) i;
      }
  cg->hier = xrealloc (cg->hier, (cg->n_hier + 1) * sizeof (*cg->hier));
  cg->hier[cg->n_hier] = (struct cg_hier){ .name = xstrdup (name),
                                           .mount = xstrdup (mount),
                                           .dir = xasprintf ("%s/%s", mount, cg->path),
                                           .made_from = -1 };
  return (int) cg->n_hier++;
}

static struct ch_cgroup *
new_cgroup (const struct ch_cgroup_layout *l, const char *path)
{
  struct ch_cgroup *cg = xzalloc (sizeof (*cg));

  cg->mode = l->mode;
  cg->fake = l->fake;
  cg->path = xstrdup (path);
  cg->unified = -1;
  cg->ops = l->mode == CH_CGROUP_V2 ? &ch_cgroup_v2_ops : &ch_cgroup_v1_ops;
  for (int i = 0; i < CH_CG_NCTRL; i++)
    cg->ctrl[i] = l->mode != CH_CGROUP_V2 && l->v1[i] ? add_hier (cg, ch_cgroup_ctrl_names[i], l->v1[i]) : -1;
  /* hybrid: the chute also gets a unified dir (no controllers) so
   * systemd and a cgroup namespace see it where they look */
  if (l->unified)
    cg->unified = add_hier (cg, "unified", l->unified);
  return cg;
}

/* The first LEN bytes of PATH covering N components. */
static size_t
prefix_len (const char *path, size_t n)
{
  const char *p = path;

  for (size_t i = 0; i < n; i++)
    {
      p += strcspn (p, "/");
      if (i + 1 < n && *p == '/')
        p++;
    }
  return p - path;
}

static size_t
n_components (const char *path)
{
  size_t n = 1;
  for (const char *p = path; *p; p++)
    n += *p == '/';
  return n;
}

static char *
level_dir (const struct cg_hier *h, const char *path, size_t n)
{
  if (n == 0)
    return xstrdup (h->mount);
  return xasprintf ("%s/%.*s", h->mount, (int) prefix_len (path, n), path);
}

static int
make_hier (struct ch_cgroup *cg, struct cg_hier *h, ch_error_t *err)
{
  size_t n = n_components (cg->path);
  int retries = 0;

  for (size_t i = 1; i <= n; i++)
    {
      cleanup_free char *parent = level_dir (h, cg->path, i - 1);
      cleanup_free char *dir = level_dir (h, cg->path, i);

      if (cg->ops->prepare_parent && cg->ops->prepare_parent (cg, h, parent, err) < 0)
        return -1;
      if (mkdir (dir, 0755) == 0)
        {
          if (h->made_from < 0)
            h->made_from = (int) i - 1;
        }
      else if (errno == ENOENT && retries++ < 5)
        {
          /* another chute's destroy pruned the shared parent under us */
          i = 0;
          continue;
        }
      else if (errno != EEXIST)
        return ch_error (err, errno, "mkdir `%s`", dir);
      if (cg->ops->prepare_dir && cg->ops->prepare_dir (cg, h, parent, dir, err) < 0)
        return -1;
    }
  return 0;
}

/* A test tree's dirs hold plain files: remove one only if no child dir
 * (another cgroup) is left, as rmdir on cgroupfs would. */
static int
rm_fake_dir (const char *d)
{
  cleanup_dir DIR *dir = opendir (d);
  struct dirent *de;
  ch_error_t e = NULL;
  int r;

  if (dir == NULL)
    return -1;
  while ((de = readdir (dir)))
    if (de->d_type == DT_DIR && de->d_name[0] != '.')
      {
        errno = ENOTEMPTY;
        return -1;
      }
  r = ch_rm_rf (d, &e);
  if (r < 0)
    errno = e->status;
  ch_error_release (&e);
  return r;
}

/* Remove the leaf (with any child cgroups) and the parents this handle made,
 * stopping at the first one that still holds something. */
static int
remove_hier (struct ch_cgroup *cg, struct cg_hier *h, bool leaf, ch_error_t *err)
{
  size_t n = n_components (cg->path);

  if (leaf)
    {
      if (cg->fake ? ch_rm_rf (h->dir, err) < 0 : cg_rmdir_tree (h->dir, CG_RMDIR_TIMEOUT_MS, err) < 0)
        return ch_error_prefix (err, "remove %s", h->dir);
    }
  for (int i = (int) n - 1; h->made_from >= 0 && i > h->made_from; i--)
    {
      cleanup_free char *d = level_dir (h, cg->path, i);
      /* ENOTEMPTY/EBUSY: shared with another chute, which is fine */
      if ((cg->fake ? rm_fake_dir (d) : rmdir (d)) < 0 && errno != ENOENT)
        break;
    }
  h->made_from = -1;
  return 0;
}

static void
rollback (struct ch_cgroup *cg)
{
  for (size_t i = 0; i < cg->n_hier; i++)
    {
      ch_error_t e = NULL;
      /* only what this call made: an existing leaf is not ours to remove */
      bool leaf = cg->hier[i].made_from >= 0;
      remove_hier (cg, &cg->hier[i], leaf, &e);
      ch_error_release (&e);
    }
}

/* An existing leaf (an OCI cgroupsPath may name any cgroup) must be empty:
 * chuted never shares a cgroup with processes it did not start, whose
 * limits it would change and which a kill-all would reach (runc 1.2 refuses
 * the same way). */
static int
check_empty (struct ch_cgroup *cg, ch_error_t *err)
{
  for (size_t i = 0; i < cg->n_hier; i++)
    {
      cleanup_free pid_t *pids = NULL;
      size_t n = 0;
      if (cg->hier[i].made_from >= 0)
        continue;
      if (cg_procs (cg->hier[i].dir, &pids, &n, err) < 0)
        return ch_error_prefix (err, "%s", cg->hier[i].dir);
      if (n > 0)
        return ch_error (err, EBUSY, "container's cgroup is not empty: %zu process(es) in `%s` (first: %d)", n,
                         cg->hier[i].dir, (int) pids[0]);
    }
  return 0;
}

int
ch_cgroup_create_in (const struct ch_cgroup_layout *l, const char *path, const struct ch_cgroup_resources *res,
                     struct ch_cgroup **out, ch_error_t *err)
{
  struct ch_cgroup *cg;

  if (check_path (path, err) < 0)
    return -1;
  cg = new_cgroup (l, path);
  for (size_t i = 0; i < cg->n_hier; i++)
    if (make_hier (cg, &cg->hier[i], err) < 0)
      goto fail;
  if (check_empty (cg, err) < 0)
    goto fail;
  if (res && cg->ops->apply (cg, res, err) < 0)
    goto fail;
  *out = cg;
  return 0;
fail:
  rollback (cg);
  ch_cgroup_free (cg);
  return ch_error_prefix (err, "cgroup %s", path);
}

int
ch_cgroup_create (const char *path, const struct ch_cgroup_resources *res, struct ch_cgroup **out, ch_error_t *err)
{
  struct ch_cgroup_layout l;
  int r;

  if (ch_cgroup_layout_detect (&l, err) < 0)
    return -1;
  r = ch_cgroup_create_in (&l, path, res, out, err);
  ch_cgroup_layout_clear (&l);
  return r;
}

bool
ch_cgroup_is_own (const struct ch_cgroup *cg)
{
  for (size_t i = 0; i < cg->n_hier; i++)
    if (cg->hier[i].made_from < 0)
      return false;
  return cg->n_hier > 0;
}

char **
ch_cgroup_made_dirs (const struct ch_cgroup *cg)
{
  char **v = xzalloc (sizeof (char *));
  size_t n = n_components (cg->path);

  for (size_t i = 0; i < cg->n_hier; i++)
    for (size_t lv = (size_t) cg->hier[i].made_from + 1; cg->hier[i].made_from >= 0 && lv <= n; lv++)
      {
        cleanup_free char *d = level_dir (&cg->hier[i], cg->path, lv);
        ch_strv_append (&v, d);
      }
  return v;
}

void
ch_cgroup_release (struct ch_cgroup *cg)
{
  rollback (cg);
}

void
ch_cgroup_remove_dirs (char *const *dirs)
{
  size_t n = 0;

  while (dirs && dirs[n])
    n++;
  /* deepest first; a directory that still holds anything stays */
  while (n-- > 0)
    rmdir (dirs[n]);
}

int
ch_cgroup_open_in (const struct ch_cgroup_layout *l, const char *path, struct ch_cgroup **out, ch_error_t *err)
{
  struct ch_cgroup *cg;
  struct stat st;

  if (check_path (path, err) < 0)
    return -1;
  cg = new_cgroup (l, path);
  if (stat (cg->ops->procs_dir (cg), &st) < 0)
    {
      int e = errno;
      ch_error (err, e, "cgroup %s: open `%s`", path, cg->ops->procs_dir (cg));
      ch_cgroup_free (cg);
      return -1;
    }
  *out = cg;
  return 0;
}

int
ch_cgroup_open (const char *path, struct ch_cgroup **out, ch_error_t *err)
{
  struct ch_cgroup_layout l;
  int r;

  if (ch_cgroup_layout_detect (&l, err) < 0)
    return -1;
  r = ch_cgroup_open_in (&l, path, out, err);
  ch_cgroup_layout_clear (&l);
  return r;
}

int
ch_cgroup_enter (struct ch_cgroup *cg, pid_t pid, ch_error_t *err)
{
  cleanup_free char *v = xasprintf ("%d", (int) pid);

  for (size_t i = 0; i < cg->n_hier; i++)
    if (cg_write (cg->fake, cg->hier[i].dir, "cgroup.procs", v, err) < 0)
      return ch_error_prefix (err, "cgroup %s (%s)", cg->path, cg->hier[i].name);
  return 0;
}

int
ch_cgroup_update (struct ch_cgroup *cg, const struct ch_cgroup_resources *res, ch_error_t *err)
{
  if (cg->ops->apply (cg, res, err) < 0)
    return ch_error_prefix (err, "cgroup %s", cg->path);
  return 0;
}

int
ch_cgroup_stats (struct ch_cgroup *cg, struct ch_cgroup_stats *st, ch_error_t *err)
{
  memset (st, 0, sizeof (*st));
  if (cg->ops->stats (cg, st, err) < 0)
    return ch_error_prefix (err, "cgroup %s: stats", cg->path);
  return 0;
}

int
ch_cgroup_freeze (struct ch_cgroup *cg, bool frozen, ch_error_t *err)
{
  if (cg->ops->freeze (cg, frozen, err) < 0)
    return ch_error_prefix (err, "cgroup %s: %s", cg->path, frozen ? "freeze" : "thaw");
  return 0;
}

int
ch_cgroup_frozen (struct ch_cgroup *cg, bool *frozen, ch_error_t *err)
{
  if (cg->ops->frozen (cg, frozen, err) < 0)
    return ch_error_prefix (err, "cgroup %s", cg->path);
  return 0;
}

int
ch_cgroup_kill_all (struct ch_cgroup *cg, int sig, ch_error_t *err)
{
  if (cg->ops->kill_all (cg, sig, err) < 0)
    return ch_error_prefix (err, "cgroup %s: kill", cg->path);
  return 0;
}

static int
wait_empty (struct ch_cgroup *cg, ch_error_t *err)
{
  long long deadline = ch_now_ms () + CG_EMPTY_TIMEOUT_MS;
  int delay = 1;

  for (;;)
    {
      cleanup_free pid_t *pids = NULL;
      size_t n;
      if (cg_procs (cg->ops->procs_dir (cg), &pids, &n, err) < 0)
        return -1;
      if (n == 0)
        return 0;
      if (ch_now_ms () >= deadline)
        return ch_error (err, EBUSY, "%zu process(es) still there after SIGKILL (first: %d)", n, (int) pids[0]);
      /* new forks may have slipped past the first kill (v2 without cgroup.kill) */
      if (cg->ops->kill_all (cg, SIGKILL, err) < 0)
        return -1;
      cg_sleep_ms (delay);
      if (delay < 50)
        delay *= 2;
    }
}

int
ch_cgroup_destroy (struct ch_cgroup *cg, ch_error_t *err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;

  if (cg_procs (cg->ops->procs_dir (cg), &pids, &n, err) < 0)
    return ch_error_prefix (err, "cgroup %s: destroy", cg->path);
  if (n > 0 && (cg->ops->kill_all (cg, SIGKILL, err) < 0 || wait_empty (cg, err) < 0))
    return ch_error_prefix (err, "cgroup %s: destroy", cg->path);
  for (size_t i = 0; i < cg->n_hier; i++)
    if (remove_hier (cg, &cg->hier[i], true, err) < 0)
      return ch_error_prefix (err, "cgroup %s: destroy", cg->path);
  return 0;
}

int
ch_cgroup_procs (struct ch_cgroup *cg, pid_t **pids, size_t *n, ch_error_t *err)
{
  if (cg_procs (cg->ops->procs_dir (cg), pids, n, err) < 0)
    return ch_error_prefix (err, "cgroup %s", cg->path);
  return 0;
}

char **
ch_cgroup_paths (struct ch_cgroup *cg)
{
  char **v = xzalloc ((cg->n_hier + 1) * sizeof (char *));

  for (size_t i = 0; i < cg->n_hier; i++)
    v[i] = xasprintf ("%s:%s", cg->hier[i].name, cg->hier[i].dir);
  return v;
}
