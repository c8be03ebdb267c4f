/* chuted-runtime exec: a process into a running container. */
#include "runtime/oci_cli.h"
#include "runtime/runtime.h"

#include "common/util.h"

#include <getopt.h>
#include <string.h>

int
ch_oci_cmd_exec (struct ch_oci_ctx *ctx, int argc, char **argv, ch_error_t *err)
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
        if (ch_oci_connect_console (optarg, &console, err) < 0)
          return -1;
        o.console_socket_fd = console;
        break;
      default:
        return ch_error (err, 0, "usage: chuted oci exec [--tty] [--cwd DIR] [--env K=V] [--user U] ID -- CMD...");
      }
  if (ch_oci_one_id (argc, argv, "exec", &id, err) < 0)
    return -1;
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (optind >= argc)
    return ch_error (err, 0, "oci exec: missing command");
  if (o.cwd && o.cwd[0] != '/')
    return ch_error (err, 0, "--cwd `%s`: must be an absolute path", o.cwd);
  o.argv = argv + optind;
  o.env = env;
  sd = ch_oci_state_dir (ctx, id);
  if (ch_container_exec (sd, &o, &status, err) < 0)
    {
      ctx->fail_code = status;
      return -1;
    }
  return status;
}

