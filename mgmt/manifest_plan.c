/* A checked chute.yaml against the host (the chutes already there) and as
 * the plan `chuted deploy --dry-run` shows. */
#include "mgmt/manifest.h"

#include "common/json.h"
#include "common/util.h"
#include "mgmt/limits.h"
#include "mgmt/pod.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static bool
same_port (const struct ch_net_port *a, const struct ch_net_port *b)
{
  /* no address = every address of the host: overlaps any */
  return a->host_port == b->host_port && a->proto == b->proto
         && (a->host_ip == NULL || b->host_ip == NULL || strcmp (a->host_ip, b->host_ip) == 0);
}

static int
against (const struct ch_chutefile *m, const struct ch_chute *c, ch_error_t *err)
{
  for (char **p = c->ports; p && *p; p++)
    {
      struct ch_net_port theirs;
      cleanup_error ch_error_t e = NULL;
      if (ch_net_parse_port (*p, &theirs, &e) < 0)
        continue; /* refused when that chute was made; not ours to judge */
      for (size_t i = 0; i < m->ports.n; i++)
        if (same_port (&m->net_ports[i], &theirs))
          {
            ch_net_port_clear (&theirs);
            return ch_chutefile_error (m, &m->ports.v[i], err, "host port %u/%s is already taken by chute `%s`",
                                      m->net_ports[i].host_port, m->net_ports[i].proto == IPPROTO_UDP ? "udp" : "tcp",
                                      c->name);
          }
      ch_net_port_clear (&theirs);
    }
  if (c->wifi && m->wifi_cfg.ssid)
    {
      struct ch_wifi_config theirs;
      cleanup_error ch_error_t e = NULL;
      bool clash;
      if (ch_wifi_parse (c->wifi, &theirs, &e) < 0)
        return 0;
      clash = strcmp (theirs.ssid, m->wifi_cfg.ssid) == 0;
      ch_wifi_config_clear (&theirs);
      if (clash)
        return ch_chutefile_error (m, &m->wifi_ssid, err, "SSID `%s` is already claimed by chute `%s`",
                                  m->wifi_cfg.ssid, c->name);
    }
  return 0;
}

int
ch_chutefile_conflicts (const struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err)
{
  cleanup_strv char **names = NULL;

  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (char **n = names; n && *n; n++)
    {
      struct ch_chute c;
      int r;
      cleanup_free char *pod = ch_pod_of (*n);
      if (strcmp (pod ? pod : *n, m->name.s) == 0)
        continue; /* the chute this file would update (or its services) */
      ch_chute_init (&c);
      if (ch_chute_load (ctx, *n, &c, err) < 0)
        {
          ch_chute_clear (&c);
          return -1;
        }
      r = against (m, &c, err);
      ch_chute_clear (&c);
      if (r < 0)
        return -1;
    }
  return 0;
}

static json_t *
strings (const struct ch_mlist *l)
{
  json_t *a = json_array ();

  for (size_t i = 0; i < l->n; i++)
    json_array_append_new (a, json_string (l->v[i].s));
  return a;
}

static void
set_opt (json_t *o, const char *k, const struct ch_mval *v)
{
  if (v->s)
    json_object_set_new (o, k, json_string (v->s));
}

static json_t *
service_plan (const struct ch_chutefile *m, const struct ch_mservice *s)
{
  json_t *o = json_object (), *env = strings (&m->env);

  json_object_set_new (o, "name", json_string (s->name.s ? s->name.s : m->name.s));
  if (s->type.s && (strcmp (s->type.s, "light") == 0 || strcmp (s->type.s, "normal") == 0))
    {
      /* built by the deploy (mgmt/engine_build.c): no image of its own yet */
      bool light = strcmp (s->type.s, "light") == 0;
      json_object_set_new (o, "image", json_null ());
      json_object_set_new (o, "build", json_pack ("{s:s, s:s, s:s*}", "type", s->type.s, "source",
                                                  s->source.s ? s->source.s : ".", "base",
                                                  light ? (s->base ? s->base : s->image.s) : NULL));
    }
  else
    json_object_set_new (o, "image", json_string (s->image.s));
  if (s->command.n)
    json_object_set_new (o, "command", s->command_shell ? json_pack ("[s,s,s]", "/bin/sh", "-c", s->command.v[0].s)
                                                        : strings (&s->command));
  for (size_t i = 0; i < s->env.n; i++)
    json_array_append_new (env, json_string (s->env.v[i].s));
  json_object_set_new (o, "environment", env);
  if (s->dns.n)
    json_object_set_new (o, "dns", strings (&s->dns));
  set_opt (o, "cpu_fraction", &s->cpu_fraction);
  set_opt (o, "as_root", &s->as_root);
  return o;
}

static json_t *
wifi_plan (const struct ch_chutefile *m)
{
  const struct ch_wifi_config *c = &m->wifi_cfg;
  json_t *o = json_pack ("{s:s, s:s, s:s, s:{s:I, s:I, s:I}}", "ssid", c->ssid, "security", c->key ? "wpa2-psk" : "open",
                         "intf", c->intf, "dhcp", "start", (json_int_t) c->dhcp_start, "limit",
                         (json_int_t) c->dhcp_limit, "lease_secs", (json_int_t) c->lease_secs);

  json_object_set_new (o, "hidden", json_boolean (m->hidden));
  json_object_set_new (o, "isolate", json_boolean (m->isolate));
  if (m->maxassoc >= 0)
    json_object_set_new (o, "maxassoc", json_integer ((json_int_t) m->maxassoc));
  return o;
}

json_t *
ch_chutefile_plan (const struct ch_chutefile *m)
{
  static const char *const kinds[] = { "alive", "http", "tcp", "exec" };
  json_t *plan = json_object (), *svcs = json_array (), *ports = json_array (), *vols = json_object (), *health;
  struct ch_cgroup_resources res;
  cleanup_error ch_error_t e = NULL;

  json_object_set_new (plan, "chute", json_string (m->name.s));
  json_object_set_new (plan, "format", json_string (m->format));
  set_opt (plan, "version", &m->version);
  set_opt (plan, "owner", &m->owner);
  set_opt (plan, "date", &m->date);
  set_opt (plan, "description", &m->description);
  if (m->dockerfile.s)
    json_object_set_new (plan, "dockerfile",
                         json_pack ("{s:s, s:b}", "file", m->dockerfile.s, "built", m->svc[0].image.s == NULL)); /* else image: runs */
  for (size_t i = 0; i < m->n_svc; i++)
    json_array_append_new (svcs, service_plan (m, &m->svc[i]));
  json_object_set_new (plan, "services", svcs);
  for (size_t i = 0; i < m->ports.n; i++)
    json_array_append_new (ports, json_string (m->ports.v[i].s));
  json_object_set_new (plan, "network",
                       json_pack ("{s:s, s:o, s:o*}", "mode", m->chute.net_mode ? m->chute.net_mode : "bridge", "ports",
                                  ports, "wifi", m->wifi_cfg.ssid ? wifi_plan (m) : NULL));
  if (ch_limits_resources (&m->chute, &res, &e) == 0)
    json_object_set_new (plan, "resources", ch_limits_to_oci (&res));
  ch_cgroup_resources_clear (&res);
  if (m->disk.s)
    json_object_set_new (json_object_get (plan, "resources"), "disk_bytes", json_integer ((json_int_t) m->chute.disk));
  json_object_set_new (json_object_get (plan, "resources"), "wan",
                       json_pack ("{s:I, s:I}", "down_kbit", (json_int_t) m->chute.wan_down, "up_kbit",
                                  (json_int_t) m->chute.wan_up));
  json_object_set_new (plan, "restart", json_string (ch_restart_name (m->chute.restart)));
  health = json_pack ("{s:s, s:I, s:I, s:I}", "probe", kinds[m->health_kind], "interval_secs",
                      (json_int_t) m->health_interval_s, "timeout_secs", (json_int_t) m->health_timeout_s, "grace_secs",
                      (json_int_t) m->health_grace_s);
  set_opt (health, "http", &m->health_http);
  set_opt (health, "tcp", &m->health_tcp);
  if (m->health_exec.n)
    json_object_set_new (health, "exec", strings (&m->health_exec));
  json_object_set_new (plan, "health", health);
  for (size_t i = 0; i < m->vol_name.n; i++)
    json_object_set_new (vols, m->vol_name.v[i].s, json_string (m->vol_path.v[i].s));
  json_object_set_new (plan, "volumes", vols);
  if (m->web_service.s || m->web_port.s)
    {
      json_t *web = json_object ();
      set_opt (web, "service", &m->web_service);
      set_opt (web, "port", &m->web_port);
      json_object_set_new (plan, "web", web);
    }
  return plan;
}
