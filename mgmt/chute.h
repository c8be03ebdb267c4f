/* A chute as the user asked for it (persisted as ROOT/chutes/NAME/chute.json)
 * and where its state lives. */
#ifndef CH_CHUTE_H
#define CH_CHUTE_H

#include "common/error.h"
#include "mgmt/cli.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum ch_restart
{
  CH_RESTART_NO,
  CH_RESTART_ON_FAILURE,
  CH_RESTART_ALWAYS,
  /* as always, except that a chute stopped with `chuted stop` stays down
   * across reboots (`start --all` skips it) until started again */
  CH_RESTART_UNLESS_STOPPED
};

struct ch_chute
{
  char *name;
  char *rootfs;       /* --rootfs DIR (absolute), or NULL */
  char *image;        /* image reference, or NULL */
  char **command;     /* overrides the image's Cmd */
  char **entrypoint;  /* overrides the image's Entrypoint */
  char **env;         /* K=V */
  char *workdir, *user, *hostname;
  bool tty, interactive, autoremove, read_only, privileged;
  enum ch_restart restart;
  int restart_max; /* on-failure:N, 0 = unbounded */
  bool user_stopped; /* `chuted stop`ped and not started since (persisted) */
  int64_t memory, memory_swap, cpu_shares, cpu_quota, cpu_period, pids, blkio_weight; /* -1 unset */
  char *cpuset_cpus;
  uint64_t disk;     /* bytes the chute may write (upper dir, unpack bound) */
  bool disk_quota;   /* --storage-opt size: DISK enforced while it runs (mgmt/disk.h) */
  uint64_t log_max;  /* bytes per log file before rotation */
  char *net_mode;    /* bridge | none | host */
  char **ports;      /* "8080:80/tcp" */
  uint64_t wan_down, wan_up; /* kbit/s, 0 = unshaped */
  char *wifi;        /* ssid=...,key=...,intf=...,dhcp=... */
  char *created;     /* RFC 3339 */
  bool init;         /* --init: chuted-init runs as pid 1, the command as its child */
  int stop_signal;   /* --stop-signal, 0: the image's StopSignal, else SIGTERM */
  int stop_timeout;  /* --stop-timeout seconds, -1: stop's default (10) */
  char **volumes;    /* -v, canonical "SRC:DEST[:ro]" (mgmt/volume.h) */
  char **cap_add, **cap_drop; /* CAP_NAME or ALL (mgmt/security.h) */
  char **devices;    /* --device, canonical "HOST:CTR:PERMS" */
  bool seccomp_unconfined;  /* --security-opt seccomp=unconfined */
  json_t *seccomp_profile;  /* --security-opt seccomp=FILE, as read at create */
  bool no_new_privs;        /* default true; --security-opt no-new-privileges=false */
  int pod_index;     /* a pod's service (mgmt/pod.h): its place in the chute file; -1 otherwise */
};

void ch_chute_init (struct ch_chute *c);
void ch_chute_clear (struct ch_chute *c);
json_t *ch_chute_to_json (const struct ch_chute *c);
int ch_chute_from_json (json_t *j, struct ch_chute *c, ch_error_t *err);

/* A signal by name (TERM, SIGTERM, any case) or number (1..NSIG-1). */
int ch_signal_parse (const char *s, int *signo, ch_error_t *err);

int ch_restart_parse (const char *s, enum ch_restart *r, int *max, ch_error_t *err);
const char *ch_restart_name (enum ch_restart r);
/* Does `chuted start --all` (run at boot) bring C back? */
bool ch_chute_starts_at_boot (const struct ch_chute *c);

/* THE name rule (no other folder has one): [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}
 * as docker, and no "..", since a name is a path and a cgroup component.
 * Every command that takes a chute name checks it here before acting; the
 * message shows the name escaped, on one line. ch_chute_name_check also
 * takes the name of a pod's service, CHUTE+SERVICE (both parts names, 63
 * characters in all): `+` is outside the user's rule, so no `chuted run
 * --name` can take a service's name. A name a user gives a new chute (run
 * --name, a chute file's name: and services) goes through
 * ch_chute_name_check_new, the user's rule alone. */
#define CH_POD_SEP '+'
int ch_chute_name_check (const char *name, ch_error_t *err);
/* The same rule for another kind of name (WHAT: "volume"), worded for it. */
int ch_name_check (const char *what, const char *name, ch_error_t *err);
/* The user's rule for a new chute's name: no `+`. */
int ch_chute_name_check_new (const char *name, ch_error_t *err);
/* The pod (mgmt/pod.h) NAME (CHUTE+SERVICE) is a service of, or NULL. */
char *ch_pod_of (const char *name);

/* Paths of a chute's state: mgmt/ alone builds them; image/ and netns/ get
 * the directories (or ch_chute_alive) handed down. NAME must have passed
 * ch_chute_name_check. */
char *ch_chutes_dir (const struct ch_ctx *ctx);                      /* ROOT/chutes */
char *ch_chute_dir (const struct ch_ctx *ctx, const char *name);     /* ROOT/chutes/NAME */
char *ch_chutes_run_dir (const struct ch_ctx *ctx);                  /* RUN_ROOT/chutes */
char *ch_chute_run_dir (const struct ch_ctx *ctx, const char *name); /* RUN_ROOT/chutes/NAME */
char *ch_chute_oci_dir (const struct ch_ctx *ctx, const char *name); /* RUN_ROOT/oci/NAME */
/* Every chute's compiled seccomp filters: kept across reboots (RUN_ROOT is
 * a tmpfs), so a boot restore does not compile the same profile again. */
char *ch_seccomp_cache_path (const struct ch_ctx *ctx); /* ROOT/cache/seccomp */
/* The cgroup a new chute gets (CGROUP_PARENT/NAME, written to config.json);
 * a running chute's is read from its OCI state (ch_container_cgroup_path). */
char *ch_chute_lock_path (const struct ch_ctx *ctx, const char *name); /* RUN_ROOT/chutes/NAME.lock */
char *ch_chute_cgroup_path (const struct ch_ctx *ctx, const char *name);
/* Does chute NAME still exist (its RUN_ROOT/chutes/NAME)? CTX is a
 * `const struct ch_ctx *`: the callback the network reapers take. */
bool ch_chute_alive (const char *name, void *ctx);
/* Has pod POD a service record / a service's run directory? */
bool ch_pod_recorded (const struct ch_ctx *ctx, const char *pod);
bool ch_pod_alive (const struct ch_ctx *ctx, const char *pod);

/* rootfs.c: may a chute write into host directory PATH (absolute, resolved)?
 * It must be a directory, and unless READ_ONLY, behind a root-owned
 * directory closed to group and others, every directory above that one
 * root-owned and not writable by others (or sticky), no symlink on the way. */
int ch_rootfs_check (const char *path, bool read_only, ch_error_t *err);

int ch_chute_load (const struct ch_ctx *ctx, const char *name, struct ch_chute *c, ch_error_t *err);
int ch_chute_save (const struct ch_ctx *ctx, const struct ch_chute *c, ch_error_t *err);
/* Sorted NULL-terminated list of chute names. */
int ch_chute_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err);

/* The global lock (RUN_ROOT/lock): name allocation, create/remove. */
int ch_lock_global (const struct ch_ctx *ctx, int *fd, ch_error_t *err);
/* Per-chute lock (RUN_ROOT/chutes/NAME.lock): start/stop/rm of one chute. */
int ch_lock_chute (const struct ch_ctx *ctx, const char *name, int *fd, ch_error_t *err);

#endif
