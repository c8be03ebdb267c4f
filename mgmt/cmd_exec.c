/* chuted exec NAME -- CMD: a process inside a running chute. */
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "runtime/runtime.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

int
ch_cmd_exec (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  static const struct option opts[] = { { "interactive", no_argument, NULL, 'i' },
                                        { "tty", no_argument, NULL, 't' },
                                        { "env", required_argument, NULL, 'e' },
                                        { "user", required_argument, NULL, 'u' },
                                        { "workdir", required_argument, NULL, 'w' },
                                        { "detach", no_argument, NULL, 'd' },
                                        { NULL, 0, NULL, 0 } };
  struct ch_exec_opts eo = { .stdin_fd = -1, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = -1 };
  cleanup_strv char **env = NULL;
  cleanup_free char *oci = NULL;
  const char *name;
  int o, status = 0;

  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "+ite:u:w:d", opts, NULL)) != -1)
    switch (o)
      {
      case 'i': eo.stdin_fd = 0; break;
      case 't': eo.tty = true; break;
      case 'e': ch_strv_append (&env, optarg); break;
      case 'u': eo.user = optarg; break;
      case 'w': eo.cwd = optarg; break;
      case 'd': eo.detach = true; break;
      default: return ch_error (err, 0, "exec: unknown option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    return ch_error (err, 0, "exec: give the chute's name and a command");
  name = argv[optind++];
  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (optind >= argc)
    return ch_error (err, 0, "exec: give a command to run in `%s`", name);
  if (!ch_chute_running (ctx, name, NULL))
    {
      struct ch_chute c;
      ch_chute_init (&c);
      if (ch_chute_load (ctx, name, &c, err) < 0)
        return -1;
      ch_chute_clear (&c);
      return ch_error (err, 0, "chute `%s` is not running", name);
    }
  /* nothing in the chute may get a handle on our binary (CVE-2019-5736):
   * continue from a sealed copy, as `chuted oci exec` does */
  if (ch_runtime_reexec_sealed (NULL, err) < 0)
    return -1;
  eo.argv = argv + optind;
  eo.env = env;
  if (eo.stdin_fd < 0 && eo.tty)
    eo.stdin_fd = 0;
  oci = ch_chute_oci_dir (ctx, name);
  if (ch_container_exec (oci, &eo, &status, err) < 0)
    {
      ctx->fail_code = status > 0 ? status : 126;
      return -1;
    }
  return status;
}
