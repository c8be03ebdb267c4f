/* chuted-cloud: the cloud link in the foreground, with the deploy engine
 * in-process, until SIGTERM or SIGINT (a program of its own: `chuted`'s
 * start path carries no MQTT or TLS). The daemon hosts the same link
 * (mgmt/cloud.h) in its event loop. Each desired document is applied
 * synchronously: its progress events go out as they come, since the link
 * writes a publish at once when it is not inside one of its callbacks. */
#include "common/file.h"
#include "common/util.h"
#include "mgmt/cli.h"
#include "mgmt/cloud.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#define CLOUD_USAGE "--cloud mqtts://HOST[:PORT] --node ID --cert FILE --key FILE --ca FILE --trust FILE"

static const struct ch_cmd cloud_cmd = { "cloud", NULL, CLOUD_USAGE,
                                         "run the cloud link (MQTT over TLS) in the foreground", ch_opts_cloud };

struct host
{
  struct ch_ctx *ctx;
  struct ch_cloud *link;
  const char *change; /* of the document being applied */
};

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted-cloud [--root DIR] [--run-root DIR] [--cgroup-parent PATH] cloud %s\n", CLOUD_USAGE);
}

static void
on_event (void *data, const struct ch_change *c, const char *detail)
{
  struct host *h = data;

  ch_cloud_event (h->link, h->change, c, detail);
}

static void
apply (void *data, struct ch_cloud *l, json_t *doc)
{
  struct host *h = data;
  cleanup_error ch_error_t e = NULL;
  struct ch_engine eng;
  json_t *result = NULL;

  h->change = json_string_value (json_object_get (doc, "change"));
  if (ch_engine_open (&eng, h->ctx, on_event, h, &e) == 0)
    {
      if (ch_cloud_apply (&eng, doc, &result, &e) < 0)
        fprintf (stderr, "chuted cloud: %s\n", e->msg);
      ch_engine_close (&eng);
    }
  if (result == NULL)
    result = json_pack ("{s:s, s:{s:s}}", "result", "failed", "errors", "", e ? e->msg : "?");
  ch_cloud_applied (l, doc, result);
  json_decref (result);
}

static int
run (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  struct ch_cloud_opts o = { 0 };
  struct host h = { .ctx = ctx };
  cleanup_close int sfd = -1;
  sigset_t mask;
  int opt, r = 0;

  ch_cli_parser_init (&p, ctx, ch_opts_cloud);
  while ((opt = ch_cli_next (&p, argc, argv, err)) > 0)
    ch_cloud_parse_opt (&o, opt, p.optarg);
  if (opt < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (unknown argument `%s`)", argv[optind]);
  if ((r = ch_cloud_opts_check (ctx, &o, err)) <= 0)
    return r < 0 ? -1 : ch_cli_usage_error (ctx, err, "give --cloud, --node, --cert, --key, --ca and --trust");
  r = 0;
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (sfd < 0)
    return ch_error (err, errno, "signalfd");
  if (ch_cloud_open (&h.link, ctx, &o, apply, &h, err) < 0)
    return -1;
  for (;;)
    {
      int wait = ch_cloud_tick (h.link), fd = ch_cloud_fd (h.link);
      struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };

      if (poll (pfd, fd >= 0 ? 2 : 1, wait) < 0 && errno != EINTR)
        {
          r = ch_error (err, errno, "poll");
          break;
        }
      if (pfd[0].revents)
        break;
      if (fd >= 0 && pfd[1].revents)
        ch_cloud_read (h.link);
    }
  ch_cloud_close (h.link);
  return r;
}

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_ctx ctx;
  int i, r, code;

  i = ch_cli_globals (argc, argv, &ctx, usage, &code);
  if (i < 0)
    return code;
  if (strcmp (argv[i], "cloud") != 0)
    {
      usage (stderr);
      return 2;
    }
  ctx.cmd = &cloud_cmd;
  if (ch_self_dir (&ctx.bin_dir, &err) < 0)
    {
      ch_error_print (&err, "chuted-cloud");
      return 125;
    }
  mosquitto_lib_init ();
  r = run (&ctx, argc - i, argv + i, &err);
  mosquitto_lib_cleanup ();
  free (ctx.bin_dir);
  if (r < 0)
    {
      ch_error_print (&err, "chuted cloud");
      return ctx.fail_code;
    }
  return r;
}
