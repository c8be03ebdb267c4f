/* chute.yaml: the chute file, parsed (manifest_parse.c, libyaml) and checked
 * (manifest_check.c) into one model, whichever of the generations it is
 * written in:
 *   - the paper's single-service file (seed Fig. 9): name, owner, date,
 *     description, net.wifi, resource{cpu, memory, wan}, dockerfile{local};
 *   - ParaDrop's first paradrop.yaml: type (light, normal), use (a light
 *     chute's base), command: one service built on the AP;
 *   - ParaDrop 0.12+: services{NAME: {type, image, source, command,
 *     environment, dns, interfaces{IF: wifi-ap}, requests{port-bindings,
 *     cpu-fraction, as-root}}}, web{service, port}, version, environment;
 *   - ours (DESIGN.md): image, command, restart, health, volumes, net.ports,
 *     resource{disk, pids}.
 * The model: a chute = N services (containers) sharing one network (a pod),
 * with chute-level Wi-Fi, ports, limits, restart and health. Every value
 * keeps where it was written, so every error is one line
 * "FILE:LINE:COL: KEY.PATH: what is wrong". */
#ifndef CH_MANIFEST_H
#define CH_MANIFEST_H

#include "common/error.h"
#include "mgmt/chute.h"
#include "netns/net.h"
#include "netns/wifi.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One scalar as written: S is NULL when the key was not given. */
struct ch_mval
{
  char *s;
  char *path; /* "net.wifi.ssid", "services.web.command[1]" */
  unsigned line, col; /* 1-based */
};

struct ch_mlist
{
  struct ch_mval *v;
  size_t n;
};

enum ch_health_kind
{
  CH_HEALTH_ALIVE, /* the process is still running after `grace` */
  CH_HEALTH_HTTP,
  CH_HEALTH_TCP,
  CH_HEALTH_EXEC
};

struct ch_mservice
{
  struct ch_mval name; /* the key under services:, or the chute's name */
  struct ch_mval type, image, source, cpu_fraction, as_root;
  struct ch_mlist command;
  bool command_shell;  /* given as one string: run by /bin/sh -c */
  struct ch_mlist env; /* "K=V", chute-level ones first */
  struct ch_mlist dns;
  /* built on the AP (mgmt/engine_build.c): then IMAGE is the built one and,
   * for a light service, BASE the base's name image: gave */
  bool built;
  char *base;
};

struct ch_chutefile
{
  char *file; /* as given: the prefix of every error */
  const char *format; /* "paper", "paradrop-0.12", "chuted" */
  struct ch_mval at;  /* the document's root */
  struct ch_mval name, version, owner, date, description, dockerfile, restart, web_service, web_port;
  struct ch_mservice *svc;
  size_t n_svc;
  struct ch_mlist env;     /* chute-level environment: "K=V" */
  struct ch_mlist vol_name, vol_path;
  struct ch_mlist ports;   /* "8080:80/tcp", ParaDrop's port-bindings as "E:I" */
  struct ch_mval net_mode; /* `net: none` (or bridge): the scalar in place of net's mapping */
  /* Wi-Fi: net.wifi or the one wifi-ap interface of services.*.interfaces */
  struct ch_mval wifi, wifi_type, wifi_intf, wifi_ssid, wifi_key, wifi_hidden, wifi_isolate, wifi_maxassoc;
  struct ch_mval dhcp, dhcp_start, dhcp_limit, dhcp_lease;
  struct ch_mval cpu, memory, disk, pids, wan_down, wan_up;
  struct ch_mval health, health_http, health_tcp, health_interval, health_timeout, health_grace;
  struct ch_mlist health_exec;

  /* Filled by ch_chutefile_check, through the same parsers `chuted run` uses. */
  struct ch_chute chute;  /* name, restart, memory, cpu_shares, pids, disk, wan, ports, wifi spec */
  struct ch_net_port *net_ports;
  struct ch_wifi_config wifi_cfg; /* ssid NULL: no Wi-Fi */
  bool hidden, isolate;           /* not applied by netns/wifi yet: shown in the plan */
  bool built;                     /* the image is the one the deploy builds from dockerfile: (mgmt/engine_build.c) */
  int64_t maxassoc;               /* -1: not given */
  enum ch_health_kind health_kind;
  uint64_t health_interval_s, health_timeout_s, health_grace_s;
};

/* Parse TEXT (LEN bytes) read from FILE (the name errors carry) into M:
 * YAML syntax, known keys, value types. M is cleared first; clear it after,
 * also on error. */
int ch_chutefile_parse (const char *file, const char *text, size_t len, struct ch_chutefile *m, ch_error_t *err);
void ch_chutefile_clear (struct ch_chutefile *m);

/* Every value of M through the project's own rules (name, limits, ports,
 * Wi-Fi, restart, health, volumes, services); fills the checked part. */
int ch_chutefile_check (struct ch_chutefile *m, ch_error_t *err);

/* Does M claim a host port or an SSID one of the chutes on the host holds?
 * A chute of M's own name is the one M would update: not a conflict. */
int ch_chutefile_conflicts (const struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err);

/* The plan of a checked M as JSON (what `deploy --dry-run --json` prints). */
json_t *ch_chutefile_plan (const struct ch_chutefile *m);

/* "FILE:LINE:COL: PATH: " + FMT, for V's place; returns -1. */
int ch_chutefile_error (const struct ch_chutefile *m, const struct ch_mval *v, ch_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

#endif
