/* The OCI runtime: what mgmt/ and chuted-monitor call. Takes a bundle
 * (rootfs + config.json) and a state dir; knows nothing of images or networks. */
#ifndef CH_RUNTIME_H
#define CH_RUNTIME_H

#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct ch_spec; /* parsed config.json (runtime/spec.h) */

/* Parse BUNDLE/config.json; errors name the key and why
 * ("config.json: process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`"). */
int ch_spec_load_bundle (const char *bundle, struct ch_spec **out, ch_error_t *err);
int ch_spec_from_json (json_t *config, const char *bundle, struct ch_spec **out, ch_error_t *err);
void ch_spec_free (struct ch_spec *spec);
/* What `chuted oci spec` writes: runc's default, with Docker's 14 caps and the
 * default seccomp profile inlined. */
json_t *ch_spec_default (bool rootless);

/* Where the runtime's warnings go (MSG without a prefix, one line). */
typedef void (*ch_warn_fn) (void *data, const char *msg);
/* MSG to WARN, or to stderr as "chuted: warning: MSG" when WARN is NULL. */
void ch_warn_say (ch_warn_fn warn, void *data, const char *msg);

struct ch_create_opts
{
  const char *id;
  const char *bundle;        /* absolute path */
  const char *state_dir;     /* absolute; created; holds state.json, exec.fifo */
  const char *cgroup_parent; /* used when config.json has no cgroupsPath: PARENT/ID; default "chuted" */
  int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null */
  int console_socket_fd;     /* >= 0 with process.terminal: pty master is sent here (SCM_RIGHTS, runc protocol) */
  int err_fd;                /* >= 0: setup/exec errors of the init are written here as one line
                                "CODE MESSAGE\n" (CODE = the exit code to report: 127 not found,
                                126 not executable, 1 otherwise); CLOEXEC in the init so a
                                successful exec closes it. -1: setup errors still come back
                                as this call's error (over the sync socket); an exec failure
                                after start is then only the init's exit code */
  bool clone_parent;         /* CLONE_PARENT: the init becomes our parent's child (the monitor) */
  const char *seccomp_cache; /* compiled seccomp filters kept there; NULL: beside STATE_DIR (.seccomp) */
  int *init_exit_code;       /* optional out: the CODE of an init setup error (127/126/1) */
  ch_warn_fn warn;           /* what is skipped rather than refused (a capability the host cannot
                                grant); NULL: "chuted: warning: MSG" on stderr */
  void *warn_data;
};

/* Create the container: cgroup, namespaces, rootfs, security all applied; the
 * init is left blocked on STATE_DIR/exec.fifo; state.json says "created".
 * On any failure nothing is left: no cgroup, mount, state dir, process. */
int ch_container_create (const struct ch_create_opts *o, pid_t *init_pid, ch_error_t *err);
/* Release the init (open exec.fifo for reading). */
int ch_container_start (const char *state_dir, ch_error_t *err);
/* OCI state (ociVersion, id, status created|running|stopped, pid, bundle,
 * annotations) with status computed live (pid alive, same start time). */
int ch_container_state (const char *state_dir, json_t **state, ch_error_t *err);
int ch_container_kill (const char *state_dir, int sig, bool all, ch_error_t *err);
/* The cgroup the container was created in (relative, as config.json's
 * cgroupsPath), from its state: what `update` must change. */
int ch_container_cgroup_path (const char *state_dir, char **path, ch_error_t *err);
/* Remove the cgroup and the state dir; FORCE kills a live container first. */
int ch_container_delete (const char *state_dir, bool force, ch_error_t *err);

/* runtime-spec features.json: what this runtime accepts (runc features). */
json_t *ch_runtime_features (void);

/* control.c: the container's cgroup (created or running; errors otherwise).
 * Freeze or thaw every process (runc pause/resume). */
int ch_container_pause (const char *state_dir, bool pause, ch_error_t *err);
int ch_container_paused (const char *state_dir, bool *paused, ch_error_t *err);
/* Apply a runtime-spec linux.resources object; fields it leaves out stay. */
int ch_container_update (const char *state_dir, json_t *resources, ch_error_t *err);
/* Every pid in the container's cgroup (malloc'd array). */
int ch_container_pids (const char *state_dir, pid_t **pids, size_t *n, ch_error_t *err);

/* CVE-2019-5736: processes that enter a container must never run from the
 * host binary as a writable file. ch_container_create and ch_container_exec
 * refuse to run otherwise; a main() that calls them calls this first, before
 * opening fds or sockets (ARGV: its own, or NULL for /proc/self/cmdline): it
 * re-executes the program sealed (returns 0 at once when already sealed; does
 * not return on success). Sealed means through a private read-only overlayfs
 * of the binary's directory, with SPARE_DIR (a directory of ours, the run
 * root: overlayfs wants two lower layers to be read-only) as its second
 * layer: no copy, the binary's pages shared; where that cannot be had (no
 * overlayfs, no SPARE_DIR, layers that overlap), a sealed memfd copy. */
int ch_runtime_reexec_sealed (char **argv, const char *spare_dir, ch_error_t *err);
/* The same for another program: run PATH sealed. */
int ch_runtime_exec_sealed (const char *path, char **argv, const char *spare_dir, ch_error_t *err);

struct ch_exec_opts
{
  char **argv;        /* NULL with PROCESS: its args */
  char **env;         /* added to / overriding the container's process.env */
  const char *cwd;    /* NULL: the container's */
  const char *user;   /* "uid[:gid]" or NULL for the container's */
  json_t *process;    /* runc's exec --process: a runtime-spec `process` object that replaces
                         the container's (args, env, cwd, user and additionalGids, caps,
                         rlimits, noNewPrivileges, terminal); the fields above still override */
  bool tty;
  int stdin_fd, stdout_fd, stderr_fd;
  int console_socket_fd;
  int preserve_fds;   /* fds 3 .. 3+N-1 stay open in the process (runc's --preserve-fds) */
  bool detach;
  const char *pid_file; /* optional: the process's pid is written there once it exec'd */
  ch_warn_fn warn;      /* as in ch_create_opts */
  void *warn_data;
};
/* Run a process inside a running container (setns into its namespaces,
 * join its cgroup, same caps/seccomp/no_new_privs/apparmor-less profile as
 * the init). Without detach, waits and stores its exit code in *STATUS
 * (128+sig when killed). When the process cannot be started (e.g. exec
 * "/nope") returns -1 and *STATUS holds the code to exit with (127/126/1). */
int ch_container_exec (const char *state_dir, const struct ch_exec_opts *o, int *status, ch_error_t *err);

#endif
