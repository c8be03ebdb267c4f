/* chutectl: deploy to APs through the MQTT broker, watch them (docs/CLOUD.md).
 *   chutectl [--broker URL --cert F --key F --ca F] [--sign KEY] COMMAND ...
 * Each global option has an environment twin (CHUTECTL_BROKER, _CERT,
 * _KEY, _CA, _SIGNING_KEY). */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "tools/chutectl/chutectl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: chutectl [--broker mqtts://HOST[:PORT]] [--cert FILE] [--key FILE] [--ca FILE] [--sign KEY]\n"
    "                [--registry HOST:PORT] COMMAND\n"
    "  keygen PREFIX                         make an ed25519 pair: PREFIX.key (private), PREFIX.pub (trust line)\n"
    "  push DIR [--registry HOST:PORT]       a chute's directory as a package in an OCI registry; prints REF@DIGEST\n"
    "  deploy [--wait] NODE FILE|DIR|CHUTE@VERSION   deploy or update a chute (a kept version: roll to it)\n"
    "  deploy [--wait] NODE CHUTE@sha256:..|CHUTE:TAG  ... from a package in --registry\n"
    "  deploy --group G|all [-l K=V]... [--canary N] [--batch N] [--max-fail P%] [--timeout S] FILE|DIR|CHUTE@VERSION\n"
    "                                        roll out to a group (label group=G, -l: more labels) in waves; prints its id\n"
    "  abort ROLLOUT                         stop a rollout and put every AP it reached back on its old version\n"
    "  stop|start|rm|rollback [--wait] NODE CHUTE     change one chute of NODE\n"
    "  nodes [--json] [--group G] [-l K=V]   every AP (of a group): online/offline, generation, chutes, labels\n"
    "  watch [--json] [CHANGE|ROLLOUT]       progress events (of CHANGE: until every AP finished it; a rollout's state)\n"
    "  logs NODE CHUTE [-f]                  a chute's logs, asked for while shown\n"
    "  desired NODE                          NODE's retained desired document\n"
    "  sign DOC                              print DOC (JSON) signed with --sign KEY\n"
    "  publish NODE DOC                      publish DOC as it is as NODE's desired document\n"
    "Each change prints its change id; --wait waits until the AP applied it (exit 1 if it failed or refused).\n"
    "Environment: CHUTECTL_BROKER, CHUTECTL_CERT, CHUTECTL_KEY, CHUTECTL_CA, CHUTECTL_SIGNING_KEY,\n"
    "  CHUTECTL_REGISTRY, CHUTECTL_REGISTRY_CA.\n";

static int
usage_error (const char *msg)
{
  fprintf (stderr, "chutectl: %s (see chutectl --help)\n", msg);
  return 2;
}

static int
cmd_sign (struct ctl *c, const char *file, ch_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  cleanup_free char *s = NULL;

  if (ch_json_load_file (file, &doc, err) < 0 || ctl_sign (c, doc, err) < 0)
    return -1;
  s = json_dumps (doc, JSON_COMPACT);
  printf ("%s\n", s);
  return 0;
}

static int
cmd_desired (struct ctl *c, const char *node, ch_error_t *err)
{
  cleanup_json json_t *doc = ctl_retained (c, node, "desired", err);
  cleanup_free char *s = NULL;

  if (*err)
    return -1;
  if (doc == NULL)
    return ch_error (err, 0, "no desired document for %s (or not allowed to read it)", node);
  s = json_dumps (doc, JSON_INDENT (2));
  printf ("%s\n", s);
  return 0;
}

/* The command's operands, flags taken out of them. */
static int
run (struct ctl *c, struct ctl_fleet *f, int argc, char **argv, ch_error_t *err)
{
  const char *cmd = argv[0], *pos[3] = { NULL };
  bool wait = false, follow = false;
  int n = 0, k;

  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--wait") == 0)
      wait = true;
    else if (strcmp (argv[i], "--json") == 0)
      c->json = true;
    else if (strcmp (argv[i], "-f") == 0 || strcmp (argv[i], "--follow") == 0)
      follow = true;
    else if (strcmp (argv[i], "--registry") == 0 && i + 1 < argc)
      c->registry = argv[++i];
    else if ((k = ctl_fleet_opt (f, argc, argv, &i, err)) != 0)
      {
        /* a missing or bad option value is a usage error, as getopt's are */
        if (k < 0)
          return -3;
      }
    else if (argv[i][0] == '-' && argv[i][1])
      return -2;
    else if (n < 3)
      pos[n++] = argv[i];
    else
      return -2;

#define WANT(k)                                                                                                       \
  do                                                                                                                   \
    if (n != (k))                                                                                                      \
      return -2;                                                                                                       \
  while (0)
  if (strcmp (cmd, "keygen") == 0)
    {
      WANT (1);
      return ctl_keygen (pos[0], err);
    }
  if (strcmp (cmd, "sign") == 0)
    {
      WANT (1);
      return cmd_sign (c, pos[0], err);
    }
  if (strcmp (cmd, "push") == 0)
    {
      WANT (1);
      return ctl_push (c, pos[0], err);
    }
  /* the operands before the broker: a usage error costs no connection */
  if (ctl_fleet_given (f) && strcmp (cmd, "deploy") != 0 && strcmp (cmd, "nodes") != 0)
    return -2;
  if (strcmp (cmd, "nodes") == 0)
    WANT (0);
  else if (strcmp (cmd, "watch") == 0)
    {
      if (n > 1)
        return -2;
    }
  else if (strcmp (cmd, "desired") == 0 || strcmp (cmd, "abort") == 0
           || (strcmp (cmd, "deploy") == 0 && ctl_fleet_given (f)))
    WANT (1);
  else if (strcmp (cmd, "deploy") == 0 || strcmp (cmd, "stop") == 0 || strcmp (cmd, "start") == 0
           || strcmp (cmd, "rm") == 0 || strcmp (cmd, "rollback") == 0 || strcmp (cmd, "logs") == 0
           || strcmp (cmd, "publish") == 0)
    WANT (2);
  else
    return -2;
  if (ctl_connect (c, err) < 0)
    return -1;
  if (strcmp (cmd, "nodes") == 0)
    return ctl_nodes (c, f, err);
  if (strcmp (cmd, "abort") == 0)
    return ctl_abort (c, pos[0], err);
  if (strcmp (cmd, "deploy") == 0 && ctl_fleet_given (f))
    return ctl_rollout (c, f, pos[0], err);
  if (strcmp (cmd, "watch") == 0)
    return ctl_watch (c, pos[0], err);
  if (strcmp (cmd, "desired") == 0)
    return cmd_desired (c, pos[0], err);
  if (strcmp (cmd, "logs") == 0)
    return ctl_logs (c, pos[0], pos[1], follow, err);
  if (strcmp (cmd, "publish") == 0)
    return ctl_publish_doc (c, pos[0], pos[1], err);
  return ctl_change (c, pos[0], cmd, pos[1], wait, err);
#undef WANT
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "broker", required_argument, NULL, 'b' }, { "cert", required_argument, NULL, 'c' },
    { "key", required_argument, NULL, 'k' },    { "ca", required_argument, NULL, 'a' },
    { "sign", required_argument, NULL, 's' },   { "help", no_argument, NULL, 'h' },
    { "registry", required_argument, NULL, 'r' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error ch_error_t err = NULL;
  struct ctl c = {
    .broker = getenv ("CHUTECTL_BROKER"),
    .cert = getenv ("CHUTECTL_CERT"),
    .key = getenv ("CHUTECTL_KEY"),
    .ca = getenv ("CHUTECTL_CA"),
    .signing_key = getenv ("CHUTECTL_SIGNING_KEY"),
    .registry = getenv ("CHUTECTL_REGISTRY"),
  };
  struct ctl_fleet fleet;
  int o, r;

  while ((o = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (o)
      {
      case 'b': c.broker = optarg; break;
      case 'c': c.cert = optarg; break;
      case 'k': c.key = optarg; break;
      case 'a': c.ca = optarg; break;
      case 's': c.signing_key = optarg; break;
      case 'r': c.registry = optarg; break;
      case 'h': fputs (usage_text, stdout); return 0;
      default: return usage_error ("unknown option");
      }
  if (optind >= argc)
    return usage_error ("give a command");
  mosquitto_lib_init ();
  ctl_fleet_init (&fleet);
  r = run (&c, &fleet, argc - optind, argv + optind, &err);
  ctl_fleet_clear (&fleet);
  ctl_close (&c);
  mosquitto_lib_cleanup ();
  if (r == -2)
    return usage_error ("wrong operands");
  if (r == -3)
    return usage_error (err->msg);
  if (r < 0)
    {
      ch_error_print (&err, "chutectl");
      return 1;
    }
  return 0;
}
