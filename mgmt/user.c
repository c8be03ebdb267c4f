/* User names inside a chute mean what the chute's /etc/passwd says; the
 * files are opened inside the rootfs so a symlink there cannot point us at
 * the host's. */
#include "common/file.h"
#include "common/parse.h"
#include "common/path.h"
#include "common/util.h"
#include "mgmt/bundle.h"
#include "runtime/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static bool
is_number (const char *s)
{
  return *s && strspn (s, "0123456789") == strlen (s);
}

/* 0 .. 2^32-2: (uid_t) -1 means "no change" to the kernel, and a wrap
 * (4294967296 -> 0) would run the chute as root. */
static int
parse_id (const char *spec, const char *what, const char *s, uint32_t *out, ch_error_t *err)
{
  int64_t v;

  if (ch_parse_int (s, 0, UINT32_MAX - 1, &v, err) < 0)
    return ch_error_prefix (err, "user `%s`: %s", spec, what);
  *out = (uint32_t) v;
  return 0;
}

static int
read_in_root (int rootfd, const char *file, char **buf, ch_error_t *err)
{
  cleanup_close int fd = ch_open_in_root (rootfd, file, O_RDONLY, 0, err);

  if (fd < 0)
    return -1;
  return ch_read_fd (fd, buf, NULL, err);
}

int
ch_user_resolve (const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid, ch_error_t *err)
{
  cleanup_free char *u = xstrdup (spec);
  cleanup_free char *passwd = NULL;
  cleanup_free char *group = NULL;
  cleanup_close int rootfd = -1;
  char *g = strchr (u, ':');

  if (g)
    *g++ = '\0';
  *gid = 0;
  if (*u == '\0' || (g && *g == '\0'))
    return ch_error (err, 0, "user `%s`: empty user or group", spec);
  if (is_number (u) && (g == NULL || is_number (g)))
    return parse_id (spec, "uid", u, uid, err) < 0 || (g && parse_id (spec, "gid", g, gid, err) < 0) ? -1 : 0;
  rootfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ch_error (err, errno, "open rootfs `%s`", rootfs);
  if (is_number (u))
    {
      if (parse_id (spec, "uid", u, uid, err) < 0)
        return -1;
    }
  else
    {
      struct ch_pwent pw = { 0 };
      if (read_in_root (rootfd, "/etc/passwd", &passwd, err) < 0)
        return ch_error_prefix (err, "user `%s`", spec);
      if (ch_passwd_find (passwd, u, 0, &pw) != 1)
        return ch_error (err, 0, "user `%s`: `%s` not found in the chute's /etc/passwd", spec, u);
      *uid = pw.uid;
      *gid = pw.gid;
      ch_pwent_clear (&pw);
    }
  if (g && is_number (g))
    {
      if (parse_id (spec, "gid", g, gid, err) < 0)
        return -1;
    }
  else if (g)
    {
      gid_t gg;
      if (read_in_root (rootfd, "/etc/group", &group, err) < 0)
        return ch_error_prefix (err, "user `%s`", spec);
      if (ch_group_find (group, g, &gg) != 1)
        return ch_error (err, 0, "user `%s`: group `%s` not found in the chute's /etc/group", spec, g);
      *gid = gg;
    }
  return 0;
}
