/* `chuted oci spec`: runc's default config.json, with Docker's default
 * capability set and seccomp profile (so a bare bundle is as confined as a
 * `docker run`). terminal is false: chuted runs services, not shells. */
#include "runtime/runtime.h"
#include "runtime/spec.h"

#include "common/util.h"

#include <string.h>
#include <unistd.h>

static const char *const default_caps[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",      "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID",      "CAP_SETFCAP", "CAP_SETPCAP",          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
  "CAP_KILL",  "CAP_AUDIT_WRITE",
};

static const char *const masked[] = {
  "/proc/acpi",     "/proc/asound",    "/proc/kcore", "/proc/keys",    "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};

static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

#define N(a) (sizeof (a) / sizeof ((a)[0]))

static json_t *
strarr (const char *const *v, size_t n)
{
  json_t *a = json_array ();
  size_t i;
  for (i = 0; i < n; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static json_t *
mount_entry (const char *dst, const char *type, const char *src, const char *opts)
{
  cleanup_free char *o = xstrdup (opts);
  json_t *a = json_array ();
  char *save = NULL, *t;

  for (t = strtok_r (o, ",", &save); t; t = strtok_r (NULL, ",", &save))
    json_array_append_new (a, json_string (t));
  return json_pack ("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src, "options", a);
}

json_t *
ch_spec_default (bool rootless)
{
  json_t *caps = strarr (default_caps, N (default_caps));
  json_t *mounts = json_array ();
  json_t *ns = json_array ();
  json_t *spec, *linux_, *seccomp = NULL;
  const char *nss[] = { "pid", "network", "ipc", "uts", "mount", "cgroup" };
  size_t i, len;
  const char *prof = ch_seccomp_default_json (&len);

  json_array_append_new (mounts, mount_entry ("/proc", "proc", "proc", "nosuid,noexec,nodev"));
  json_array_append_new (mounts, mount_entry ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new (mounts, mount_entry ("/dev/pts", "devpts", "devpts",
                                              rootless ? "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"
                                                       : "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new (mounts, mount_entry ("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  json_array_append_new (mounts, mount_entry ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  if (rootless)
    json_array_append_new (mounts, mount_entry ("/sys", "none", "/sys", "rbind,nosuid,noexec,nodev,ro"));
  else
    {
      json_array_append_new (mounts, mount_entry ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
      json_array_append_new (mounts,
                             mount_entry ("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"));
    }

  for (i = 0; i < N (nss); i++)
    if (!(rootless && i == 1))
      json_array_append_new (ns, json_pack ("{s:s}", "type", nss[i]));
  if (rootless)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "user"));

  seccomp = json_loadb (prof, len, 0, NULL);
  linux_ = json_pack ("{s:o, s:o, s:o, s:o}", "namespaces", ns, "maskedPaths", strarr (masked, N (masked)),
                      "readonlyPaths", strarr (readonly, N (readonly)), "seccomp", seccomp ? seccomp : json_object ());
  /* as runc's: the runtime adds its default set after config.json's rules */
  json_object_set_new (linux_, "resources",
                       json_pack ("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
  if (rootless)
    {
      json_object_set_new (linux_, "uidMappings",
                           json_pack ("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int) geteuid (), "size", 1));
      json_object_set_new (linux_, "gidMappings",
                           json_pack ("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int) getegid (), "size", 1));
    }

  spec = json_pack ("{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:{s:o, s:O, s:O}, s:[{s:s, s:i, s:i}], s:b},"
                    " s:{s:s, s:b}, s:s, s:o, s:o}",
                    "ociVersion", "1.0.2",
                    "process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/",
                    "capabilities", "bounding", caps, "effective", caps, "permitted", caps, "rlimits", "type",
                    "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1,
                    "root", "path", "rootfs", "readonly", 1, "hostname", "chuted", "mounts", mounts, "linux", linux_);
  return spec;
}
