/* /etc/passwd and /etc/group read from the container's rootfs, never the
 * host's NSS (whose modules would run host code on container data). */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Split LINE in place at ':' into at most N fields; returns the count. */
static size_t
split_fields (char *line, char **f, size_t n)
{
  size_t i = 0;
  char *p = line;

  while (i < n)
    {
      f[i++] = p;
      p = strchr (p, ':');
      if (p == NULL)
        break;
      *p++ = '\0';
    }
  return i;
}

static bool
parse_id (const char *s, unsigned long *out)
{
  char *end;
  if (*s == '\0')
    return false;
  errno = 0;
  *out = strtoul (s, &end, 10);
  return errno == 0 && *end == '\0' && *out < UINT32_MAX;
}

/* Next line of *CURSOR as an allocated string, or NULL at the end. */
static char *
next_line (const char **cursor)
{
  const char *line = *cursor, *nl;
  if (line == NULL || *line == '\0')
    return NULL;
  nl = strchr (line, '\n');
  *cursor = nl ? nl + 1 : NULL;
  return nl ? xstrndup (line, (size_t) (nl - line)) : xstrdup (line);
}

int
ch_passwd_find (const char *buf, const char *name, uid_t uid, struct ch_pwent *out)
{
  const char *cur = buf;
  char *l;

  while ((l = next_line (&cur)))
    {
      cleanup_free char *line = l;
      char *f[7];
      size_t n = split_fields (line, f, 7);
      unsigned long u, g;

      if (line[0] == '#' || n < 4 || !parse_id (f[2], &u) || !parse_id (f[3], &g))
        continue;
      if (name ? strcmp (f[0], name) != 0 : (uid_t) u != uid)
        continue;
      out->name = xstrdup (f[0]);
      out->uid = (uid_t) u;
      out->gid = (gid_t) g;
      out->home = xstrdup (n > 5 && f[5][0] ? f[5] : "/");
      return 1;
    }
  return 0;
}

void
ch_pwent_clear (struct ch_pwent *p)
{
  free (p->name);
  free (p->home);
  p->name = p->home = NULL;
}

int
ch_group_find (const char *buf, const char *name, gid_t *gid)
{
  const char *cur = buf;
  char *l;

  while ((l = next_line (&cur)))
    {
      cleanup_free char *line = l;
      char *f[4];
      unsigned long g;

      if (line[0] == '#' || split_fields (line, f, 4) < 3 || !parse_id (f[2], &g))
        continue;
      if (strcmp (f[0], name) == 0)
        {
          *gid = (gid_t) g;
          return 1;
        }
    }
  return 0;
}

void
ch_group_members (const char *buf, const char *user, gid_t **gids, size_t *n)
{
  const char *cur = buf;
  char *l;

  while ((l = next_line (&cur)))
    {
      cleanup_free char *line = l;
      char *f[4], *save = NULL, *m;
      unsigned long g;

      if (line[0] == '#' || split_fields (line, f, 4) < 4 || !parse_id (f[2], &g))
        continue;
      for (m = strtok_r (f[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, user) == 0)
          {
            *gids = xrealloc (*gids, sizeof (gid_t) * (*n + 1));
            (*gids)[(*n)++] = (gid_t) g;
            break;
          }
    }
}

/* A missing file is an empty one: busybox images often have no /etc/group. */
static char *
read_etc (const char *path)
{
  char *buf = NULL;
  size_t len;
  cleanup_error ch_error_t e = NULL;
  if (ch_read_file (path, &buf, &len, &e) < 0)
    return xstrdup ("");
  return buf;
}

static bool
all_digits (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* A gid listed twice (in /etc/group and additionalGids, or twice in
 * either) is set once, as runc does; the order is kept. */
static void
dedupe (gid_t *g, size_t *n)
{
  size_t i, j, k = 0;

  for (i = 0; i < *n; i++)
    {
      for (j = 0; j < k && g[j] != g[i]; j++)
        ;
      if (j == k)
        g[k++] = g[i];
    }
  *n = k;
}

/* Called inside the container after pivot_root: /etc is the rootfs's. */
int
ch_creds_resolve (const struct ch_spec *s, const char *user, struct ch_creds *c, ch_error_t *err)
{
  cleanup_free char *passwd = read_etc ("/etc/passwd");
  cleanup_free char *group = read_etc ("/etc/group");
  cleanup_free char *u = user ? xstrdup (user) : NULL;
  struct ch_pwent pw = { 0 };
  char *grp = NULL;
  bool found;
  size_t i;

  memset (c, 0, sizeof (*c));
  if (u == NULL)
    {
      c->uid = s->uid;
      c->gid = s->gid;
      found = ch_passwd_find (passwd, NULL, c->uid, &pw) == 1;
    }
  else
    {
      unsigned long id;
      grp = strchr (u, ':');
      if (grp)
        *grp++ = '\0';
      if (all_digits (u))
        {
          /* 4294967296 must not wrap to 0 (root) */
          if (!parse_id (u, &id))
            return ch_error (err, 0, "user `%s`: uid out of range [0, 4294967294]", u);
          c->uid = (uid_t) id;
          found = ch_passwd_find (passwd, NULL, c->uid, &pw) == 1;
          c->gid = found ? pw.gid : 0;
        }
      else
        {
          found = ch_passwd_find (passwd, u, 0, &pw) == 1;
          if (!found)
            return ch_error (err, 0, "user `%s`: no such user in the container's /etc/passwd", u);
          c->uid = pw.uid;
          c->gid = pw.gid;
        }
      if (grp && all_digits (grp))
        {
          if (!parse_id (grp, &id))
            {
              ch_pwent_clear (&pw);
              return ch_error (err, 0, "group `%s`: gid out of range [0, 4294967294]", grp);
            }
          c->gid = (gid_t) id;
        }
      else if (grp && ch_group_find (group, grp, &c->gid) != 1)
        {
          ch_pwent_clear (&pw);
          return ch_error (err, 0, "group `%s`: no such group in the container's /etc/group", grp);
        }
    }
  if (found)
    ch_group_members (group, pw.name, &c->groups, &c->n_groups);
  for (i = 0; user == NULL && i < s->n_additional_gids; i++)
    {
      c->groups = xrealloc (c->groups, sizeof (gid_t) * (c->n_groups + 1));
      c->groups[c->n_groups++] = s->additional_gids[i];
    }
  dedupe (c->groups, &c->n_groups);
  c->home = xstrdup (found ? pw.home : "/");
  ch_pwent_clear (&pw);
  return 0;
}

void
ch_creds_clear (struct ch_creds *c)
{
  free (c->groups);
  free (c->home);
  c->groups = NULL;
  c->home = NULL;
}
