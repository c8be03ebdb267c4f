/* chuted wifi ls: radios, the networks chutes hold, stations and leases. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/commands.h"
#include "netns/wifi.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
print_table (json_t *all)
{
  json_t *r, *n, *v;
  size_t i, k;

  printf ("%-8s %s\n", "RADIO", "CHUTES");
  json_array_foreach (json_object_get (all, "radios"), i, r)
    {
      struct ch_buf b = { 0 };
      json_array_foreach (json_object_get (r, "chutes"), k, v)
        ch_buf_printf (&b, "%s%s", k ? "," : "", json_string_value (v));
      printf ("%-8s %s\n", json_string_value (json_object_get (r, "phy")), b.data ? b.data : "-");
      free (b.data);
    }
  printf ("\n%-20s %-24s %-8s %-10s %-18s %-8s %s\n", "CHUTE", "SSID", "RADIO", "STATE", "ADDRESS", "STATIONS",
          "LEASES");
  json_array_foreach (json_object_get (all, "networks"), i, n)
    printf ("%-20s %-24s %-8s %-10s %-18s %-8zu %zu\n", json_string_value (json_object_get (n, "chute")),
            json_string_value (json_object_get (n, "ssid")) ?: "-",
            json_string_value (json_object_get (n, "radio")) ?: "-",
            json_string_value (json_object_get (json_object_get (n, "hostapd"), "state")) ?: "-",
            json_string_value (json_object_get (n, "address")) ?: "-",
            json_array_size (json_object_get (n, "stations")), json_array_size (json_object_get (n, "leases")));
}

enum
{
  O_JSON = 256
};

const struct ch_opt ch_opts_wifi[] = {
  { "json", O_JSON, NULL, "JSON" },
  CH_OPT_END,
};

int
ch_cmd_wifi (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_json json_t *all = NULL;
  bool as_json = false;
  int o, i;

  ch_cli_parser_init (&p, ctx, ch_opts_wifi);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    as_json = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind >= argc || strcmp (argv[optind], "ls") != 0)
    return ch_cli_usage_error (ctx, err, "give ls");
  /* `wifi ls --json`: the options may follow ls too */
  i = optind;
  ch_cli_parser_clear (&p);
  ch_cli_parser_init (&p, ctx, ch_opts_wifi);
  while ((o = ch_cli_next (&p, argc - i, argv + i, err)) > 0)
    as_json = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc - i)
    return ch_cli_usage_error (ctx, err, "ls takes no operand (`%s`)", argv[i + optind]);
  if (ch_wifi_list (ctx->root, ctx->run_root, &all, err) < 0)
    return -1;
  if (as_json)
    {
      cleanup_free char *s = json_dumps (all, JSON_INDENT (2));
      printf ("%s\n", s);
    }
  else
    print_table (all);
  return 0;
}
