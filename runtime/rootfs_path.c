/* mkdir -p inside the rootfs that follows symlinks the way the container
 * will see them (a dangling "/mnt/x -> /elsewhere" creates /elsewhere in the
 * rootfs, as runc's securejoin does). Every lookup is openat2
 * RESOLVE_IN_ROOT, so no step can leave the root whatever races. */
#include "runtime/init.h"

#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
ch_mkdir_in_root_follow (int rootfd, const char *path, mode_t mode, ch_error_t *err)
{
  cleanup_free char *cur = xstrdup (path);
  int hops;

  for (hops = 0; hops < 40; hops++)
    {
      cleanup_free char *sofar = NULL;
      const char *p = cur;
      bool restarted = false;

      while (*p && !restarted)
        {
          cleanup_close int parent = -1, fd = -1;
          cleanup_free char *comp = NULL;
          const char *start, *end;
          char link[PATH_MAX];
          ssize_t n;

          while (*p == '/')
            p++;
          if (*p == '\0')
            break;
          start = p;
          end = strchr (p, '/');
          if (end == NULL)
            end = p + strlen (p);
          comp = xstrndup (start, (size_t) (end - start));
          p = end;
          parent = ch_open_in_root (rootfd, sofar ? sofar : "/", O_PATH | O_DIRECTORY, 0, err);
          if (parent < 0)
            return -1;
          {
            char *next = xasprintf ("%s/%s", sofar ? sofar : "", comp);
            free (sofar);
            sofar = next;
          }
          fd = ch_open_in_root (rootfd, sofar, O_PATH | O_DIRECTORY, 0, err);
          if (fd >= 0)
            continue;
          if ((*err)->status != ENOENT)
            return -1;
          ch_error_release (err);
          n = readlinkat (parent, comp, link, sizeof (link) - 1);
          if (n >= 0)
            {
              /* dangling symlink: continue from its target, still in root */
              char *np;
              link[n] = '\0';
              if (link[0] == '/')
                np = xasprintf ("%s/%s", link, p);
              else
                np = xasprintf ("%.*s/%s/%s", (int) (strrchr (sofar, '/') - sofar), sofar, link, p);
              free (cur);
              cur = np;
              restarted = true;
              break;
            }
          if (mkdirat (parent, comp, mode) < 0 && errno != EEXIST)
            return ch_error (err, errno, "mkdir `%s` in root", sofar);
          /* retry the same component: a racer may have swapped it */
          p = start;
          {
            char *slash = strrchr (sofar, '/');
            if (slash == sofar)
              {
                free (sofar);
                sofar = NULL;
              }
            else
              *slash = '\0';
          }
        }
      if (!restarted)
        return ch_open_in_root (rootfd, cur, O_PATH | O_DIRECTORY, 0, err);
    }
  return ch_error (err, ELOOP, "mkdir `%s` in root", path);
}
