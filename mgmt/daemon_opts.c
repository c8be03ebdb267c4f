/* `chuted daemon`'s options (mgmt/daemon_opts.h). */
#include "mgmt/daemon_opts.h"
#include "common/file.h"
#include "common/parse.h"
#include "common/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum
{
  O_API = 256,
  O_TOKEN_FILE,
  O_TLS_CERT,
  O_TLS_KEY,
  O_MAX_PACKAGE,
  O_MAX_CONNECTIONS,
  O_TIMEOUT,
  O_NO_RECONCILE,
};

const struct ch_opt ch_opts_daemon[] = {
  { "api", O_API, "SPEC", "listen on unix:PATH (default RUN_ROOT/api.sock, mode 0600) or tcp:ADDR:PORT; repeatable" },
  { "token-file", O_TOKEN_FILE, "FILE", "the bearer token TCP clients must send (required with tcp:)" },
  { "tls-cert", O_TLS_CERT, "FILE", "serve TCP over TLS with this PEM certificate (and --tls-key)" },
  { "tls-key", O_TLS_KEY, "FILE", "the PEM private key of --tls-cert" },
  { "max-package", O_MAX_PACKAGE, "SIZE", "largest chute package accepted (default 512M)" },
  { "max-connections", O_MAX_CONNECTIONS, "N", "connections served at once per listener (default 64)" },
  { "timeout", O_TIMEOUT, "SECONDS", "an idle connection is closed after this (default 30)" },
  { "no-reconcile", O_NO_RECONCILE, NULL, "do not bring back the chutes that should run at start" },
  CH_CLOUD_OPTS,
  CH_OPT_END,
};

/* A secret file, whole, without its line end. */
static int
read_secret (const char *opt, const char *path, char **out, ch_error_t *err)
{
  size_t len;

  free (*out);
  *out = NULL;
  if (ch_read_file_max (path, 1 << 20, out, &len, err) < 0)
    return ch_error_prefix (err, "daemon --%s", opt);
  while (len && strchr ("\r\n \t", (*out)[len - 1]))
    (*out)[--len] = '\0';
  if (len < 16)
    return ch_error (err, 0, "daemon --%s %s: the token is %zu characters; want 16 or more", opt, path, len);
  return 0;
}

int
ch_daemon_options (struct ch_ctx *ctx, int argc, char **argv, struct dm_options *o, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  int64_t n;
  int c;

  memset (o, 0, sizeof (*o));
  o->package_max = (uint64_t) 512 << 20;
  o->max_connections = 64;
  o->timeout_s = 30;
  ch_cli_parser_init (&p, ctx, ch_opts_daemon);
  while ((c = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (c)
      {
      case O_API: ch_strv_append (&o->apis, p.optarg); break;
      case O_TOKEN_FILE:
        if (read_secret ("token-file", p.optarg, &o->token, err) < 0)
          return -1;
        break;
      case O_TLS_CERT: o->tls_cert = p.optarg; break;
      case O_TLS_KEY: o->tls_key = p.optarg; break;
      case O_MAX_PACKAGE:
        if (ch_parse_size (p.optarg, &o->package_max, err) < 0)
          return ch_error_prefix (err, "daemon --max-package");
        break;
      case O_MAX_CONNECTIONS:
        if (ch_parse_int (p.optarg, 1, 4096, &n, err) < 0)
          return ch_error_prefix (err, "daemon --max-connections");
        o->max_connections = n;
        break;
      case O_TIMEOUT:
        if (ch_parse_int (p.optarg, 1, 3600, &n, err) < 0)
          return ch_error_prefix (err, "daemon --timeout");
        o->timeout_s = n;
        break;
      case O_NO_RECONCILE: o->no_reconcile = true; break;
      default: ch_cloud_parse_opt (&o->cloud, c, p.optarg); break;
      }
  if (c < 0)
    return ch_cli_done (&p) < 0 ? -1 : 0;
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (unknown argument `%s`)", argv[optind]);
  for (char **a = o->apis; a && *a; a++)
    if (ch_has_prefix (*a, "tcp:") && o->token == NULL)
      return ch_cli_usage_error (ctx, err, "--api %s: TCP needs a bearer token (--token-file)", *a);
  if (!o->tls_cert != !o->tls_key)
    return ch_cli_usage_error (ctx, err, "--tls-cert and --tls-key go together");
  if (ch_cloud_opts_check (ctx, &o->cloud, err) < 0)
    return -1;
  return 1;
}

void
ch_daemon_options_clear (struct dm_options *o)
{
  ch_strv_free (o->apis);
  free (o->token);
  memset (o, 0, sizeof (*o));
}
