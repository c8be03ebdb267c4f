/* config.json (OCI runtime-spec 1.x) as C: what the init applies. Parsing
 * lives in spec*.c; every error names the JSON key path. */
#ifndef CH_SPEC_H
#define CH_SPEC_H

#include "cgroups/cgroup.h"
#include "common/error.h"
#include "common/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum ch_ns_type
{
  CH_NS_MOUNT,
  CH_NS_PID,
  CH_NS_UTS,
  CH_NS_IPC,
  CH_NS_NET,
  CH_NS_CGROUP,
  CH_NS_USER,
  CH_NS_COUNT
};

struct ch_spec_ns
{
  bool enabled;
  char *path; /* join instead of create */
};

struct ch_idmap
{
  uint32_t container_id, host_id, size;
};

struct ch_rlimit
{
  int resource;
  uint64_t soft, hard;
};

struct ch_spec_mount
{
  char *destination;
  char *source;
  char *type;
  unsigned long flags;     /* MS_* to set */
  unsigned long propagation; /* MS_PRIVATE/SLAVE/SHARED/UNBINDABLE [|MS_REC], 0 none */
  char *data;              /* fs options not mapped to flags */
  bool bind;               /* bind or rbind */
  bool tmpcopyup;          /* a tmpfs filled with a copy of what it covers */
};

struct ch_seccomp_arg
{
  unsigned index;
  uint64_t value, value_two;
  int op; /* enum scmp_compare */
};

struct ch_seccomp_rule
{
  char **names;
  uint32_t action;
  struct ch_seccomp_arg *args;
  size_t n_args;
};

/* A compiled filter (runtime/seccomp_bpf.c). */
struct ch_bpf
{
  char *prog; /* struct sock_filter[] */
  size_t len; /* bytes */
};

struct ch_seccomp
{
  uint32_t default_action;
  uint32_t *arches; /* SCMP_ARCH_* tokens */
  size_t n_arches;
  struct ch_seccomp_rule *rules;
  size_t n_rules;
};

struct ch_spec_device
{
  char *path;
  char type; /* c, b, u, p */
  uint32_t major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

enum ch_hook_kind
{
  CH_HOOK_PRESTART,
  CH_HOOK_CREATE_RUNTIME,
  CH_HOOK_CREATE_CONTAINER,
  CH_HOOK_START_CONTAINER,
  CH_HOOK_POSTSTART,
  CH_HOOK_POSTSTOP,
  CH_HOOK_KINDS
};

struct ch_hook
{
  char *path;
  char **args; /* NULL: { path } */
  char **env;  /* NULL: the runtime's environment */
  int timeout; /* seconds, 0: none */
};

struct ch_hooks
{
  struct ch_hook *list[CH_HOOK_KINDS];
  size_t n[CH_HOOK_KINDS];
};

/* Capability sets as bit masks of CAP_* numbers. */
struct ch_caps
{
  uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct ch_spec
{
  char *bundle;
  char *root_path; /* absolute */
  bool root_readonly;
  char *hostname;
  char *domainname;

  /* process */
  bool terminal;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char *username; /* process.user.username, resolved in the rootfs */
  mode_t umask;
  bool has_umask;
  char **args;
  char **env;
  char *cwd;
  bool has_caps;
  struct ch_caps caps;
  char **caps_unknown; /* names no capability table knows: skipped with a warning */
  struct ch_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  char *apparmor_profile; /* applied where AppArmor is enabled, else refused */
  char *selinux_label;    /* the same with SELinux */

  struct ch_spec_mount *mounts;
  size_t n_mounts;

  /* linux */
  struct ch_spec_ns ns[CH_NS_COUNT];
  struct ch_idmap *uid_maps, *gid_maps;
  size_t n_uid_maps, n_gid_maps;
  char **sysctl; /* key, value, key, value, ..., NULL */
  struct ch_cgroup_resources resources;
  char *cgroups_path;
  struct ch_seccomp *seccomp;
  json_t *seccomp_json;     /* linux.seccomp as written (the cache key) */
  struct ch_bpf seccomp_bpf; /* filled by create/exec before clone; empty: compile in the child */
  char **masked_paths;
  char **readonly_paths;
  struct ch_spec_device *devices;
  size_t n_devices;
  unsigned long rootfs_propagation; /* MS_* | MS_REC; default MS_SLAVE|MS_REC */
  char *mount_label;                /* refused where SELinux is on: chuted does not label mounts */
  bool personality32;               /* linux.personality.domain LINUX32 */

  struct ch_hooks hooks;
  json_t *hooks_json; /* hooks as written: kept in state.json for start and delete */

  json_t *annotations; /* object, owned */
};

/* Internal parse helpers shared by spec*.c: each returns < 0 with
 * "config.json: KEY: why". */
int ch_spec_err (ch_error_t *err, const char *key, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
int ch_spec_get (json_t *obj, const char *key, const char *name, json_type type, bool required, json_t **out,
                 ch_error_t *err);
int ch_spec_strv (json_t *arr, const char *key, char ***out, ch_error_t *err);
int ch_spec_u64 (json_t *v, const char *key, uint64_t *out, ch_error_t *err);
/* Never silently dropped: any of NAMES present (and not null) in OBJ at KEY
 * is refused as "not supported by chuted". */
int ch_spec_refuse (json_t *obj, const char *key, const char *const names[], size_t n, ch_error_t *err);
/* OBJ (at KEY) must be an object whose N FIELDS are integers, each <= MAX[j],
 * into VAL[j] (idmaps {containerID, hostID, size}, blockIO {major, minor, rate}). */
int ch_spec_u64_fields (json_t *obj, const char *key, const char *const fields[], const uint64_t max[], size_t n,
                        uint64_t *val, ch_error_t *err);

int ch_spec_parse_process (struct ch_spec *s, json_t *process, ch_error_t *err);
int ch_spec_parse_mounts (struct ch_spec *s, json_t *mounts, ch_error_t *err);
int ch_spec_parse_linux (struct ch_spec *s, json_t *linux_, ch_error_t *err);
int ch_spec_parse_seccomp (json_t *seccomp, const char *key, struct ch_seccomp **out, ch_error_t *err);
void ch_seccomp_free (struct ch_seccomp *sc);
int ch_spec_parse_resources (struct ch_cgroup_resources *r, json_t *res, ch_error_t *err);
/* The device cgroup policy create applies: config.json's
 * linux.resources.devices, then runc's default set, then mknod of each
 * linux.devices node. */
void ch_spec_device_policy (struct ch_spec *s);

/* spec_hooks.c: HOOKS (the config's "hooks" object, or the copy in state.json). */
extern const char *const ch_hook_names[CH_HOOK_KINDS];
int ch_hooks_parse (json_t *hooks, struct ch_hooks *out, ch_error_t *err);
void ch_hooks_clear (struct ch_hooks *h);

/* Capability names <-> numbers ("CAP_NET_RAW"); -1 when unknown. */
int ch_cap_from_name (const char *name);
const char *ch_cap_name (int cap);
/* Mount option string -> flags/propagation/data; false for an unknown one
 * that should go to data. */
unsigned long ch_propagation_from_name (const char *name); /* 0 when unknown */
void ch_mount_option (struct ch_spec_mount *m, const char *opt, struct ch_buf *data);

/* The embedded default seccomp profile (runtime/seccomp_default.json). */
const char *ch_seccomp_default_json (size_t *len);

#endif
