/* config.json parsing (runtime/spec*.c): good and bad configs, the default
 * spec round trip, the embedded seccomp profile, passwd/group parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/init.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

static json_t *
base_config (void)
{
  return json_pack ("{s:s, s:{s:s}, s:{s:[s], s:s}}", "ociVersion", "1.0.2", "root", "path", "rootfs", "process", "args",
                    "sh", "cwd", "/");
}

/* Set KEY ("a.b.c") in J to V (stolen), creating objects on the way. */
static void
set_path (json_t *j, const char *key, json_t *v)
{
  cleanup_free char *k = xstrdup (key);
  char *save = NULL, *t = strtok_r (k, ".", &save), *next;

  while ((next = strtok_r (NULL, ".", &save)))
    {
      json_t *child = json_object_get (j, t);
      if (child == NULL)
        {
          child = json_object ();
          json_object_set_new (j, t, child);
        }
      j = child;
      t = next;
    }
  json_object_set_new (j, t, v);
}

static void
test_default_spec (void **state)
{
  cleanup_json json_t *j = ch_spec_default (false);
  struct ch_spec *s = NULL;
  cleanup_error ch_error_t err = NULL;

  assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), 0);
  assert_string_equal (s->root_path, "/b/rootfs");
  assert_true (s->root_readonly);
  assert_string_equal (s->args[0], "sh");
  assert_true (s->has_caps);
  assert_int_equal (s->caps.bounding, 0xa80425fbULL); /* Docker's 14 */
  assert_int_equal (s->caps.effective, 0xa80425fbULL);
  assert_int_equal (s->caps.inheritable, 0);
  assert_true (s->no_new_privileges);
  assert_int_equal (s->n_rlimits, 1);
  assert_int_equal (s->rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal (s->rlimits[0].soft, 1024);
  assert_int_equal (s->n_mounts, 7);
  assert_string_equal (s->mounts[1].destination, "/dev");
  assert_true (s->mounts[1].flags & MS_NOSUID);
  assert_string_equal (s->mounts[1].data, "mode=755,size=65536k");
  assert_true (s->mounts[5].flags & MS_RDONLY);
  assert_true (s->ns[CH_NS_MOUNT].enabled && s->ns[CH_NS_PID].enabled && s->ns[CH_NS_NET].enabled);
  assert_false (s->ns[CH_NS_USER].enabled);
  assert_int_equal (ch_strv_len (s->masked_paths), 10);
  assert_int_equal (ch_strv_len (s->readonly_paths), 5);
  assert_non_null (s->seccomp);
  assert_int_equal (s->seccomp->default_action, SCMP_ACT_ERRNO (EPERM));
  assert_int_equal (s->rootfs_propagation, MS_SLAVE | MS_REC);
  ch_spec_free (s);
}

static void
test_default_round_trip (void **state)
{
  cleanup_json json_t *j = ch_spec_default (false);
  cleanup_json json_t *back = NULL;
  cleanup_free char *text = json_dumps (j, JSON_INDENT (2));
  cleanup_error ch_error_t err = NULL;
  struct ch_spec *s = NULL;

  assert_int_equal (ch_json_load_buf ("config.json", text, strlen (text), &back, &err), 0);
  assert_true (json_equal (j, back));
  assert_int_equal (ch_spec_from_json (back, "/b", &s, &err), 0);
  ch_spec_free (s);
}

static void
test_rootless_spec (void **state)
{
  cleanup_json json_t *j = ch_spec_default (true);
  struct ch_spec *s = NULL;
  cleanup_error ch_error_t err = NULL;

  assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), 0);
  assert_true (s->ns[CH_NS_USER].enabled);
  assert_false (s->ns[CH_NS_NET].enabled);
  assert_int_equal (s->n_uid_maps, 1);
  assert_int_equal (s->n_gid_maps, 1);
  ch_spec_free (s);
}

static void
test_good_config (void **state)
{
  cleanup_json json_t *j = base_config ();
  struct ch_spec *s = NULL;
  cleanup_error ch_error_t err = NULL;

  set_path (j, "process.user", json_pack ("{s:i, s:i, s:[i, i], s:i}", "uid", 1000, "gid", 100, "additionalGids", 5, 6, "umask", 077));
  set_path (j, "process.env", json_pack ("[s]", "A=1"));
  set_path (j, "process.rlimits", json_pack ("[{s:s, s:i, s:f}]", "type", "RLIMIT_CORE", "soft", 0, "hard", 18446744073709551615.0));
  set_path (j, "process.oomScoreAdj", json_integer (-500));
  set_path (j, "process.capabilities.ambient", json_pack ("[s]", "CAP_NET_RAW"));
  set_path (j, "hostname", json_string ("h"));
  set_path (j, "linux.namespaces", json_pack ("[{s:s}, {s:s, s:s}, {s:s}]", "type", "mount", "type", "network", "path", "/run/netns/x", "type", "user"));
  set_path (j, "linux.uidMappings", json_pack ("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", 100000, "size", 65536));
  set_path (j, "linux.gidMappings", json_pack ("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", 100000, "size", 65536));
  set_path (j, "linux.sysctl", json_pack ("{s:s}", "net.ipv4.ip_forward", "1"));
  set_path (j, "linux.resources", json_pack ("{s:{s:I, s:I}, s:{s:i, s:I, s:s}, s:{s:i}, s:{s:i, s:[{s:i, s:i, s:i}]}}", "memory", "limit", (json_int_t) 64 << 20, "swap", (json_int_t) 128 << 20, "cpu", "shares", 512, "quota", (json_int_t) 50000, "cpus", "0-1", "pids", "limit", 64, "blockIO", "weight", 500, "throttleReadBpsDevice", "major", 8, "minor", 0, "rate", 1048576));
  set_path (j, "linux.cgroupsPath", json_string ("/chuted/x"));
  set_path (j, "linux.rootfsPropagation", json_string ("rprivate"));
  set_path (j, "linux.devices", json_pack ("[{s:s, s:s, s:i, s:i}]", "path", "/dev/fuse", "type", "c", "major", 10, "minor", 229));
  set_path (j, "annotations", json_pack ("{s:s}", "a", "b"));
  set_path (j, "mounts", json_pack ("[{s:s, s:s, s:s, s:[s, s, s]}]", "destination", "/data", "type", "bind", "source", "data", "options", "rbind", "ro", "rshared"));

  assert_int_equal (ch_spec_from_json (j, "/bundle", &s, &err), 0);
  assert_int_equal (s->uid, 1000);
  assert_int_equal (s->gid, 100);
  assert_int_equal (s->n_additional_gids, 2);
  assert_int_equal (s->umask, 077);
  assert_int_equal (s->rlimits[0].hard, UINT64_MAX);
  assert_int_equal (s->oom_score_adj, -500);
  assert_int_equal (s->caps.ambient, 1ULL << 13);
  assert_string_equal (s->ns[CH_NS_NET].path, "/run/netns/x");
  assert_null (s->ns[CH_NS_MOUNT].path);
  assert_int_equal (s->uid_maps[0].host_id, 100000);
  assert_string_equal (s->sysctl[0], "net.ipv4.ip_forward");
  assert_int_equal (s->resources.memory_limit, 64 << 20);
  assert_int_equal (s->resources.memory_swap, 128 << 20);
  assert_int_equal (s->resources.cpu_shares, 512);
  assert_int_equal (s->resources.cpu_quota, 50000);
  assert_int_equal (s->resources.cpu_period, CH_CGROUP_UNSET);
  assert_string_equal (s->resources.cpuset_cpus, "0-1");
  assert_int_equal (s->resources.pids_limit, 64);
  assert_int_equal (s->resources.blkio_weight, 500);
  assert_int_equal (s->resources.n_read_bps, 1);
  assert_int_equal (s->resources.read_bps[0].rate, 1048576);
  assert_string_equal (s->cgroups_path, "/chuted/x");
  assert_int_equal (s->rootfs_propagation, MS_PRIVATE | MS_REC);
  assert_int_equal (s->devices[0].minor, 229);
  assert_string_equal (s->mounts[0].source, "/bundle/data");
  assert_true (s->mounts[0].bind);
  assert_int_equal (s->mounts[0].flags, MS_BIND | MS_REC | MS_RDONLY);
  assert_int_equal (s->mounts[0].propagation, MS_SHARED | MS_REC);
  assert_string_equal (json_string_value (json_object_get (s->annotations, "a")), "b");
  ch_spec_free (s);
}

struct bad
{
  const char *key;
  const char *json; /* value set at KEY (NULL: delete KEY) */
  const char *msg;
};

static const struct bad bads[] = {
  { "linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"pid\"}, {\"type\": \"foo\"}]",
    "config.json: linux.namespaces[2].type: unknown namespace \"foo\"" },
  { "linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"pid\"}]",
    "config.json: linux.namespaces[1].type: namespace \"pid\" listed twice" },
  { "linux.namespaces", "[{\"type\": \"network\", \"path\": \"netns/x\"}]",
    "config.json: linux.namespaces[0].path: must be an absolute path" },
  { "process.rlimits", "[{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]",
    "config.json: process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`" },
  { "process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 1}]",
    "config.json: process.rlimits[0]: soft limit above hard limit" },
  { "process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1}]", "config.json: process.rlimits[0].soft: missing" },
  { "process.capabilities", "{\"bounding\": [\"CAP_CHOWN\", 7]}",
    "config.json: process.capabilities.bounding[1]: must be a string" },
  { "process.capabilities", "{\"ambient\": \"CAP_CHOWN\"}",
    "config.json: process.capabilities.ambient: must be an array, not a string" },
  { "process.cwd", "\"tmp\"", "config.json: process.cwd: must be an absolute path, not `tmp`" },
  { "process.args", "\"sh\"", "config.json: process.args: must be an array, not a string" },
  { "process.args", "[]", "config.json: process.args: must not be empty" },
  { "process.env", "[\"A=1\", 2]", "config.json: process.env[1]: must be a string, not an integer" },
  { "process.terminal", "\"yes\"", "config.json: process.terminal: must be a boolean, not a string" },
  { "process.user", "{\"uid\": -1}", "config.json: process.user.uid: must not be negative" },
  { "process.oomScoreAdj", "5000", "config.json: process.oomScoreAdj: 5000 is outside -1000..1000" },
  { "root", NULL, "config.json: root: missing" },
  { "root.path", "7", "config.json: root.path: must be a string, not an integer" },
  { "ociVersion", "\"2.0.0\"", "config.json: ociVersion: unsupported version `2.0.0` (want 1.x)" },
  { "hostname", "[]", "config.json: hostname: must be a string, not an array" },
  { "mounts", "[{\"source\": \"x\"}]", "config.json: mounts[0].destination: missing" },
  { "mounts", "[{\"destination\": \"data\"}]", "config.json: mounts[0].destination: must be an absolute path, not `data`" },
  { "mounts", "[{\"destination\": \"/d\", \"options\": [1]}]", "config.json: mounts[0].options[0]: must be a string" },
  { "linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 1}]",
    "config.json: linux.uidMappings[0].size: missing" },
  { "linux.resources", "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 4294967296, \"minor\": 0, \"rate\": 1}]}}",
    "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].major: out of range" },
  { "linux.resources", "{\"blockIO\": {\"throttleWriteIOPSDevice\": [7]}}",
    "config.json: linux.resources.blockIO.throttleWriteIOPSDevice[0]: must be an object" },
  { "linux.resources", "{\"cpu\": {\"shares\": 1}}", "config.json: linux.resources.cpu.shares: 1 is outside 2..262144" },
  { "linux.resources", "{\"memory\": {\"limit\": \"1G\"}}",
    "config.json: linux.resources.memory.limit: must be an integer, not a string" },
  { "linux.sysctl", "{\"net.x\": 1}", "config.json: linux.sysctl.net.x: must be a string" },
  { "linux.rootfsPropagation", "\"sideways\"", "config.json: linux.rootfsPropagation: unknown propagation `sideways`" },
  { "linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"z\", \"major\": 1, \"minor\": 1}]",
    "config.json: linux.devices[0].type: unknown device type `z`" },
  { "linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
    "config.json: linux.seccomp.defaultAction: unknown action `SCMP_ACT_NOPE`" },
  { "linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
    "config.json: linux.seccomp.architectures[0]: unknown architecture `SCMP_ARCH_VAX`" },
  { "linux.seccomp",
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", "
    "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
    "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_ABOUT`" },
  { "linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
    "config.json: linux.seccomp.syscalls[0].action: missing" },
  { "annotations", "{\"a\": 1}", "config.json: annotations.a: must be a string" },
  { "hooks", "{\"prestart\": [{\"path\": \"hook\"}]}",
    "config.json: hooks.prestart[0].path: must be an absolute path, not `hook`" },
  { "hooks", "{\"poststop\": [{\"path\": \"/h\", \"timeout\": 0}]}",
    "config.json: hooks.poststop[0].timeout: must be a positive number of seconds" },
  { "hooks", "{\"preStart\": []}", "config.json: hooks.preStart: unknown hook kind" },
  { "hooks", "{\"poststart\": [{\"path\": \"/h\", \"args\": [1]}]}",
    "config.json: hooks.poststart[0].args[0]: must be a string, not an integer" },
  { "process.scheduler", "{\"policy\": \"SCHED_OTHER\"}", "config.json: process.scheduler: not supported by chuted" },
  { "linux.timeOffsets", "{}", "config.json: linux.timeOffsets: not supported by chuted" },
  { "linux.personality", "{\"domain\": \"LINUX64\"}",
    "config.json: linux.personality.domain: unknown domain `LINUX64` (LINUX or LINUX32)" },
};

static void
test_bad_configs (void **state)
{
  size_t i;

  for (i = 0; i < sizeof (bads) / sizeof (bads[0]); i++)
    {
      cleanup_json json_t *j = base_config ();
      cleanup_error ch_error_t err = NULL;
      struct ch_spec *s = NULL;

      if (bads[i].json)
        {
          json_t *v = json_loads (bads[i].json, JSON_DECODE_ANY, NULL);
          assert_non_null (v);
          set_path (j, bads[i].key, v);
        }
      else
        json_object_del (j, bads[i].key);
      assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), -1);
      assert_null (s);
      assert_non_null (err);
      assert_string_equal (err->msg, bads[i].msg);
    }
}

/* process is OPTIONAL at create (REQUIRED at start, which refuses) */
static void
test_no_process (void **state)
{
  cleanup_json json_t *j = base_config ();
  cleanup_error ch_error_t err = NULL;
  struct ch_spec *s = NULL;

  json_object_del (j, "process");
  assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), 0);
  assert_null (s->args);
  assert_false (s->terminal);
  ch_spec_free (s);
}

static void
test_seccomp_profile (void **state)
{
  size_t len, i, n_names = 0;
  const char *text = ch_seccomp_default_json (&len);
  cleanup_json json_t *j = NULL;
  cleanup_error ch_error_t err = NULL;
  struct ch_seccomp *sc = NULL;
  scmp_filter_ctx ctx = NULL;
  bool has_read = false, has_mount = false, has_clone_filter = false;

  assert_true (len > 1000);
  assert_int_equal (text[len], '\0');
  assert_int_equal (ch_json_load_buf ("seccomp_default.json", text, len, &j, &err), 0);
  assert_int_equal (ch_spec_parse_seccomp (j, "linux.seccomp", &sc, &err), 0);
  assert_int_equal (sc->default_action, SCMP_ACT_ERRNO (EPERM));
  assert_int_equal (sc->n_arches, 3);
  for (i = 0; i < sc->n_rules; i++)
    {
      char **n;
      for (n = sc->rules[i].names; *n; n++, n_names++)
        {
          has_read |= strcmp (*n, "read") == 0 && sc->rules[i].action == SCMP_ACT_ALLOW;
          has_mount |= strcmp (*n, "mount") == 0;
          if (strcmp (*n, "clone") == 0 && sc->rules[i].n_args == 1 && sc->rules[i].args[0].op == SCMP_CMP_MASKED_EQ)
            has_clone_filter = sc->rules[i].args[0].value == 0x7E020000;
        }
    }
  assert_true (n_names > 300);
  assert_true (has_read);
  assert_false (has_mount); /* needs CAP_SYS_ADMIN, not in the default set */
  assert_true (has_clone_filter);
  assert_int_equal (ch_seccomp_build (sc, &ctx, &err), 0);
  seccomp_release (ctx);
  ch_seccomp_free (sc);
}

static void
test_seccomp_unknown_syscall_skipped (void **state)
{
  cleanup_json json_t *j = json_loads ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                       "[\"no_such_call\", \"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}",
                                       0, NULL);
  cleanup_error ch_error_t err = NULL;
  struct ch_seccomp *sc = NULL;
  scmp_filter_ctx ctx = NULL;

  assert_int_equal (ch_spec_parse_seccomp (j, "linux.seccomp", &sc, &err), 0);
  assert_int_equal (sc->rules[0].action, SCMP_ACT_ERRNO (38));
  assert_int_equal (ch_seccomp_build (sc, &ctx, &err), 0);
  seccomp_release (ctx);
  ch_seccomp_free (sc);
}

static void
test_seccomp_cache (void **state)
{
  char dir[] = "/tmp/chuted-test-unit-seccomp.XXXXXX";
  cleanup_json json_t *j = json_loads ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                       "[\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                                       0, NULL);
  cleanup_free char *cache = NULL;
  cleanup_error ch_error_t err = NULL;
  struct ch_seccomp *sc = NULL;
  struct ch_bpf a = { 0 }, b = { 0 };

  assert_non_null (mkdtemp (dir));
  cache = xasprintf ("%s/.seccomp", dir);
  assert_int_equal (ch_spec_parse_seccomp (j, "linux.seccomp", &sc, &err), 0);
  assert_int_equal (ch_seccomp_compile (sc, j, cache, &a, &err), 0);
  assert_true (a.len > 0 && a.len % 8 == 0);
  /* second time from the cache file: same program */
  sc->default_action = SCMP_ACT_KILL_PROCESS; /* would compile differently: proves the cache is used */
  assert_int_equal (ch_seccomp_compile (sc, j, cache, &b, &err), 0);
  assert_int_equal (a.len, b.len);
  assert_memory_equal (a.prog, b.prog, a.len);
  ch_bpf_clear (&b);
  /* no cache: compiled fresh, and the changed action shows */
  assert_int_equal (ch_seccomp_compile (sc, NULL, NULL, &b, &err), 0);
  assert_true (a.len != b.len || memcmp (a.prog, b.prog, a.len) != 0);
  ch_bpf_clear (&a);
  ch_bpf_clear (&b);
  ch_seccomp_free (sc);
  assert_int_equal (ch_rm_rf (dir, &err), 0);
}

static void
test_passwd_group (void **state)
{
  const char *passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\nbroken line\nwww:x:33:33::/var/www:/bin/false\n"
                       "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh";
  const char *group = "root:x:0:\nstaff:x:50:www,alice\nbad:x:notanumber:www\nnogroup:x:65534:\naudio:x:29:bob,www\n";
  struct ch_pwent pw = { 0 };
  gid_t gid = 0, *gids = NULL;
  size_t n = 0;

  assert_int_equal (ch_passwd_find (passwd, "www", 0, &pw), 1);
  assert_int_equal (pw.uid, 33);
  assert_int_equal (pw.gid, 33);
  assert_string_equal (pw.home, "/var/www");
  ch_pwent_clear (&pw);
  assert_int_equal (ch_passwd_find (passwd, NULL, 65534, &pw), 1);
  assert_string_equal (pw.name, "nobody");
  assert_string_equal (pw.home, "/nonexistent");
  ch_pwent_clear (&pw);
  assert_int_equal (ch_passwd_find (passwd, "ghost", 0, &pw), 0);
  assert_int_equal (ch_passwd_find (passwd, NULL, 4242, &pw), 0);
  assert_int_equal (ch_group_find (group, "staff", &gid), 1);
  assert_int_equal (gid, 50);
  assert_int_equal (ch_group_find (group, "bad", &gid), 0);
  ch_group_members (group, "www", &gids, &n);
  assert_int_equal (n, 2);
  assert_int_equal (gids[0], 50);
  assert_int_equal (gids[1], 29);
  free (gids);
}

static void
test_hooks_and_labels (void **state)
{
  cleanup_json json_t *j = base_config ();
  cleanup_error ch_error_t err = NULL;
  struct ch_spec *s = NULL;

  set_path (j, "hooks", json_loads ("{\"prestart\": [{\"path\": \"/a\"}, {\"path\": \"/b\", \"args\": [\"b\", \"x\"], "
                                   "\"env\": [\"K=v\"], \"timeout\": 5}], \"poststop\": null}",
                                   0, NULL));
  set_path (j, "mounts", json_loads ("[{\"destination\": \"/tmp\", \"type\": \"tmpfs\", "
                                    "\"options\": [\"tmpcopyup\", \"size=1m\", \"nosuid\"]}]",
                                    0, NULL));
  set_path (j, "process.apparmorProfile", json_string ("p"));
  set_path (j, "linux.personality", json_loads ("{\"domain\": \"LINUX32\"}", 0, NULL));
  assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), 0);
  assert_int_equal (s->hooks.n[CH_HOOK_PRESTART], 2);
  assert_int_equal (s->hooks.n[CH_HOOK_POSTSTOP], 0);
  assert_string_equal (s->hooks.list[CH_HOOK_PRESTART][0].path, "/a");
  assert_null (s->hooks.list[CH_HOOK_PRESTART][0].args);
  assert_null (s->hooks.list[CH_HOOK_PRESTART][0].env);
  assert_string_equal (s->hooks.list[CH_HOOK_PRESTART][1].args[1], "x");
  assert_string_equal (s->hooks.list[CH_HOOK_PRESTART][1].env[0], "K=v");
  assert_int_equal (s->hooks.list[CH_HOOK_PRESTART][1].timeout, 5);
  assert_true (ch_hooks_sync_needed (s));
  /* tmpcopyup is ours, not the kernel's: it must not reach the mount data */
  assert_true (s->mounts[0].tmpcopyup);
  assert_string_equal (s->mounts[0].data, "size=1m");
  assert_string_equal (s->apparmor_profile, "p");
  assert_true (s->personality32);
  ch_spec_free (s);
}

static void
test_cap_names (void **state)
{
  assert_int_equal (ch_cap_from_name ("CAP_CHOWN"), 0);
  assert_int_equal (ch_cap_from_name ("CAP_SYS_ADMIN"), 21);
  assert_int_equal (ch_cap_from_name ("CAP_CHECKPOINT_RESTORE"), 40);
  assert_int_equal (ch_cap_from_name ("CAP_NOPE"), -1);
  assert_string_equal (ch_cap_name (13), "CAP_NET_RAW");
  assert_null (ch_cap_name (99));
}

#define BIT(c) (1ULL << (c))

/* runtime-spec v1.1: a capability that cannot be mapped or granted is
 * skipped with a warning, never a failure; the rest stay as asked. */
static void
test_caps_skipped (void **state)
{
  cleanup_json json_t *j = base_config ();
  cleanup_error ch_error_t err = NULL;
  struct ch_spec *s = NULL;
  struct ch_caps c;
  char *msg;

  set_path (j, "process.capabilities", json_pack ("{s:[s, s, s], s:[s, s], s:[s]}", "bounding", "CAP_CHOWN", "CAP_TEST",
                                                  "CAP_TEST", "effective", "CAP_CHOWN", "CAP_TEST", "permitted", "CAP_CHOWN"));
  assert_int_equal (ch_spec_from_json (j, "/b", &s, &err), 0);
  assert_int_equal (s->caps.bounding, BIT (0));
  assert_int_equal (s->caps.effective, BIT (0));
  assert_int_equal (ch_strv_len (s->caps_unknown), 1); /* named once */
  assert_string_equal (s->caps_unknown[0], "CAP_TEST");

  msg = ch_caps_restrict (&s->caps, s->caps_unknown, 40, ~0ULL);
  assert_string_equal (msg, "process.capabilities: skipping CAP_TEST (unknown)");
  assert_int_equal (s->caps.effective, BIT (0));
  free (msg);
  ch_spec_free (s);

  /* nothing to say: nothing changed, no message */
  c = (struct ch_caps){ BIT (0) | BIT (13), BIT (13), 0, BIT (13), 0 };
  assert_null (ch_caps_restrict (&c, NULL, 40, ~0ULL));
  assert_int_equal (c.bounding, BIT (0) | BIT (13));

  /* each reason, each capability named once (the first reason wins) */
  c = (struct ch_caps){ .bounding = BIT (0) | BIT (13) | BIT (24) | BIT (40),
                        .effective = BIT (0) | BIT (21) | BIT (25),
                        .permitted = BIT (0) | BIT (24),
                        .inheritable = BIT (21),
                        .ambient = BIT (0) | BIT (13) };
  msg = ch_caps_restrict (&c, NULL, 39, ~BIT (24));
  assert_string_equal (msg, "process.capabilities: skipping CAP_CHECKPOINT_RESTORE (unknown to this kernel), "
                            "CAP_SYS_RESOURCE (not in the bounding set this runtime runs with), "
                            "CAP_SYS_ADMIN (not in process.capabilities.bounding), "
                            "CAP_SYS_TIME (not in process.capabilities.bounding), "
                            "CAP_CHOWN (ambient but not permitted and inheritable), "
                            "CAP_NET_RAW (ambient but not permitted and inheritable)");
  assert_int_equal (c.bounding, BIT (0) | BIT (13));
  assert_int_equal (c.permitted, BIT (0));
  assert_int_equal (c.effective, BIT (0));
  assert_int_equal (c.inheritable, 0);
  assert_int_equal (c.ambient, 0);
  free (msg);

  c = (struct ch_caps){ .bounding = BIT (12), .effective = BIT (12) };
  msg = ch_caps_restrict (&c, NULL, 40, ~0ULL);
  assert_string_equal (msg, "process.capabilities: skipping CAP_NET_ADMIN (effective but not permitted)");
  assert_int_equal (c.effective, 0);
  assert_int_equal (c.bounding, BIT (12));
  free (msg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_default_spec),   cmocka_unit_test (test_default_round_trip),
    cmocka_unit_test (test_rootless_spec),  cmocka_unit_test (test_good_config),
    cmocka_unit_test (test_bad_configs),    cmocka_unit_test (test_seccomp_profile),
    cmocka_unit_test (test_seccomp_unknown_syscall_skipped), cmocka_unit_test (test_passwd_group), cmocka_unit_test (test_seccomp_cache),
    cmocka_unit_test (test_cap_names),     cmocka_unit_test (test_hooks_and_labels),
    cmocka_unit_test (test_caps_skipped),   cmocka_unit_test (test_no_process),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
