/* `features` (runtime-spec features.json, as runc prints it): what this
 * runtime accepts, found by asking its own parsers about each name the
 * spec knows rather than kept as a second list that could drift. */
#include "runtime/spec.h"
#include "runtime/runtime.h"

#include "common/json.h"
#include "common/util.h"

#include <seccomp.h>
#include <string.h>

/* runtime-spec's vocabularies (config-linux.md, runc's features). */
static const char *const mount_options[] = {
  "async",  "atime",      "bind",       "defaults",    "dev",     "diratime",  "dirsync",    "exec",
  "mand",   "noatime",    "nodev",      "nodiratime",  "noexec",  "nomand",    "norelatime", "nostrictatime",
  "nosuid", "private",    "rbind",      "relatime",    "remount", "ro",        "rprivate",   "rshared",
  "rslave", "runbindable", "rw",        "shared",      "slave",   "strictatime", "suid",     "sync",
  "unbindable", "tmpcopyup", "idmap",   "ridmap",      "rro",     "rrw",
};
static const char *const hooks[] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};
static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" };
static const char *const seccomp_actions[] = {
  "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
};
static const char *const seccomp_operators[] = {
  "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
};
static const char *const seccomp_archs[] = {
  "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",     "SCMP_ARCH_MIPS",   "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",   "SCMP_ARCH_S390X",    "SCMP_ARCH_X32",
  "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",
};
#define N(a) (sizeof (a) / sizeof (a[0]))

/* A mount option is known when it sets flags or propagation instead of
 * going to the filesystem as data. */
static bool
mount_option_known (const char *opt)
{
  struct ch_spec_mount m = { 0 };
  struct ch_buf data = { 0 };
  bool known;

  ch_mount_option (&m, opt, &data);
  known = data.len == 0;
  free (ch_buf_steal (&data));
  return known;
}

/* A hook kind is run when config.json's parser reads it: a hook of that
 * kind with a relative path is refused, one with an absolute path taken
 * (a parser that ignores hooks takes both). */
static bool
config_parses (const char *hook, const char *path)
{
  cleanup_json json_t *config = ch_spec_default (false);
  cleanup_error ch_error_t err = NULL;
  struct ch_spec *s = NULL;
  bool ok;

  json_object_set_new (json_object_get (config, "root"), "path", json_string ("/"));
  json_object_set_new (config, "hooks", json_pack ("{s:[{s:s}]}", hook, "path", path));
  ok = ch_spec_from_json (config, "/", &s, &err) == 0;
  ch_spec_free (s);
  return ok;
}

static bool
hook_known (const char *hook)
{
  return config_parses (hook, "/bin/true") && !config_parses (hook, "relative");
}

static bool
namespace_known (const char *type)
{
  struct ch_spec *s = xzalloc (sizeof (*s));
  cleanup_error ch_error_t err = NULL;
  json_t *l = json_pack ("{s:[{s:s}]}", "namespaces", "type", type);
  bool ok;

  if (strcmp (type, "user") == 0)
    {
      json_object_set_new (l, "uidMappings", json_pack ("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", 0, "size", 1));
      json_object_set (l, "gidMappings", json_object_get (l, "uidMappings"));
    }
  ok = ch_spec_parse_linux (s, l, &err) == 0;
  json_decref (l);
  ch_spec_free (s);
  return ok;
}

static bool
seccomp_known (json_t *profile)
{
  struct ch_seccomp *sc = NULL;
  cleanup_error ch_error_t err = NULL;
  bool ok = ch_spec_parse_seccomp (profile, "linux.seccomp", &sc, &err) == 0;

  ch_seccomp_free (sc);
  json_decref (profile);
  return ok;
}

static json_t *
probe (const char *const *names, size_t n, bool (*known) (const char *))
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    if (known (names[i]))
      json_array_append_new (a, json_string (names[i]));
  return a;
}

static bool
action_known (const char *a)
{
  return seccomp_known (json_pack ("{s:s}", "defaultAction", a));
}

static bool
operator_known (const char *op)
{
  return seccomp_known (json_pack ("{s:s, s:[{s:[s], s:s, s:[{s:i, s:i, s:s}]}]}", "defaultAction", "SCMP_ACT_ALLOW",
                                   "syscalls", "names", "getpid", "action", "SCMP_ACT_ERRNO", "args", "index", 0,
                                   "value", 1, "op", op));
}

static bool
arch_known (const char *arch)
{
  return seccomp_known (json_pack ("{s:s, s:[s]}", "defaultAction", "SCMP_ACT_ALLOW", "architectures", arch));
}

json_t *
ch_runtime_features (void)
{
  json_t *caps = json_array ();
  const struct scmp_version *v = seccomp_version ();
  cleanup_free char *libseccomp = xasprintf ("%u.%u.%u", v->major, v->minor, v->micro);
  const char *name;

  for (int i = 0; (name = ch_cap_name (i)) != NULL; i++)
    json_array_append_new (caps, json_string (name));
  return json_pack ("{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:{s:b, s:o, s:o, s:o}, s:{s:b}, "
                    "s:{s:b}}, s:{s:s}}",
                    "ociVersionMin", "1.0.0", "ociVersionMax", "1.0.2", "hooks", probe (hooks, N (hooks), hook_known),
                    "mountOptions",
                    probe (mount_options, N (mount_options), mount_option_known), "linux", "namespaces",
                    probe (namespaces, N (namespaces), namespace_known), "capabilities", caps, "cgroup", "v1", 1, "v2",
                    1, "systemd", 0, "systemdUser", 0, "seccomp", "enabled", 1, "actions",
                    probe (seccomp_actions, N (seccomp_actions), action_known), "operators",
                    probe (seccomp_operators, N (seccomp_operators), operator_known), "archs",
                    probe (seccomp_archs, N (seccomp_archs), arch_known), "apparmor", "enabled", 0, "selinux",
                    "enabled", 0, "annotations", "io.github.seccomp.libseccomp.version", libseccomp);
}
