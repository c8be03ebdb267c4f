/* chuted-runtime's command line, runc-style: global options, the command
 * table, and what the commands share (state dir, id check, console socket,
 * pid file). State lives in ROOT/ID (--root, runc's meaning) or
 * RUN_ROOT/oci/ID. The commands are in
 * runtime/oci_cli_<group>.c. */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/file.h"
#include "common/globals.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
usage_error (void (*usage) (FILE *), int *exit_code, const char *fmt, const char *arg)
{
  fprintf (stderr, "chuted-runtime: ");
  fprintf (stderr, fmt, arg);
  fputc ('\n', stderr);
  usage (stderr);
  *exit_code = 2;
  return -1;
}

/* runc's global options as podman, conmon and containerd pass them
 * (--opt VALUE and --opt=VALUE), plus chuted's --run-root/--cgroup-parent,
 * which (with their env twins and defaults) common/globals.c checks as for
 * every chuted program. --root is runc's here: the state root, not chuted's
 * /var/lib/chuted (chuted passes its siblings --run-root only). */
int
ch_oci_globals (int argc, char **argv, struct ch_oci_ctx *ctx, void (*usage) (FILE *), int *exit_code)
{
  enum
  {
    O_ROOT = 0x100,
    O_RUN_ROOT,
    O_CGROUP_PARENT,
    O_LOG,
    O_LOG_FORMAT,
    O_SYSTEMD_CGROUP,
    O_DEBUG,
    O_ROOTLESS,
    O_VERSION,
    O_HELP,
  };
  static const struct option opts[] = {
    { "root", required_argument, 0, O_ROOT },
    { "run-root", required_argument, 0, O_RUN_ROOT },
    { "cgroup-parent", required_argument, 0, O_CGROUP_PARENT },
    { "log", required_argument, 0, O_LOG },
    { "log-format", required_argument, 0, O_LOG_FORMAT },
    { "systemd-cgroup", no_argument, 0, O_SYSTEMD_CGROUP },
    { "debug", no_argument, 0, O_DEBUG },
    { "rootless", required_argument, 0, O_ROOTLESS },
    { "version", no_argument, 0, O_VERSION },
    { "help", no_argument, 0, O_HELP },
    { 0 },
  };
  int c;

  cleanup_strv char **shared = xzalloc (sizeof (char *));
  cleanup_error ch_error_t e = NULL;
  struct ch_globals g;
  const char *run_root = NULL, *cgroup_parent = NULL;

  *ctx = (struct ch_oci_ctx) { .fail_code = 1 };
  ch_strv_append (&shared, argv[0]);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+hv", opts, NULL)) != -1)
    switch (c)
      {
      case O_ROOT:
        ctx->root = optarg;
        break;
      case O_RUN_ROOT:
      case O_CGROUP_PARENT:
        {
          cleanup_free char *o = xasprintf ("--%s=%s", c == O_RUN_ROOT ? "run-root" : "cgroup-parent", optarg);
          ch_strv_append (&shared, o);
          *(c == O_RUN_ROOT ? &run_root : &cgroup_parent) = optarg;
        }
        break;
      case O_LOG:
        ctx->log_path = optarg;
        break;
      case O_LOG_FORMAT:
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "text") != 0)
          return usage_error (usage, exit_code, "--log-format `%s`: want json or text", optarg);
        ctx->log_json = strcmp (optarg, "json") == 0;
        break;
      case O_SYSTEMD_CGROUP:
        ctx->systemd_cgroup = true;
        break;
      case O_DEBUG:
        break; /* errors are all chuted-runtime prints */
      case O_ROOTLESS:
        /* runc's auto/true/false: chuted-runtime needs no rootless mode to
         * learn it lacks privileges; "true" is a promise it cannot keep */
        if (strcmp (optarg, "true") == 0)
          return usage_error (usage, exit_code, "--rootless %s: not supported (run as root)", optarg);
        if (strcmp (optarg, "false") != 0 && strcmp (optarg, "auto") != 0)
          return usage_error (usage, exit_code, "--rootless `%s`: want true, false or auto", optarg);
        break;
      case 'v':
      case O_VERSION:
        printf ("chuted version %s\nspec: 1.0.2\n", CH_VERSION);
        *exit_code = 0;
        return -1;
      case 'h':
      case O_HELP:
        usage (stdout);
        *exit_code = 0;
        return -1;
      default:
        return usage_error (usage, exit_code, "unknown global option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    {
      usage (stderr);
      *exit_code = 2;
      return -1;
    }
  if (ctx->root && ctx->root[0] != '/')
    return usage_error (usage, exit_code, "--root `%s`: not an absolute path", ctx->root);
  /* chuted's own options, env twins and defaults: common/globals.c's rules */
  if (ch_globals_parse ((int) ch_strv_len (shared), shared, &g, &e) < 0)
    return usage_error (usage, exit_code, "%s", e->msg);
  /* g's values from the command line point into SHARED: take argv's own */
  ctx->run_root = run_root ? run_root : g.run_root;
  ctx->cgroup_parent = cgroup_parent ? cgroup_parent : g.cgroup_parent;
  return optind;
}

/* runc's --log: one line per record, as logrus writes it; conmon and podman
 * read it back (json: a single {"level","msg","time"} object per line). */
void
ch_oci_log (const struct ch_oci_ctx *ctx, const char *level, const char *msg)
{
  cleanup_free char *now = NULL;
  cleanup_free char *line = NULL;
  cleanup_json json_t *j = NULL;
  cleanup_close int fd = -1;
  struct timespec ts;

  if (ctx->log_path == NULL)
    return;
  fd = open (ctx->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return; /* the error still goes to stderr */
  clock_gettime (CLOCK_REALTIME, &ts);
  now = ch_rfc3339 (ts.tv_sec, ts.tv_nsec);
  if (ctx->log_json)
    {
      cleanup_free char *s = NULL;
      j = json_pack ("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", now);
      s = json_dumps (j, JSON_COMPACT);
      line = xasprintf ("%s\n", s);
    }
  else
    {
      /* logrus text quoting: the message inside "..." with " and \ escaped */
      cleanup_json json_t *q = json_string (msg);
      cleanup_free char *quoted = json_dumps (q, JSON_ENCODE_ANY);
      line = xasprintf ("time=\"%s\" level=%s msg=%s\n", now, level, quoted);
    }
  if (write (fd, line, strlen (line)) < 0)
    return;
}

/* As runc's logrus: a warning goes to --log when there is one, else to
 * stderr (where a podman without --log, or the chute's log, gets it). */
void
ch_oci_warn (void *ctx, const char *msg)
{
  const struct ch_oci_ctx *c = ctx;

  if (c->log_path)
    ch_oci_log (c, "warning", msg);
  else
    fprintf (stderr, "chuted: warning: %s\n", msg);
}

char *
ch_oci_state_root (struct ch_oci_ctx *ctx)
{
  return ctx->root ? xstrdup (ctx->root) : xasprintf ("%s/oci", ctx->run_root);
}

char *
ch_oci_state_dir (struct ch_oci_ctx *ctx, const char *id)
{
  cleanup_free char *root = ch_oci_state_root (ctx);
  return xasprintf ("%s/%s", root, id);
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
int
ch_oci_one_id (int argc, char **argv, const char *cmd, const char **id, ch_error_t *err)
{
  if (optind >= argc)
    return ch_error (err, 0, "oci %s: missing container id", cmd);
  *id = argv[optind++];
  return check_id (*id, err);
}

char *
ch_oci_abs_path (const char *p)
{
  char *r = realpath (p, NULL);
  return r ? r : xstrdup (p);
}

int
ch_oci_parse_fd (const char *s, int *fd, ch_error_t *err)
{
  int64_t v;
  if (ch_parse_int (s, 0, 1 << 20, &v, err) < 0)
    return -1;
  *fd = (int) v;
  return 0;
}

int
ch_oci_connect_console (const char *path, int *fd, ch_error_t *err)
{
  if (ch_unix_connect (path, SOCK_STREAM, fd, err) < 0)
    return ch_error_prefix (err, "console socket");
  return 0;
}

int
ch_oci_write_pid_file (const char *path, pid_t pid, ch_error_t *err)
{
  cleanup_free char *v = xasprintf ("%d", pid);
  return ch_write_file_atomic (path, v, strlen (v), 0644, err);
}

int
ch_oci_cli (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct
  {
    const char *name;
    int (*fn) (struct ch_oci_ctx *, int, char **, ch_error_t *);
    bool enters; /* runs a process into a container: needs to run sealed */
  } sub[] = {
    { "spec", ch_oci_cmd_spec, false },       { "create", ch_oci_cmd_create, true }, { "start", ch_oci_cmd_start, false },
    { "state", ch_oci_cmd_state, false },     { "kill", ch_oci_cmd_kill, false },    { "delete", ch_oci_cmd_delete, false },
    { "run", ch_oci_cmd_run, true },          { "exec", ch_oci_cmd_exec, true },     { "list", ch_oci_cmd_list, false },
    { "ps", ch_oci_cmd_ps, false },           { "pause", ch_oci_cmd_pause, false },  { "resume", ch_oci_cmd_resume, false },
    { "update", ch_oci_cmd_update, false },   { "features", ch_oci_cmd_features, false },
  };
  size_t i;

  if (argc < 2)
    return ch_error (err, 0, "usage: chuted oci spec|create|start|state|kill|delete|run|exec|list|ps|pause|resume|update|features ...");
  for (i = 0; i < sizeof (sub) / sizeof (sub[0]); i++)
    if (strcmp (argv[1], sub[i].name) == 0)
      {
        /* CVE-2019-5736: re-exec sealed before anything else
         * (fds we open, sockets we connect, would not survive it) */
        if (sub[i].enters && ch_runtime_reexec_sealed (NULL, ctx->root ? ctx->root : ctx->run_root, err) < 0)
          return -1;
        optind = 1;
        opterr = 0;
        return sub[i].fn (ctx, argc - 1, argv + 1, err);
      }
  return ch_error (err, 0, "oci: unknown command `%s`", argv[1]);
}
