/* chuted exec NAME -- CMD: a process inside a running chute. */
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "runtime/runtime.h"

#include <string.h>
#include <unistd.h>

const struct ch_opt ch_opts_exec[] = {
  { "interactive", 'i', NULL, "keep stdin open" },
  { "tty", 't', NULL, "give the command a terminal" },
  { "env", 'e', "K=V", "set an environment variable" },
  { "user", 'u', "USER[:GROUP]", "user to run as" },
  { "workdir", 'w', "DIR", "working directory inside the chute" },
  { "detach", 'd', NULL, "run in the background" },
  CH_OPT_END,
};

int
ch_cmd_exec (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  struct ch_exec_opts eo = { .stdin_fd = -1, .stdout_fd = 1, .stderr_fd = 2, .console_socket_fd = -1 };
  cleanup_strv char **env = NULL;
  cleanup_free char *oci = NULL;
  const char *name;
  int o, status = 0;

  ch_cli_parser_init (&p, ctx, ch_opts_exec);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case 'i': eo.stdin_fd = 0; break;
      case 't': eo.tty = true; break;
      case 'e': ch_strv_append (&env, p.optarg); break;
      case 'u': eo.user = p.optarg; break;
      case 'w': eo.cwd = p.optarg; break;
      case 'd': eo.detach = true; break;
      }
  if (o < 0)
    return ch_cli_done (&p);
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give the chute's name and a command");
  name = argv[optind++];
  if (ch_chute_name_check (name, err) < 0)
    return -1;
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give a command to run in `%s`", name);
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
   * continue sealed, as `chuted oci exec` does */
  if (ch_runtime_reexec_sealed (NULL, ctx->run_root, err) < 0)
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
