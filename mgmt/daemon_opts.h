/* `chuted daemon`'s options: parsed by chuted (which checks them and
 * answers --help before it execs chuted-daemon) and by chuted-daemon. */
#ifndef CH_DAEMON_OPTS_H
#define CH_DAEMON_OPTS_H

#include "common/error.h"
#include "mgmt/cli.h"
#include "mgmt/cloud.h"

#include <stdbool.h>
#include <stdint.h>

#define CH_DAEMON_USAGE ""
#define CH_DAEMON_SUMMARY "Serve the REST API and apply its changes (chuted-daemon)"

struct dm_options
{
  char **apis;              /* "unix:PATH" | "tcp:ADDR:PORT" */
  char *token;              /* TCP's bearer token (from --token-file) */
  const char *tls_cert, *tls_key; /* PEM files (argv's strings), read by mgmt/tls_conf.c */
  uint64_t package_max;
  unsigned max_connections;
  unsigned timeout_s;
  bool no_reconcile;
  struct ch_cloud_opts cloud; /* --cloud ...: the cloud link (docs/CLOUD.md), url NULL when off */
};

extern const struct ch_opt ch_opts_daemon[];

/* ARGV from "daemon" on into O: 1 to go on, 0 after --help, -1 on an error. */
int ch_daemon_options (struct ch_ctx *ctx, int argc, char **argv, struct dm_options *o, ch_error_t *err);
void ch_daemon_options_clear (struct dm_options *o);

#endif
