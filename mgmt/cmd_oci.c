/* `chuted oci ...`: the OCI runtime CLI, runc-style (spec, create, start,
 * state, kill, delete, run, exec, list). State lives in RUN_ROOT/oci/ID. */
#include "mgmt/cli.h"
#include "runtime/runtime.h"

#include "common/file.h"
#include "common/sock.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
state_dir (struct ch_ctx *ctx, const char *id)
{
  return xasprintf ("%s/oci/%s", ctx->run_root, id);
}

static int
check_id (const char *id, ch_error_t *err)
{
  const char *p;
  if (*id == '\0' || strlen (id) > 128 || id[0] == '.')
    return ch_error (err, 0, "invalid container id `%s`", id);
  for (p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr ("_.-+", *p)))
      return ch_error (err, 0, "invalid container id `%s`", id);
  return 0;
}

/* The positional ID; errors name the subcommand. */
static int
one_id (int argc, char **argv, const char *cmd, const char **id, ch_error_t *err)
{
  if (optind >= argc)
    return ch_error (err, 0, "oci %s: missing container id", cmd);
  *id = argv[optind++];
  return check_id (*id, err);
}

static char *
abs_path (const char *p)
{
  char *r = realpath (p, NULL);
  return r ? r : xstrdup (p);
}

static int
parse_fd (const char *s, int *fd, ch_error_t *err)
{
  int64_t v;
  if (ch_parse_int (s, 0, 1 << 20, &v, err) < 0)
    return -1;
  *fd = (int) v;
  return 0;
}

static int
connect_console (const char *path, int *fd, ch_error_t *err)
{
  if (ch_unix_connect (path, SOCK_STREAM, fd, err) < 0)
    return ch_error_prefix (err, "console socket");
  return 0;
}

static int
write_pid_file (const char *path, pid_t pid, ch_error_t *err)
{
  cleanup_free char *v = xasprintf ("%d", pid);
  return ch_write_file_atomic (path, v, strlen (v), 0644, err);
}

static int
cmd_spec (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "rootless", no_argument, 0, 'r' }, { "bundle", required_argument, 0, 'b' }, { 0 } };
  const char *bundle = ".";
  bool rootless = false;
  cleanup_free char *path = NULL;
  cleanup_json json_t *spec = NULL;
  struct stat st;
  int c;

  while ((c = getopt_long (argc, argv, "+b:", opts, NULL)) != -1)
    if (c == 'r')
      rootless = true;
    else if (c == 'b')
      bundle = optarg;
    else
      return ch_error (err, 0, "usage: chuted oci spec [--rootless] [--bundle DIR]");
  path = xasprintf ("%s/config.json", bundle);
  if (stat (path, &st) == 0)
    return ch_error (err, EEXIST, "`%s` exists: remove it first", path);
  spec = ch_spec_default (rootless);
  if (ch_json_save_file (path, spec, 0644, err) < 0)
    return -1;
  return 0;
}

struct create_args
{
  const char *bundle, *pid_file, *console_socket, *cgroup_parent;
  int err_fd, console_fd;
  bool clone_parent, detach;
};

static int
parse_create (struct ch_ctx *ctx, int argc, char **argv, struct create_args *a, bool run, ch_error_t *err)
{
  enum
  {
    O_BUNDLE = 'b',
    O_PIDFILE = 0x100,
    O_CONSOLE,
    O_CLONE_PARENT,
    O_ERR_FD,
    O_CONSOLE_FD,
    O_CGROUP_PARENT,
    O_DETACH,
    O_NO_PIVOT,
  };
  static const struct option opts[] = {
    { "bundle", required_argument, 0, O_BUNDLE },          { "pid-file", required_argument, 0, O_PIDFILE },
    { "console-socket", required_argument, 0, O_CONSOLE }, { "clone-parent", no_argument, 0, O_CLONE_PARENT },
    { "err-fd", required_argument, 0, O_ERR_FD },          { "console-socket-fd", required_argument, 0, O_CONSOLE_FD },
    { "cgroup-parent", required_argument, 0, O_CGROUP_PARENT }, { "detach", no_argument, 0, O_DETACH },
    { "no-pivot", no_argument, 0, O_NO_PIVOT },            { 0 },
  };
  int c;

  *a = (struct create_args) { .bundle = ".", .err_fd = -1, .console_fd = -1, .cgroup_parent = ctx->cgroup_parent };
  while ((c = getopt_long (argc, argv, run ? "+b:d" : "+b:", opts, NULL)) != -1)
    switch (c)
      {
      case O_BUNDLE:
        a->bundle = optarg;
        break;
      case O_PIDFILE:
        a->pid_file = optarg;
        break;
      case O_CONSOLE:
        a->console_socket = optarg;
        break;
      case O_CLONE_PARENT:
        a->clone_parent = true;
        break;
      case O_ERR_FD:
        if (parse_fd (optarg, &a->err_fd, err) < 0)
          return ch_error_prefix (err, "--err-fd");
        break;
      case O_CONSOLE_FD:
        if (parse_fd (optarg, &a->console_fd, err) < 0)
          return ch_error_prefix (err, "--console-socket-fd");
        break;
      case O_CGROUP_PARENT:
        a->cgroup_parent = optarg;
        break;
      case 'd':
      case O_DETACH:
        a->detach = true;
        break;
      case O_NO_PIVOT:
        return ch_error (err, ENOTSUP, "--no-pivot is not supported: chuted always uses pivot_root");
      default:
        return ch_error (err, 0, "usage: chuted oci %s [--bundle DIR] [--pid-file F] [--console-socket PATH] ID",
                         run ? "run" : "create");
      }
  return 0;
}

/* Shared by create and run: returns the init pid. ERR_FD: where the init
 * reports errors; EXIT_CODE gets the init's code for a setup error. */
static int
do_create (struct ch_ctx *ctx, const char *id, struct create_args *a, int err_fd, pid_t *pid, int *exit_code,
           ch_error_t *err)
{
  cleanup_free char *sd = state_dir (ctx, id);
  cleanup_free char *bundle = abs_path (a->bundle);
  cleanup_close int console = -1;
  struct ch_create_opts o = {
    .id = id, .bundle = bundle, .state_dir = sd, .cgroup_parent = a->cgroup_parent,
    .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = a->console_fd,
    .err_fd = err_fd, .clone_parent = a->clone_parent, .init_exit_code = exit_code,
  };

  if (a->console_socket)
    {
      if (connect_console (a->console_socket, &console, err) < 0)
        return -1;
      o.console_socket_fd = console;
    }
  if (ch_container_create (&o, pid, err) < 0)
    return -1;
  if (a->pid_file && write_pid_file (a->pid_file, *pid, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      ch_container_delete (sd, true, &e);
      return -1;
    }
  return 0;
}

static int
cmd_create (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  struct create_args a;
  const char *id;
  pid_t pid;
  int code = 1;

  if (parse_create (ctx, argc, argv, &a, false, err) < 0 || one_id (argc, argv, "create", &id, err) < 0)
    return -1;
  if (do_create (ctx, id, &a, a.err_fd, &pid, &code, err) < 0)
    {
      ctx->fail_code = code;
      return -1;
    }
  return 0;
}

static int
cmd_start (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  const char *id;

  optind = 1;
  if (one_id (argc, argv, "start", &id, err) < 0)
    return -1;
  sd = state_dir (ctx, id);
  return ch_container_start (sd, err) < 0 ? -1 : 0;
}

static int
cmd_state (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  cleanup_free char *out = NULL;
  cleanup_json json_t *st = NULL;
  const char *id;

  optind = 1;
  if (one_id (argc, argv, "state", &id, err) < 0)
    return -1;
  sd = state_dir (ctx, id);
  if (ch_container_state (sd, &st, err) < 0)
    return -1;
  out = json_dumps (st, JSON_INDENT (2));
  printf ("%s\n", out);
  return 0;
}

static int
parse_signal (const char *s, int *sig, ch_error_t *err)
{
  static const struct
  {
    const char *n;
    int s;
  } names[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
                { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "ALRM", SIGALRM },
                { "PIPE", SIGPIPE }, { "WINCH", SIGWINCH } };
  const char *n = ch_has_prefix (s, "SIG") ? s + 3 : s;
  int64_t v;
  size_t i;

  for (i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (strcasecmp (names[i].n, n) == 0)
      {
        *sig = names[i].s;
        return 0;
      }
  if (ch_parse_int (s, 1, 64, &v, err) < 0)
    return ch_error (err, 0, "unknown signal `%s`", s);
  *sig = (int) v;
  return 0;
}

static int
cmd_kill (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "all", no_argument, 0, 'a' }, { 0 } };
  cleanup_free char *sd = NULL;
  const char *id;
  bool all = false;
  int c, sig = SIGTERM;

  while ((c = getopt_long (argc, argv, "+a", opts, NULL)) != -1)
    if (c == 'a')
      all = true;
    else
      return ch_error (err, 0, "usage: chuted oci kill [--all] ID [SIGNAL]");
  if (one_id (argc, argv, "kill", &id, err) < 0)
    return -1;
  if (optind < argc && parse_signal (argv[optind++], &sig, err) < 0)
    return -1;
  while (optind < argc && strcmp (argv[optind], "--all") == 0 && ++optind)
    all = true;
  sd = state_dir (ctx, id);
  return ch_container_kill (sd, sig, all, err) < 0 ? -1 : 0;
}

static int
cmd_delete (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0 } };
  cleanup_free char *sd = NULL;
  const char *id;
  bool force = false;
  int c;

  while ((c = getopt_long (argc, argv, "+f", opts, NULL)) != -1)
    if (c == 'f')
      force = true;
    else
      return ch_error (err, 0, "usage: chuted oci delete [--force] ID");
  if (one_id (argc, argv, "delete", &id, err) < 0)
    return -1;
  sd = state_dir (ctx, id);
  return ch_container_delete (sd, force, err) < 0 ? -1 : 0;
}

/* Wait for the init, forwarding SIGINT/SIGTERM/SIGHUP to it (a signalfd
 * and a pidfd: no handler, no global). Returns its wait status. */
static int
wait_forwarding (pid_t pid, int *ws, ch_error_t *err)
{
  cleanup_close int sfd = -1, pfd = -1;
  sigset_t set, old;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  sigprocmask (SIG_BLOCK, &set, &old);
  sfd = signalfd (-1, &set, SFD_CLOEXEC);
  pfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (sfd < 0 || pfd < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return ch_error (err, errno, "wait for the container");
    }
  for (;;)
    {
      struct pollfd p[2] = { { pfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof (si)) == sizeof (si))
            kill (pid, (int) si.ssi_signo);
        }
      if (p[0].revents & POLLIN)
        break;
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  while (waitpid (pid, ws, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  return 0;
}

static int
cmd_run (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *sd = NULL;
  struct create_args a;
  const char *id;
  int p[2], code = 1, ws, ret;
  pid_t pid;
  char buf[4096];
  ssize_t n, len = 0;
  cleanup_error ch_error_t e2 = NULL;
  bool started;

  if (parse_create (ctx, argc, argv, &a, true, err) < 0 || one_id (argc, argv, "run", &id, err) < 0)
    return -1;
  sd = state_dir (ctx, id);
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  ret = do_create (ctx, id, &a, a.err_fd >= 0 ? a.err_fd : p[1], &pid, &code, err);
  close (p[1]);
  if (ret < 0)
    {
      close (p[0]);
      ctx->fail_code = code;
      return -1;
    }
  started = ch_container_start (sd, err) == 0;
  /* EOF: the exec succeeded (the pipe is CLOEXEC in the init) */
  while ((n = read (p[0], buf + len, sizeof (buf) - 1 - (size_t) len)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      len += n;
  close (p[0]);
  if (!started && len == 0)
    {
      ch_container_delete (sd, true, &e2);
      return -1;
    }
  if (len > 0)
    {
      ch_error_release (err);
      char *msg;
      buf[len] = '\0';
      if (buf[len - 1] == '\n')
        buf[len - 1] = '\0';
      code = (int) strtol (buf, &msg, 10);
      while (*msg == ' ')
        msg++;
      ch_error (err, 0, "%s", msg);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      ch_container_delete (sd, true, &e2);
      ctx->fail_code = code;
      return -1;
    }
  if (a.detach)
    return 0;
  if (wait_forwarding (pid, &ws, err) < 0)
    return -1;
  ch_container_delete (sd, true, &e2);
  return WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
}

static int
cmd_exec (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = {
    { "tty", no_argument, 0, 't' },   { "cwd", required_argument, 0, 'c' },    { "env", required_argument, 0, 'e' },
    { "user", required_argument, 0, 'u' }, { "detach", no_argument, 0, 'd' },
    { "console-socket", required_argument, 0, 's' }, { 0 },
  };
  cleanup_free char *sd = NULL;
  cleanup_strv char **env = xzalloc (sizeof (char *));
  cleanup_close int console = -1;
  struct ch_exec_opts o = { .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = -1 };
  const char *id;
  int c, status = 1;

  while ((c = getopt_long (argc, argv, "+tc:e:u:d", opts, NULL)) != -1)
    switch (c)
      {
      case 't':
        o.tty = true;
        break;
      case 'c':
        o.cwd = optarg;
        break;
      case 'e':
        if (strchr (optarg, '=') == NULL)
          return ch_error (err, 0, "--env `%s`: want KEY=VALUE", optarg);
        ch_strv_append (&env, optarg);
        break;
      case 'u':
        o.user = optarg;
        break;
      case 'd':
        o.detach = true;
        break;
      case 's':
        if (connect_console (optarg, &console, err) < 0)
          return -1;
        o.console_socket_fd = console;
        break;
      default:
        return ch_error (err, 0, "usage: chuted oci exec [--tty] [--cwd DIR] [--env K=V] [--user U] ID -- CMD...");
      }
  if (one_id (argc, argv, "exec", &id, err) < 0)
    return -1;
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (optind >= argc)
    return ch_error (err, 0, "oci exec: missing command");
  if (o.cwd && o.cwd[0] != '/')
    return ch_error (err, 0, "--cwd `%s`: must be an absolute path", o.cwd);
  o.argv = argv + optind;
  o.env = env;
  sd = state_dir (ctx, id);
  if (ch_container_exec (sd, &o, &status, err) < 0)
    {
      ctx->fail_code = status;
      return -1;
    }
  return status;
}

static int
cmd_list (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/oci", ctx->run_root);
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  printf ("%-24s %-8s %-8s %s\n", "ID", "PID", "STATUS", "BUNDLE");
  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", dir);
  while ((de = readdir (d)))
    {
      cleanup_free char *sd = NULL;
      cleanup_json json_t *st = NULL;
      cleanup_error ch_error_t e = NULL;
      if (de->d_name[0] == '.')
        continue;
      sd = xasprintf ("%s/%s", dir, de->d_name);
      if (ch_container_state (sd, &st, &e) < 0)
        continue;
      printf ("%-24s %-8lld %-8s %s\n", de->d_name, (long long) json_integer_value (json_object_get (st, "pid")),
              json_string_value (json_object_get (st, "status")), json_string_value (json_object_get (st, "bundle")));
    }
  return 0;
}

int
ch_cmd_oci (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct
  {
    const char *name;
    int (*fn) (struct ch_ctx *, int, char **, ch_error_t *);
    bool enters; /* runs a process into a container: needs the sealed copy */
  } sub[] = {
    { "spec", cmd_spec, false },     { "create", cmd_create, true }, { "start", cmd_start, false },
    { "state", cmd_state, false },   { "kill", cmd_kill, false },    { "delete", cmd_delete, false },
    { "run", cmd_run, true },        { "exec", cmd_exec, true },     { "list", cmd_list, false },
    { "ps", cmd_list, false },
  };
  size_t i;

  if (argc < 2)
    return ch_error (err, 0, "usage: chuted oci spec|create|start|state|kill|delete|run|exec|list ...");
  for (i = 0; i < sizeof (sub) / sizeof (sub[0]); i++)
    if (strcmp (argv[1], sub[i].name) == 0)
      {
        /* CVE-2019-5736: re-exec from a sealed memfd before anything else
         * (fds we open, sockets we connect, would not survive it) */
        if (sub[i].enters && ch_runtime_reexec_sealed (NULL, err) < 0)
          return -1;
        optind = 1;
        opterr = 0;
        return sub[i].fn (ctx, argc - 1, argv + 1, err);
      }
  return ch_error (err, 0, "oci: unknown command `%s`", argv[1]);
}
