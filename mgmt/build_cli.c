/* chuted-image build -t NAME[:TAG] [-f FILE] [--build-arg K=V]... [--no-cache]
 * [-q] [--disk-limit SIZE] [--memory M] [--cpus N] [--pids N] [--network MODE] DIR. RUN steps exec the chuted beside this
 * program with our global options, so the chute lands in the same roots and
 * cgroup parent; user names for COPY --chown are read from the stage's own
 * /etc/passwd, as `chuted run -u` reads them. */
#include "mgmt/build.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"
#include "image/dockerfile.h"
#include "mgmt/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The RUN chutes' limits and network, handed to `chuted run` as given
 * (it checks them, with the words it uses for its own flags). */
static void
run_opt (char ***run_opts, const char *flag, const char *v)
{
  ch_strv_append (run_opts, flag);
  ch_strv_append (run_opts, v);
}

static int
parse (int argc, char **argv, struct ch_build_request *req, char ***args, char ***run_opts, int *result_fd,
       ch_error_t *err)
{
  /* chuted's own table: `chuted build` checked and showed the same options */
  struct ch_ctx ctx = { .fail_code = 125 };
  cleanup_cli_parser struct ch_cli_parser p = { 0 };
  int o;

  optind = 1;
  ch_cli_parser_init (&p, &ctx, ch_opts_build);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case 't': req->tag = (char *) p.optarg; break;
      case 'f': req->dockerfile = (char *) p.optarg; break;
      case 'q': req->quiet = true; break;
      case CH_BUILD_O_ARG: ch_strv_append (args, p.optarg); break;
      case CH_BUILD_O_MEMORY: run_opt (run_opts, "--memory", p.optarg); break;
      case CH_BUILD_O_CPUS: run_opt (run_opts, "--cpus", p.optarg); break;
      case CH_BUILD_O_PIDS: run_opt (run_opts, "--pids", p.optarg); break;
      case CH_BUILD_O_NET: run_opt (run_opts, "--net", p.optarg); break;
      case CH_BUILD_O_NO_CACHE: req->no_cache = true; break;
      case CH_BUILD_O_RESULT_FD:
        {
          int64_t fd;
          if (ch_parse_int (p.optarg, 3, INT32_MAX, &fd, err) < 0)
            return ch_error_prefix (err, "build: --result-fd");
          /* the RUN chutes and their monitors must not hold it: the reader waits for EOF */
          if (fcntl ((int) fd, F_SETFD, FD_CLOEXEC) < 0)
            return ch_error (err, errno, "build: --result-fd %d", (int) fd);
          *result_fd = (int) fd;
        }
        break;
      case CH_BUILD_O_DISK:
        if (ch_parse_size (p.optarg, &req->disk_limit, err) < 0)
          return ch_error_prefix (err, "build: --disk-limit");
        break;
      }
  if (o < 0)
    return p.help ? ch_error (err, 0, "build: --help is chuted build's") : -1;
  if (optind != argc - 1)
    return ch_error (err, 0, "build: give one context directory (chuted build -t NAME DIR)");
  req->context = argv[optind];
  if (req->tag == NULL)
    return ch_error (err, 0, "build: give the image's name with -t NAME[:TAG]");
  return 0;
}

int
ch_build_main (const struct ch_globals *g, int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_strv char **args = xzalloc (sizeof (char *));
  cleanup_strv char **prefix = xzalloc (sizeof (char *)), **pull = xzalloc (sizeof (char *));
  cleanup_strv char **fetch = xzalloc (sizeof (char *)), **run_opts = xzalloc (sizeof (char *));
  cleanup_free char *dir = NULL, *chuted = NULL, *puller = NULL;
  struct ch_build_request req = { .root = g->root, .resolve_user = ch_user_resolve };
  struct ch_build_result res = { 0 };
  int code, result_fd = -1;

  if (parse (argc, argv, &req, &args, &run_opts, &result_fd, &err) < 0)
    {
      ch_error_print (&err, "chuted-image");
      return 2;
    }
  if (ch_self_dir (&dir, &err) < 0)
    {
      ch_error_print (&err, "chuted-image");
      return 125;
    }
  chuted = xasprintf ("%s/chuted", dir);
  ch_strv_append (&prefix, chuted);
  ch_strv_append (&prefix, "--root");
  ch_strv_append (&prefix, g->root);
  ch_strv_append (&prefix, "--run-root");
  ch_strv_append (&prefix, g->run_root);
  ch_strv_append (&prefix, "--cgroup-parent");
  ch_strv_append (&prefix, g->cgroup_parent);
  puller = xasprintf ("%s/chuted-image-pull", dir);
  ch_strv_append (&pull, puller);
  ch_strv_append (&pull, "--root");
  ch_strv_append (&pull, g->root);
  ch_strv_append (&pull, "pull");
  ch_strv_append (&pull, "-q");
  ch_strv_append (&pull, "--result-fd");
  ch_strv_append (&pull, "3");
  req.build_args = args;
  req.record_fd = result_fd;
  req.run_prefix = prefix;
  req.run_opts = run_opts;
  req.pull_prefix = pull;
  ch_strv_append (&fetch, puller);
  ch_strv_append (&fetch, "fetch-url");
  req.fetch_prefix = fetch;
  {
    /* held until the current step ends, so that a ^C or a kill still
     * unmounts and removes what the build made (the builder checks them
     * between steps; a RUN's chuted run gets them unblocked) */
    sigset_t hold;
    sigemptyset (&hold);
    sigaddset (&hold, SIGINT);
    sigaddset (&hold, SIGTERM);
    sigaddset (&hold, SIGHUP);
    sigprocmask (SIG_BLOCK, &hold, NULL);
  }
  if (ch_build_dockerfile (&req, &res, &err) < 0)
    {
      code = res.run_code > 0 ? res.run_code : 125;
      if (result_fd >= 0)
        {
          cleanup_json json_t *rec = ch_build_failure_json (&res, err->msg);
          cleanup_error ch_error_t e2 = NULL;
          if (ch_build_record_send (result_fd, rec, &e2) < 0)
            ch_error_print (&e2, "chuted-image: build: --result-fd");
        }
      ch_error_print (&err, "chuted-image: build");
      ch_build_result_clear (&res);
      return code;
    }
  if (req.quiet)
    printf ("%s\n", res.image_id);
  else
    printf ("COMMIT %s (%u steps, %u cached)\n--> %s\n", res.ref, res.steps, res.cached, res.image_id);
  ch_build_result_clear (&res);
  return 0;
}
