/* chuted-runtime exec: a process into a running container, from the
 * command line (runc exec ID CMD...) or from a runtime-spec process object
 * (runc exec --process FILE, as conmon runs every `podman exec`). */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

int
ch_oci_cmd_exec (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  enum
  {
    O_PROCESS = 0x100,
    O_PID_FILE,
    O_CONSOLE,
    O_PRESERVE_FDS,
  };
  static const struct option opts[] = {
    { "tty", no_argument, 0, 't' },
    { "cwd", required_argument, 0, 'c' },
    { "env", required_argument, 0, 'e' },
    { "user", required_argument, 0, 'u' },
    { "detach", no_argument, 0, 'd' },
    { "console-socket", required_argument, 0, O_CONSOLE },
    { "process", required_argument, 0, 'p' },
    { "pid-file", required_argument, 0, O_PID_FILE },
    { "preserve-fds", required_argument, 0, O_PRESERVE_FDS },
    { 0 },
  };
  cleanup_free char *sd = NULL;
  cleanup_strv char **env = xzalloc (sizeof (char *));
  cleanup_close int console = -1;
  cleanup_json json_t *process = NULL;
  const char *process_file = NULL, *pid_file = NULL, *console_path = NULL;
  struct ch_exec_opts o = { .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = -1,
                            .warn = ch_oci_warn, .warn_data = ctx };
  const char *id;
  int c, status = 1;

  while ((c = getopt_long (argc, argv, "+tc:e:u:dp:", opts, NULL)) != -1)
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
      case 'p':
        process_file = optarg;
        break;
      case O_PID_FILE:
        pid_file = optarg;
        break;
      case O_CONSOLE:
        console_path = optarg;
        break;
      case O_PRESERVE_FDS:
        {
          int64_t n;
          if (ch_parse_int (optarg, 0, 1 << 20, &n, err) < 0)
            return ch_error_prefix (err, "--preserve-fds");
          o.preserve_fds = (int) n;
        }
        break;
      default:
        return ch_error (err, 0,
                         "usage: chuted oci exec [--tty] [--cwd DIR] [--env K=V] [--user U] [--detach] "
                         "[--pid-file F] [--console-socket S] (--process FILE ID | ID [--] CMD...)");
      }
  if (ch_oci_one_id (argc, argv, "exec", &id, err) < 0)
    return -1;
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (process_file)
    {
      if (optind < argc)
        return ch_error (err, 0, "oci exec: --process and a command line: give one");
      if (ch_json_load_file (process_file, &process, err) < 0)
        return ch_error_prefix (err, "--process");
      if (!json_is_object (process))
        return ch_error (err, 0, "--process `%s`: not a JSON object", process_file);
      o.process = process;
    }
  else if (optind >= argc)
    return ch_error (err, 0, "oci exec: missing command");
  else
    o.argv = argv + optind;
  if (o.cwd && o.cwd[0] != '/')
    return ch_error (err, 0, "--cwd `%s`: must be an absolute path", o.cwd);
  /* runc's rule: a detached tty needs somewhere to send its master */
  if ((o.tty || (process && json_is_true (json_object_get (process, "terminal")))) && console_path == NULL)
    return ch_error (err, 0, "oci exec: a terminal needs --console-socket");
  if (console_path)
    {
      if (ch_oci_connect_console (console_path, &console, err) < 0)
        return -1;
      o.console_socket_fd = console;
    }
  o.env = env;
  o.pid_file = pid_file;
  sd = ch_oci_state_dir (ctx, id);
  if (ch_container_exec (sd, &o, &status, err) < 0)
    {
      ctx->fail_code = status;
      return -1;
    }
  return status;
}
