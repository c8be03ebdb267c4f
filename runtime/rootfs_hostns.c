/* A config without a mount namespace inherits the runtime's (runtime-spec
 * "Namespaces"): the rootfs and its mounts are then made in the host's
 * namespace and outlive the init, so delete (and a failed create) take
 * them down again. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void
unescape (char *s)
{
  char *o = s;
  for (; *s; s++)
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7')
      {
        *o++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
        s += 3;
      }
    else
      *o++ = *s;
  *o = '\0';
}

int
ch_mounts_at (const char *path, ch_error_t *err)
{
  cleanup_free char *info = NULL;
  char *line, *save = NULL;
  int n = 0;

  if (ch_read_file ("/proc/self/mountinfo", &info, NULL, err) < 0)
    return -1;
  for (line = strtok_r (info, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f, *fs = NULL;
      int i;
      /* field 5 is the mount point */
      for (i = 0, f = strtok_r (line, " ", &fs); f && i < 4; i++)
        f = strtok_r (NULL, " ", &fs);
      if (f == NULL)
        continue;
      unescape (f);
      n += strcmp (f, path) == 0;
    }
  return n;
}

/* Our bind of the rootfs onto itself is the topmost mount there and holds
 * every mount we made: detaching it takes them all, and leaves what was
 * mounted at or below the rootfs before (an image snapshot, volumes). */
int
ch_rootfs_host_umount (const char *root, ch_error_t *err)
{
  if (umount2 (root, MNT_DETACH) < 0)
    return ch_error (err, errno, "unmount the rootfs `%s`", root);
  return 0;
}
