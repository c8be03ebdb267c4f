/* Which cgroup layout the host has: v1, v2 or hybrid, and where each
 * hierarchy is mounted. */
#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *const ch_cgroup_ctrl_names[CH_CG_NCTRL]
    = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "net_cls", "net_prio", "hugetlb" };

const char *
ch_cgroup_mode_name (enum ch_cgroup_mode mode)
{
  switch (mode)
    {
    case CH_CGROUP_V1:
      return "v1";
    case CH_CGROUP_V2:
      return "v2";
    case CH_CGROUP_HYBRID:
      return "hybrid";
    }
  return "unknown";
}

void
ch_cgroup_layout_clear (struct ch_cgroup_layout *l)
{
  free (l->unified);
  for (int i = 0; i < CH_CG_NCTRL; i++)
    free (l->v1[i]);
  memset (l, 0, sizeof (*l));
}

static int
finish_mode (struct ch_cgroup_layout *l, const char *where, ch_error_t *err)
{
  bool any_v1 = false;

  for (int i = 0; i < CH_CG_NCTRL; i++)
    any_v1 |= l->v1[i] != NULL;
  if (any_v1)
    l->mode = l->unified ? CH_CGROUP_HYBRID : CH_CGROUP_V1;
  else if (l->unified)
    l->mode = CH_CGROUP_V2;
  else
    return ch_error (err, 0, "no cgroup filesystem found in %s", where);
  return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static char *
unescape (const char *s, size_t n)
{
  char *r = xmalloc (n + 1), *o = r;

  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7'
          && s[i + 3] >= '0' && s[i + 3] <= '7')
        {
          *o++ = (char) (((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
          i += 3;
        }
      else
        *o++ = s[i];
    }
  *o = '\0';
  return r;
}

/* The Nth (0-based) space-separated field of LINE (up to END). */
static const char *
field (const char *line, const char *end, int n, size_t *len)
{
  const char *p = line;

  for (int i = 0; i < n; i++)
    {
      p = memchr (p, ' ', end - p);
      if (p == NULL)
        return NULL;
      p++;
    }
  const char *e = memchr (p, ' ', end - p);
  *len = (e ? e : end) - p;
  return p;
}

/* The controller the OL bytes at O name, or -1. */
static int
ctrl_named (const char *o, size_t ol)
{
  for (int i = 0; i < CH_CG_NCTRL; i++)
    if (strlen (ch_cgroup_ctrl_names[i]) == ol && memcmp (o, ch_cgroup_ctrl_names[i], ol) == 0)
      return i;
  return -1;
}

static void
parse_line (const char *line, const char *end, struct ch_cgroup_layout *l)
{
  const char *mp, *sep, *fstype, *opts;
  size_t mplen = 0, fslen = 0, optlen = 0;

  mp = field (line, end, 4, &mplen);
  /* optional fields end with " - " */
  sep = mp ? strstr (mp, " - ") : NULL;
  if (sep == NULL || sep >= end)
    return;
  fstype = field (sep + 3, end, 0, &fslen);
  opts = field (sep + 3, end, 2, &optlen);
  if (fstype == NULL)
    return;
  if (fslen == 7 && memcmp (fstype, "cgroup2", 7) == 0)
    {
      /* the first one wins: later ones are bind mounts into containers */
      if (l->unified == NULL)
        l->unified = unescape (mp, mplen);
      return;
    }
  if (!(fslen == 6 && memcmp (fstype, "cgroup", 6) == 0) || opts == NULL)
    return;
  for (const char *o = opts; o < opts + optlen;)
    {
      const char *c = memchr (o, ',', opts + optlen - o);
      size_t ol = (c ? c : opts + optlen) - o;
      int i = ctrl_named (o, ol);
      if (i >= 0 && l->v1[i] == NULL)
        l->v1[i] = unescape (mp, mplen);
      o += ol + 1;
    }
}

int
ch_cgroup_layout_parse (const char *mountinfo, struct ch_cgroup_layout *l, ch_error_t *err)
{
  memset (l, 0, sizeof (*l));
  for (const char *p = mountinfo; p && *p;)
    {
      const char *nl = strchr (p, '\n');
      const char *end = nl ? nl : p + strlen (p);
      parse_line (p, end, l);
      p = nl ? nl + 1 : end;
    }
  if (finish_mode (l, "/proc/self/mountinfo", err) < 0)
    {
      ch_cgroup_layout_clear (l);
      return -1;
    }
  return 0;
}

static bool
is_cgroupfs (const char *p)
{
  struct statfs sf;
  return statfs (p, &sf) == 0 && (sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC);
}

int
ch_cgroup_layout_from_dir (const char *root, struct ch_cgroup_layout *l, ch_error_t *err)
{
  cleanup_free char *ctl = xasprintf ("%s/cgroup.controllers", root);
  cleanup_free char *uni = xasprintf ("%s/unified", root);
  char real[PATH_MAX];
  struct stat st;

  memset (l, 0, sizeof (*l));
  if (access (ctl, F_OK) == 0)
    {
      l->unified = xstrdup (root);
      l->mode = CH_CGROUP_V2;
      l->fake = !is_cgroupfs (root);
      return 0;
    }
  for (int i = 0; i < CH_CG_NCTRL; i++)
    {
      cleanup_free char *d = xasprintf ("%s/%s", root, ch_cgroup_ctrl_names[i]);
      /* Debian's "cpu -> cpu,cpuacct" symlinks: co-mounted controllers
       * must resolve to one directory */
      if (stat (d, &st) == 0 && S_ISDIR (st.st_mode) && realpath (d, real))
        {
          l->v1[i] = xstrdup (real);
          l->fake |= !is_cgroupfs (real);
        }
    }
  if (stat (uni, &st) == 0 && S_ISDIR (st.st_mode))
    {
      l->unified = xstrdup (uni);
      l->fake |= !is_cgroupfs (uni);
    }
  if (finish_mode (l, root, err) < 0)
    {
      ch_cgroup_layout_clear (l);
      return -1;
    }
  return 0;
}

/* Has L a place for every v1 controller this process's hierarchies have
 * (/proc/self/cgroup: "ID:CONTROLLERS:PATH", a few lines)? */
static bool
v1_complete (const struct ch_cgroup_layout *l)
{
  cleanup_free char *text = NULL;
  cleanup_error ch_error_t e = NULL;

  if (ch_read_file ("/proc/self/cgroup", &text, NULL, &e) < 0)
    return false;
  for (const char *p = text; *p;)
    {
      const char *nl = strchr (p, '\n'), *end = nl ? nl : p + strlen (p);
      const char *c = memchr (p, ':', end - p), *c2 = c ? memchr (c + 1, ':', end - c - 1) : NULL;

      for (const char *o = c ? c + 1 : end; c2 && o < c2;)
        {
          const char *comma = memchr (o, ',', c2 - o);
          size_t ol = (comma ? comma : c2) - o;
          int i = ctrl_named (o, ol);
          if (i >= 0 && l->v1[i] == NULL)
            return false;
          o += ol + 1;
        }
      p = nl ? nl + 1 : end;
    }
  return true;
}

int
ch_cgroup_layout_detect (struct ch_cgroup_layout *l, ch_error_t *err)
{
  const char *root = getenv ("CHUTED_CGROUP_ROOT");
  cleanup_free char *mi = NULL;
  struct statfs sf;

  if (root && *root)
    return ch_cgroup_layout_from_dir (root, l, err);
  memset (l, 0, sizeof (*l));
  /* the common pure-v2 host: one statfs, no mountinfo scan */
  if (statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
    {
      l->unified = xstrdup ("/sys/fs/cgroup");
      l->mode = CH_CGROUP_V2;
      return 0;
    }
  /* v1 or hybrid mounted the usual way, each hierarchy a cgroup fs at
   * /sys/fs/cgroup/CONTROLLER (co-mounted ones through symlinks): a few
   * stats. mountinfo grows with every mount on the host (each running
   * chute's rootfs), and every cgroup open of every start read it all.
   * Every controller the kernel has in a hierarchy must be found there. */
  {
    cleanup_error ch_error_t e = NULL;
    if (ch_cgroup_layout_from_dir ("/sys/fs/cgroup", l, &e) == 0 && !l->fake && v1_complete (l))
      return 0;
    ch_cgroup_layout_clear (l);
  }
  if (ch_read_file ("/proc/self/mountinfo", &mi, NULL, err) < 0)
    return -1;
  return ch_cgroup_layout_parse (mi, l, err);
}

int
ch_cgroup_detect (enum ch_cgroup_mode *mode, ch_error_t *err)
{
  struct ch_cgroup_layout l;

  if (ch_cgroup_layout_detect (&l, err) < 0)
    return -1;
  *mode = l.mode;
  ch_cgroup_layout_clear (&l);
  return 0;
}
