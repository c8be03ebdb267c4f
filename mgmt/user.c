/* User names inside a chute mean what the chute's /etc/passwd says; the
 * files are opened inside the rootfs so a symlink there cannot point us at
 * the host's. */
#include "common/file.h"
#include "common/path.h"
#include "common/util.h"
#include "mgmt/bundle.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static bool
is_number (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isdigit ((unsigned char) *s))
      return false;
  return true;
}

/* Find NAME in a passwd/group-format FILE; field 2 (id) and for passwd field 3 (gid). */
static int
lookup (int rootfd, const char *file, const char *name, uint32_t *id, uint32_t *gid, ch_error_t *err)
{
  cleanup_close int fd = ch_open_in_root (rootfd, file, O_RDONLY, 0, err);
  cleanup_free char *data = NULL;
  char *line, *save = NULL;

  if (fd < 0)
    return -1;
  if (ch_read_fd (fd, &data, NULL, err) < 0)
    return -1;
  for (line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[4] = { 0 }, *p = line;
      int n;
      for (n = 0; n < 4; n++)
        {
          f[n] = p;
          p = strchr (p, ':');
          if (p == NULL)
            break;
          *p++ = '\0';
        }
      if (n < 2 || strcmp (f[0], name) != 0 || !is_number (f[2]))
        continue;
      *id = (uint32_t) strtoul (f[2], NULL, 10);
      if (gid)
        *gid = (f[3] && is_number (f[3])) ? (uint32_t) strtoul (f[3], NULL, 10) : *id;
      return 0;
    }
  return ch_error (err, 0, "`%s` not found in the chute's %s", name, file);
}

int
ch_user_resolve (const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid, ch_error_t *err)
{
  cleanup_free char *u = xstrdup (spec);
  cleanup_close int rootfd = -1;
  char *g = strchr (u, ':');

  if (g)
    *g++ = '\0';
  if (is_number (u) && (g == NULL || is_number (g)))
    {
      *uid = (uint32_t) strtoul (u, NULL, 10);
      *gid = g ? (uint32_t) strtoul (g, NULL, 10) : 0;
      return 0;
    }
  rootfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ch_error (err, errno, "open rootfs `%s`", rootfs);
  if (is_number (u))
    *uid = (uint32_t) strtoul (u, NULL, 10), *gid = 0;
  else if (lookup (rootfd, "/etc/passwd", u, uid, gid, err) < 0)
    return ch_error_prefix (err, "user `%s`", spec);
  if (g && is_number (g))
    *gid = (uint32_t) strtoul (g, NULL, 10);
  else if (g && lookup (rootfd, "/etc/group", g, gid, NULL, err) < 0)
    return ch_error_prefix (err, "user `%s`", spec);
  return 0;
}
