/* Internal to runtime/: the pieces the container init (and `exec`) run
 * inside the new namespaces, between clone and execve. */
#ifndef CH_INIT_H
#define CH_INIT_H

#include "runtime/runtime.h"
#include "runtime/passwd.h"
#include "runtime/report.h"
#include "runtime/spec.h"

#include <seccomp.h>

/* What the cloned init needs besides the spec; every fd is inherited. */
struct ch_init_args
{
  const struct ch_spec *spec;
  int sync_fd;     /* SOCK_SEQPACKET to the creating process */
  int fifo_fd;     /* O_PATH of STATE_DIR/exec.fifo */
  int err_fd;      /* where the "CODE MESSAGE" line goes */
  int console_fd;  /* unix socket for the pty master, or -1 */
  int stdio[3];    /* -1: /dev/null */
  bool userns_new; /* created by our clone: ids come from the parent's maps */
  struct ch_cgroup_join *cg_join; /* the v1 hierarchies to join (see ch_cgroup_join_self) */
};

/* Never returns: execs the container process or writes the error and _exits. */
__attribute__ ((noreturn)) void ch_init_main (const struct ch_init_args *a);

/* Exit code and error line for the init/exec error channel. */
int ch_exec_error_code (int errnum);

/* The parent finishes what it does for the init's cgroup (oom_score_adj;
 * the v2 hierarchy where clone3 could not place the init in it, a
 * cgroup.procs write that may wait ~10 ms for an RCU grace period) while
 * the init mounts the rootfs; the init passes this gate (the parent's 'C',
 * then its own cgroup namespace) only before what needs the cgroup: a
 * cgroup mount, or the end of the rootfs setup. */
struct ch_cgroup_gate
{
  int sync_fd;
  bool unshare_ns; /* a new cgroup namespace is wanted */
  bool passed;
  char *v2_path;   /* our cgroup on a v2 host, read before the namespace hides it */
};
int ch_cgroup_gate_pass (struct ch_cgroup_gate *g, ch_error_t *err);

/* rootfs.c: "/" propagation and every mount (ends in the rootfs), then
 * pivot_root, then masked/readonly paths. */
int ch_rootfs_prepare (const struct ch_spec *s, bool userns, struct ch_cgroup_gate *gate, ch_error_t *err);
int ch_rootfs_pivot (const struct ch_spec *s, ch_error_t *err);
/* No mount namespace of our own: the rootfs and its mounts are made in the
 * runtime's (host's) namespace, where pivot_root would move the host's root. */
static inline bool
ch_spec_host_mounts (const struct ch_spec *s)
{
  return !s->ns[CH_NS_MOUNT].enabled;
}
int ch_rootfs_finish (const struct ch_spec *s, bool userns, ch_error_t *err);
/* rootfs_hostns.c: a config without a mount namespace has its rootfs bind
 * and mounts in ours: count the mounts at PATH (to know whether the init
 * made its bind), and detach the bind with all it holds. */
int ch_mounts_at (const char *path, ch_error_t *err);
int ch_rootfs_host_umount (const char *root, ch_error_t *err);
/* rootfs_copyup.c: copy the tree of LOWER (a directory fd) into UPPER. */
int ch_rootfs_copyup (int lower, int upper, ch_error_t *err);
/* rootfs_dev.c */
int ch_rootfs_devices (const struct ch_spec *s, int rootfd, bool userns, ch_error_t *err);
/* rootfs_cgroup.c: a "cgroup" mount at TARGETFD (v1 hierarchies or v2). */
int ch_rootfs_mount_cgroup (int rootfd, const struct ch_spec_mount *m, bool userns, const struct ch_cgroup_gate *gate,
                            ch_error_t *err);
/* rootfs_path.c: mkdir -p PATH in root following (dangling) symlinks
 * inside it; returns an O_PATH fd of the directory. */
int ch_mkdir_in_root_follow (int rootfd, const char *path, mode_t mode, ch_error_t *err);
/* Remount with FLAGS, keeping the locked nosuid/nodev/noexec/... flags. */
int ch_remount (int fd, unsigned long flags, ch_error_t *err);

int ch_sysctl_apply (const struct ch_spec *s, ch_error_t *err);
/* Refuse a hostname or sysctl that would land in a namespace of the host
 * (not listed, or joined by a path that is our own): checked before create. */
int ch_ns_settings_check (const struct ch_spec *s, ch_error_t *err);
/* process.c: refuse an AppArmor profile or SELinux process label this host
 * cannot apply (its LSM is not enabled) and a mount label where SELinux is
 * on; without SELinux a mount label is skipped with a warning to WARN. */
int ch_labels_check (const struct ch_spec *s, ch_warn_fn warn, void *data, ch_error_t *err);

/* caps_grant.c, before the clone: strips from C what the kernel cannot give
 * (UNKNOWN names, caps above LAST_CAP or outside GRANTABLE, sets capset would
 * refuse) and returns the warning naming each one skipped and why, or NULL. */
char *ch_caps_restrict (struct ch_caps *c, char *const *unknown, int last_cap, uint64_t grantable);
/* The same for S's process against this host and S's user namespace; the
 * warning goes to WARN, or to stderr when it is NULL. */
void ch_caps_check (struct ch_spec *s, ch_warn_fn warn, void *data);

/* caps.c, in the init */
int ch_caps_drop_bounding (const struct ch_caps *c, ch_error_t *err);
int ch_caps_apply (const struct ch_caps *c, ch_error_t *err);

/* seccomp.c */
int ch_seccomp_build (const struct ch_seccomp *sc, scmp_filter_ctx *out, ch_error_t *err);
int ch_seccomp_load (const struct ch_seccomp *sc, ch_error_t *err);
/* The spec's filter: its precompiled BPF when there is one. */
int ch_spec_seccomp_load (const struct ch_spec *s, ch_error_t *err);
/* seccomp_bpf.c: the filter compiled to BPF, cached in CACHE_DIR by a hash
 * of PROFILE (linux.seccomp as JSON) when both are non-NULL. */
int ch_seccomp_compile (const struct ch_seccomp *sc, json_t *profile, const char *cache_dir, struct ch_bpf *out,
                        ch_error_t *err);
int ch_seccomp_load_bpf (const struct ch_bpf *b, ch_error_t *err);
void ch_bpf_clear (struct ch_bpf *b);
/* STATE_DIR/../.seccomp: shared by the containers of one state root. */
char *ch_seccomp_cache_dir (const char *state_dir);

/* The credentials a process gets: resolved from spec numbers or a "user[:group]" string. */
struct ch_creds
{
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  char *home;
};
int ch_creds_resolve (const struct ch_spec *s, const char *user, struct ch_creds *c, ch_error_t *err);
void ch_creds_clear (struct ch_creds *c);

/* process.c: shared tail of init and exec, after the rootfs is in place:
 * rlimits, umask, cwd check, fds CLOEXEC, seccomp when no_new_privs is off
 * (it needs CAP_SYS_ADMIN then), user, caps, no_new_privs, PATH lookup. Fills
 * *PATH with the program to execve. */
struct ch_process
{
  char **argv;
  char **env;
  const char *cwd;
  const char *user; /* NULL: the spec's uid/gid */
};
int ch_process_prepare (const struct ch_spec *s, struct ch_process *p, char **path, int *code, ch_error_t *err);
/* Mark every fd from FROM up close-on-exec (close_range, else /proc/self/fd). */
int ch_fds_cloexec (int from, ch_error_t *err);
/* Reset signal dispositions and mask inherited from the CLI. */
void ch_signals_reset (void);

/* tty.c: open a pty in the container's devpts, make it our controlling
 * terminal and stdio, send the master over CONSOLE_FD (SCM_RIGHTS). */
int ch_tty_setup (int console_fd, ch_error_t *err);
int ch_send_fd (int sock, int fd, ch_error_t *err);
int ch_recv_fd (int sock, int *fd, ch_error_t *err);

/* hooks.c: run the hooks of KIND in order, STATE (ch_hook_state) on their
 * stdin, in CWD (NULL: ours). Poststart and poststop failures are warnings
 * on stderr. */
int ch_hooks_run (const struct ch_hooks *hooks, enum ch_hook_kind kind, const char *state, const char *cwd,
                  ch_error_t *err);
char *ch_hook_state (const char *id, const char *status, pid_t pid, const char *bundle, json_t *annotations);
/* Hooks the create must stop for: the init waits for the parent's
 * prestart/createRuntime before pivot_root, and gets the state for its own. */
static inline bool
ch_hooks_sync_needed (const struct ch_spec *s)
{
  return s->hooks.n[CH_HOOK_PRESTART] || s->hooks.n[CH_HOOK_CREATE_RUNTIME] || s->hooks.n[CH_HOOK_CREATE_CONTAINER]
         || s->hooks.n[CH_HOOK_START_CONTAINER];
}

/* selfexe.c (CVE-2019-5736) */
bool ch_self_is_sealed (void);

/* state.c: STATE_DIR/state.json and the live status. */
int ch_proc_start_time (pid_t pid, unsigned long long *out);
enum ch_status
{
  CH_STATUS_CREATED,
  CH_STATUS_RUNNING,
  CH_STATUS_STOPPED
};
struct ch_state
{
  json_t *json; /* state.json as saved */
  pid_t pid;
  unsigned long long start_time;
  const char *cgroup_path, *bundle, *id;
  /* the cgroup was made for this container (else: an existing empty one
   * that config.json named, where only the init is ours) */
  bool cgroup_owned;
  enum ch_status status;
};
int ch_state_load (const char *state_dir, struct ch_state *st, ch_error_t *err);
void ch_state_clear (struct ch_state *st);
/* A pidfd of the init if it is still the same process, else -1 (no error). */
int ch_state_pidfd (const struct ch_state *st);

#endif
