/* linux.sysctl: written under /proc/sys after pivot_root, and only the
 * namespaced ones (runc's list), so a config cannot change the host. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <string.h>

static bool
namespaced (const struct ch_spec *s, const char *key)
{
  static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                     "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
  size_t i;

  if (s->ns[CH_NS_IPC].enabled)
    {
      for (i = 0; i < sizeof (ipc) / sizeof (ipc[0]); i++)
        if (strcmp (key, ipc[i]) == 0)
          return true;
      if (ch_has_prefix (key, "fs.mqueue."))
        return true;
    }
  if (s->ns[CH_NS_NET].enabled && ch_has_prefix (key, "net."))
    return true;
  if (s->ns[CH_NS_UTS].enabled && (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0))
    return true;
  return false;
}

int
ch_sysctl_apply (const struct ch_spec *s, ch_error_t *err)
{
  size_t i;

  for (i = 0; s->sysctl && s->sysctl[i]; i += 2)
    {
      cleanup_free char *path = NULL;
      char *p;
      if (!namespaced (s, s->sysctl[i]))
        return ch_error (err, 0, "sysctl `%s` is not namespaced in this container", s->sysctl[i]);
      path = xasprintf ("/proc/sys/%s", s->sysctl[i]);
      for (p = path + strlen ("/proc/sys/"); *p; p++)
        if (*p == '.')
          *p = '/';
      if (ch_write_file (path, s->sysctl[i + 1], strlen (s->sysctl[i + 1]), 0644, err) < 0)
        return ch_error_prefix (err, "sysctl `%s`", s->sysctl[i]);
    }
  return 0;
}
