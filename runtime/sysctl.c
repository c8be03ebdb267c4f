/* linux.sysctl: written under /proc/sys after pivot_root, and only the
 * namespaced ones (runc's list), so a config cannot change the host; the
 * same rule for the hostname. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* The namespace a sysctl belongs to, -1 for one that is not namespaced. */
static int
sysctl_ns (const char *key)
{
  static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                     "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
  size_t i;

  for (i = 0; i < sizeof (ipc) / sizeof (ipc[0]); i++)
    if (strcmp (key, ipc[i]) == 0)
      return CH_NS_IPC;
  if (ch_has_prefix (key, "fs.mqueue."))
    return CH_NS_IPC;
  if (ch_has_prefix (key, "net."))
    return CH_NS_NET;
  if (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0)
    return CH_NS_UTS;
  return -1;
}

/* A namespace joined by a path that is our own is the host's too. */
static bool
is_host_ns (const struct ch_spec *s, int t)
{
  static const char *const proc[CH_NS_COUNT] = {
    [CH_NS_MOUNT] = "mnt", [CH_NS_PID] = "pid", [CH_NS_UTS] = "uts",   [CH_NS_IPC] = "ipc",
    [CH_NS_NET] = "net",   [CH_NS_CGROUP] = "cgroup", [CH_NS_USER] = "user",
  };
  cleanup_free char *self = NULL;
  struct stat a, b;

  if (!s->ns[t].enabled)
    return true;
  if (!s->ns[t].path)
    return false;
  self = xasprintf ("/proc/self/ns/%s", proc[t]);
  return stat (s->ns[t].path, &a) == 0 && stat (self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
ch_ns_settings_check (const struct ch_spec *s, ch_error_t *err)
{
  static const char *const names[CH_NS_COUNT] = {
    [CH_NS_IPC] = "IPC", [CH_NS_NET] = "network", [CH_NS_UTS] = "UTS",
  };
  size_t i;

  if (s->hostname && is_host_ns (s, CH_NS_UTS))
    return ch_error (err, 0, "config.json: hostname: unable to set hostname without a new UTS namespace");
  if (s->domainname && is_host_ns (s, CH_NS_UTS))
    return ch_error (err, 0, "config.json: domainname: unable to set domainname without a new UTS namespace");
  for (i = 0; s->sysctl && s->sysctl[i]; i += 2)
    {
      int t = sysctl_ns (s->sysctl[i]);
      if (t < 0)
        return ch_error (err, 0, "config.json: linux.sysctl: sysctl `%s` is not namespaced: refusing to change the host",
                         s->sysctl[i]);
      if (is_host_ns (s, t))
        return ch_error (err, 0, "config.json: linux.sysctl: sysctl `%s` not allowed in host %s namespace",
                         s->sysctl[i], names[t]);
    }
  return 0;
}

int
ch_sysctl_apply (const struct ch_spec *s, ch_error_t *err)
{
  size_t i;

  for (i = 0; s->sysctl && s->sysctl[i]; i += 2)
    {
      cleanup_free char *path = xasprintf ("/proc/sys/%s", s->sysctl[i]);
      char *p;
      for (p = path + strlen ("/proc/sys/"); *p; p++)
        if (*p == '.')
          *p = '/';
      if (ch_write_file (path, s->sysctl[i + 1], strlen (s->sysctl[i + 1]), 0644, err) < 0)
        return ch_error_prefix (err, "sysctl `%s`", s->sysctl[i]);
    }
  return 0;
}
