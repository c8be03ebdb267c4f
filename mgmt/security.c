#include "mgmt/security.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/spec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int
ch_cap_normalize (const char *name, char **out, ch_error_t *err)
{
  cleanup_free char *full = NULL;

  if (strcasecmp (name, "all") == 0)
    {
      *out = xstrdup ("ALL");
      return 0;
    }
  full = strncasecmp (name, "CAP_", 4) == 0 ? xstrdup (name) : xasprintf ("CAP_%s", name);
  for (char *p = full; *p; p++)
    *p = (char) toupper ((unsigned char) *p);
  if (ch_cap_from_name (full) < 0)
    return ch_error (err, 0, "unknown capability `%s` (e.g. NET_ADMIN, CAP_SYS_TIME, ALL)", name);
  *out = ch_steal_pointer (&full);
  return 0;
}

int
ch_device_parse (const char *spec, char **out, ch_error_t *err)
{
  cleanup_strv char **f = xzalloc (sizeof (char *));
  cleanup_free char *s = xstrdup (spec);
  const char *host, *ctr, *perms = "rwm";
  char *save = NULL;
  struct stat st;
  size_t n;

  for (char *t = strtok_r (s, ":", &save); t; t = strtok_r (NULL, ":", &save))
    ch_strv_append (&f, t);
  n = ch_strv_len (f);
  if (n == 0 || n > 3)
    return ch_error (err, 0, "--device `%s`: give HOST[:CTR][:PERMS]", spec);
  host = f[0];
  ctr = host;
  if (n == 2 && f[1][0] == '/')
    ctr = f[1];
  else if (n == 2)
    perms = f[1];
  else if (n == 3)
    {
      ctr = f[1];
      perms = f[2];
    }
  if (host[0] != '/' || ctr[0] != '/')
    return ch_error (err, 0, "--device `%s`: device paths must be absolute", spec);
  if (perms[0] == '\0' || strspn (perms, "rwm") != strlen (perms))
    return ch_error (err, 0, "--device `%s`: permissions `%s`: only r, w and m", spec, perms);
  if (stat (host, &st) < 0)
    return ch_error (err, errno, "--device `%s`", host);
  if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
    return ch_error (err, 0, "--device `%s`: not a character or block device", host);
  *out = xasprintf ("%s:%s:%s", host, ctr, perms);
  return 0;
}

int
ch_security_opt_parse (struct ch_chute *c, const char *opt, ch_error_t *err)
{
  const char *v;

  if (strcmp (opt, "no-new-privileges") == 0 || strcmp (opt, "no-new-privileges=true") == 0)
    c->no_new_privs = true;
  else if (strcmp (opt, "no-new-privileges=false") == 0)
    c->no_new_privs = false;
  else if ((v = ch_has_prefix (opt, "seccomp=") ? opt + 8 : ch_has_prefix (opt, "seccomp:") ? opt + 8 : NULL))
    {
      if (c->seccomp_profile)
        json_decref (c->seccomp_profile);
      c->seccomp_profile = NULL;
      c->seccomp_unconfined = strcmp (v, "unconfined") == 0;
      if (!c->seccomp_unconfined)
        {
          cleanup_json json_t *j = NULL;
          struct ch_seccomp *sc = NULL;
          if (ch_json_load_file (v, &j, err) < 0)
            return ch_error_prefix (err, "--security-opt seccomp");
          if (!json_is_object (j))
            return ch_error (err, 0, "--security-opt seccomp: `%s` is not a seccomp profile (a JSON object)", v);
          /* refused now, not at every start */
          if (ch_spec_parse_seccomp (j, "seccomp", &sc, err) < 0)
            return ch_error_prefix (err, "--security-opt seccomp `%s`", v);
          ch_seccomp_free (sc);
          c->seccomp_profile = json_incref (j);
        }
    }
  else
    return ch_error (err, 0,
                     "--security-opt `%s`: chuted knows seccomp=unconfined|FILE and no-new-privileges[=true|false]",
                     opt);
  return 0;
}

/* --privileged and ALL mean every capability we have ourselves (as
 * podman's): one outside our bounding set, or newer than the kernel,
 * would fail the start. */
static bool
cap_held (int cap)
{
  return prctl (PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0) == 1;
}

static void
set_caps (json_t *process, const struct ch_chute *c)
{
  json_t *caps = json_object_get (process, "capabilities");
  json_t *set = json_array (), *v;
  size_t i;

  if (c->privileged || ch_strv_contains (c->cap_add, "ALL"))
    {
      for (int k = 0; ch_cap_name (k); k++)
        if (cap_held (k))
          json_array_append_new (set, json_string (ch_cap_name (k)));
    }
  else if (!ch_strv_contains (c->cap_drop, "ALL"))
    json_array_extend (set, json_object_get (caps, "bounding"));
  json_array_foreach (set, i, v)
    if (ch_strv_contains (c->cap_drop, json_string_value (v)))
      {
        json_array_remove (set, i);
        i--;
      }
  for (i = 0; c->cap_add && c->cap_add[i]; i++)
    {
      bool have = false;
      size_t k;
      json_array_foreach (set, k, v)
        have |= strcmp (json_string_value (v), c->cap_add[i]) == 0;
      if (!have && strcmp (c->cap_add[i], "ALL") != 0)
        json_array_append_new (set, json_string (c->cap_add[i]));
    }
  json_object_set (caps, "bounding", set);
  json_object_set (caps, "effective", set);
  json_object_set (caps, "permitted", set);
  json_decref (set);
}

static void
add_rule (json_t *lnx, char type, int64_t major, int64_t minor, const char *access)
{
  json_t *res = json_object_get (lnx, "resources");
  json_t *rules = json_object_get (res, "devices");
  json_t *r = json_pack ("{s:b, s:s}", "allow", 1, "access", access);

  if (!json_is_array (rules))
    {
      rules = json_array ();
      json_object_set_new (res, "devices", rules);
    }
  if (type != 'a')
    {
      char t[2] = { type, '\0' };
      json_object_set_new (r, "type", json_string (t));
      json_object_set_new (r, "major", json_integer (major));
      json_object_set_new (r, "minor", json_integer (minor));
    }
  json_array_append_new (rules, r);
}

static void
add_node (json_t *lnx, const char *ctr, const struct stat *st)
{
  json_t *devs = json_object_get (lnx, "devices");

  if (!json_is_array (devs))
    {
      devs = json_array ();
      json_object_set_new (lnx, "devices", devs);
    }
  json_array_append_new (devs, json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", ctr, "type",
                                          S_ISBLK (st->st_mode) ? "b" : "c", "major", (json_int_t) major (st->st_rdev),
                                          "minor", (json_int_t) minor (st->st_rdev), "fileMode",
                                          (json_int_t) (st->st_mode & 07777), "uid", (json_int_t) st->st_uid, "gid",
                                          (json_int_t) st->st_gid));
}

/* --privileged: every device node of the host's /dev, as podman gives
 * (not the per-chute /dev/pts, /dev/shm, /dev/mqueue, nor ptmx: the
 * chute's own devpts provides it). */
static void
add_host_devices (json_t *lnx, const char *dir, int depth)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  while (d && depth < 4 && (de = readdir (d)))
    {
      cleanup_free char *p = NULL;
      struct stat st;
      if (de->d_name[0] == '.')
        continue;
      p = xasprintf ("%s/%s", dir, de->d_name);
      if (strcmp (p, "/dev/pts") == 0 || strcmp (p, "/dev/shm") == 0 || strcmp (p, "/dev/mqueue") == 0
          || strcmp (p, "/dev/ptmx") == 0 || lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        add_host_devices (lnx, p, depth + 1);
      else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
        add_node (lnx, p, &st);
    }
}

static void
unprotect (json_t *spec, json_t *lnx)
{
  json_t *m;
  size_t i;

  json_object_set_new (lnx, "maskedPaths", json_array ());
  json_object_set_new (lnx, "readonlyPaths", json_array ());
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
    {
      const char *dst = json_string_value (json_object_get (m, "destination"));
      json_t *opts = json_object_get (m, "options"), *o;
      size_t k;
      if (dst == NULL || (strcmp (dst, "/sys") != 0 && strcmp (dst, "/sys/fs/cgroup") != 0))
        continue;
      json_array_foreach (opts, k, o)
        if (strcmp (json_string_value (o) ?: "", "ro") == 0)
          json_array_set_new (opts, k, json_string ("rw"));
    }
}

int
ch_security_apply (json_t *spec, const struct ch_chute *c, ch_error_t *err)
{
  json_t *process = json_object_get (spec, "process");
  json_t *lnx = json_object_get (spec, "linux");

  if (c->privileged || c->cap_add || c->cap_drop)
    set_caps (process, c);
  if (c->privileged)
    {
      unprotect (spec, lnx);
      add_host_devices (lnx, "/dev", 0);
      add_rule (lnx, 'a', -1, -1, "rwm");
    }
  for (size_t i = 0; c->devices && c->devices[i]; i++)
    {
      cleanup_free char *s = xstrdup (c->devices[i]);
      char *ctr = strchr (s, ':'), *perms;
      struct stat st;
      if (ctr == NULL || (perms = strchr (ctr + 1, ':')) == NULL)
        return ch_error (err, 0, "chute.json: device `%s`", c->devices[i]);
      *ctr++ = '\0';
      *perms++ = '\0';
      /* the host's numbers now: they may differ after a reboot */
      if (stat (s, &st) < 0)
        return ch_error (err, errno, "device `%s`", s);
      if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
        return ch_error (err, 0, "device `%s`: not a character or block device", s);
      add_node (lnx, ctr, &st);
      add_rule (lnx, S_ISBLK (st.st_mode) ? 'b' : 'c', major (st.st_rdev), minor (st.st_rdev), perms);
    }
  if (c->privileged || c->seccomp_unconfined)
    json_object_del (lnx, "seccomp");
  else if (c->seccomp_profile)
    json_object_set (lnx, "seccomp", c->seccomp_profile);
  json_object_set_new (process, "noNewPrivileges", json_boolean (c->no_new_privs && !c->privileged));
  return 0;
}
