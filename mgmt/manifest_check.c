/* chute.yaml's values through the rules `chuted run` applies to its flags
 * (one place per rule: ch_chute_name_check, ch_limits_flag and
 * ch_limits_resources, ch_net_parse_port, ch_net_parse_rate,
 * ch_wifi_parse_kv, ch_restart_parse), each error at the value's place. */
#include "mgmt/disk.h"
#include "mgmt/manifest.h"

#include "common/parse.h"
#include "common/util.h"
#include "mgmt/limits.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* Put V's place in front of the message a rule left in *ERR; a message
 * of ch_limits_flag naming "--FLAG: " drops it (the key path says it). */
static int
at (const struct ch_chutefile *m, const struct ch_mval *v, ch_error_t *err)
{
  const char *msg = (*err)->msg, *colon;

  if (msg[0] == '-' && msg[1] == '-' && (colon = strstr (msg, ": ")) != NULL && memchr (msg, ' ', colon - msg) == NULL)
    {
      cleanup_free char *rest = xstrdup (colon + 2);
      return ch_chutefile_error (m, v, err, "%s", rest);
    }
  cleanup_free char *old = xstrdup (msg);
  return ch_chutefile_error (m, v, err, "%s", old);
}

static int
boolean (const struct ch_chutefile *m, const struct ch_mval *v, ch_error_t *err)
{
  static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", NULL };
  static const char *const no[] = { "false", "False", "FALSE", "no", "No", "off", NULL };

  if (v->s == NULL)
    return 0;
  for (int i = 0; yes[i]; i++)
    if (strcmp (v->s, yes[i]) == 0)
      return 1;
  for (int i = 0; no[i]; i++)
    if (strcmp (v->s, no[i]) == 0)
      return 0;
  return ch_chutefile_error (m, v, err, "`%s` is not true or false", v->s);
}

static int
limit (struct ch_chutefile *m, const struct ch_mval *v, const char *flag, ch_error_t *err)
{
  if (v->s && ch_limits_flag (&m->chute, flag, v->s, err) < 0)
    return at (m, v, err);
  return 0;
}

static int
check_resources (struct ch_chutefile *m, ch_error_t *err)
{
  struct ch_cgroup_resources res;
  int r;

  if (limit (m, &m->cpu, "cpu-shares", err) < 0 || limit (m, &m->memory, "memory", err) < 0
      || limit (m, &m->pids, "pids", err) < 0)
    return -1;
  if (m->disk.s && ch_parse_size (m->disk.s, &m->chute.disk, err) < 0)
    return at (m, &m->disk, err);
  /* a disk: written in the file holds while the chute runs (mgmt/disk.h) */
  if (m->disk.s && m->chute.disk < CH_DISK_QUOTA_MIN)
    return ch_chutefile_error (m, &m->disk, err, "at least %llum (what it bounds is an ext4 image)",
                               (unsigned long long) (CH_DISK_QUOTA_MIN >> 20));
  m->chute.disk_quota = m->disk.s != NULL;
  if (m->wan_down.s && ch_net_parse_rate (m->wan_down.s, &m->chute.wan_down, err) < 0)
    return at (m, &m->wan_down, err);
  if (m->wan_up.s && ch_net_parse_rate (m->wan_up.s, &m->chute.wan_up, err) < 0)
    return at (m, &m->wan_up, err);
  r = ch_limits_resources (&m->chute, &res, err);
  ch_cgroup_resources_clear (&res);
  return r < 0 ? at (m, m->memory.s ? &m->memory : &m->at, err) : 0;
}

static int
check_ports (struct ch_chutefile *m, ch_error_t *err)
{
  m->net_ports = xzalloc ((m->ports.n + 1) * sizeof *m->net_ports);
  for (size_t i = 0; i < m->ports.n; i++)
    {
      struct ch_net_port *p = &m->net_ports[i];
      if (ch_net_parse_port (m->ports.v[i].s, p, err) < 0)
        return at (m, &m->ports.v[i], err);
      for (size_t j = 0; j < i; j++)
        if (m->net_ports[j].host_port == p->host_port && m->net_ports[j].proto == p->proto)
          return ch_chutefile_error (m, &m->ports.v[i], err, "host port %u/%s is already forwarded at %u:%u (%s)",
                                    p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp", m->ports.v[j].line,
                                    m->ports.v[j].col, m->ports.v[j].path);
      ch_strv_append (&m->chute.ports, m->ports.v[i].s);
    }
  return 0;
}

static int
wifi_kv (struct ch_chutefile *m, const struct ch_mval *v, const char *key, const char *value, ch_error_t *err)
{
  if (ch_wifi_parse_kv (key, value, &m->wifi_cfg, err) < 0)
    return at (m, v, err);
  return 0;
}

static int
check_wifi (struct ch_chutefile *m, ch_error_t *err)
{
  struct ch_wifi_config *c = &m->wifi_cfg;
  cleanup_free char *dhcp = NULL;
  int r;

  ch_wifi_config_defaults (c);
  m->maxassoc = -1;
  if (m->wifi.s == NULL)
    return 0;
  if (m->wifi_type.s && strcmp (m->wifi_type.s, "wifi") != 0 && strcmp (m->wifi_type.s, "wifi-ap") != 0)
    return ch_chutefile_error (m, &m->wifi_type, err, "type `%s`: only a Wi-Fi access point (wifi, wifi-ap) is supported",
                              m->wifi_type.s);
  if (m->wifi_ssid.s == NULL)
    return ch_chutefile_error (m, &m->wifi, err, "ssid: missing (the network's name, 1 to 32 bytes)");
  /* the spec chute.json keeps is comma-separated KEY=VALUE */
  if (strchr (m->wifi_ssid.s, ',') || (m->wifi_key.s && strchr (m->wifi_key.s, ',')))
    return ch_chutefile_error (m, strchr (m->wifi_ssid.s, ',') ? &m->wifi_ssid : &m->wifi_key, err,
                              "a `,` cannot be stored in a chute's Wi-Fi spec yet");
  if (wifi_kv (m, &m->wifi_ssid, "ssid", m->wifi_ssid.s, err) < 0
      || (m->wifi_key.s && wifi_kv (m, &m->wifi_key, "key", m->wifi_key.s, err) < 0)
      || (m->wifi_intf.s && wifi_kv (m, &m->wifi_intf, "intfName", m->wifi_intf.s, err) < 0))
    return -1;
  if (c->intf == NULL)
    c->intf = xstrdup ("wlan0");
  if ((r = boolean (m, &m->wifi_hidden, err)) < 0)
    return -1;
  m->hidden = r;
  if ((r = boolean (m, &m->wifi_isolate, err)) < 0)
    return -1;
  m->isolate = r;
  if (m->wifi_maxassoc.s && ch_parse_int (m->wifi_maxassoc.s, 0, 2007, &m->maxassoc, err) < 0)
    return at (m, &m->wifi_maxassoc, err);
  /* START:LIMIT:LEASE through --wifi's dhcp= rule (the subnet is a /24) */
  {
    cleanup_free char *lease = xasprintf ("%llus", (unsigned long long) c->lease_secs);
    cleanup_free char *start = xasprintf ("%u", c->dhcp_start), *lim = xasprintf ("%u", c->dhcp_limit);
    dhcp = xasprintf ("%s:%s:%s", m->dhcp_start.s ? m->dhcp_start.s : start, m->dhcp_limit.s ? m->dhcp_limit.s : lim,
                      m->dhcp_lease.s ? m->dhcp_lease.s : lease);
    if (wifi_kv (m, m->dhcp.s ? &m->dhcp : &m->wifi, "dhcp", dhcp, err) < 0)
      return -1;
  }
  m->chute.wifi = xasprintf ("ssid=%s%s%s,intf=%s,dhcp=%u:%u:%llus", c->ssid, c->key ? ",key=" : "",
                             c->key ? c->key : "", c->intf, c->dhcp_start, c->dhcp_limit,
                             (unsigned long long) c->lease_secs);
  return 0;
}

/* `net: none` is `run --net none`: the chute's own empty netns, no
 * bridge, veth or address (netns/net.h). What needs the bridge is refused
 * with it, as run refuses those flags with --net none. */
static int
check_net (struct ch_chutefile *m, ch_error_t *err)
{
  const struct ch_mval *v = &m->net_mode, *needs;
  cleanup_error ch_error_t e = NULL;
  enum ch_net_mode mode;

  if (v->s == NULL)
    return 0;
  /* run's words; host and container:NAME are not a deployed chute's */
  if (ch_net_parse_mode (v->s, &mode, &e) < 0 || (mode != CH_NET_NONE && mode != CH_NET_BRIDGE))
    return ch_chutefile_error (m, v, err, "`%s`: want none, bridge or a mapping (wifi, ports)", v->s);
  if (mode == CH_NET_BRIDGE)
    return 0;
  /* check_resources parsed the rates: a 0 one is no shaping */
  needs = m->ports.n ? &m->ports.v[0]
          : m->wifi.s ? &m->wifi
          : m->chute.wan_down ? &m->wan_down
          : m->chute.wan_up ? &m->wan_up
                            : NULL;
  if (needs)
    return ch_chutefile_error (m, needs, err, "needs the bridge network, not net: none (at %u:%u)", v->line, v->col);
  if (m->n_svc > 1)
    return ch_chutefile_error (m, v, err, "the services of a chute share one bridge network: none is for one service");
  m->chute.net_mode = xstrdup ("none");
  return 0;
}

static int
duration (const struct ch_chutefile *m, const struct ch_mval *v, uint64_t dflt, uint64_t *out, ch_error_t *err)
{
  *out = dflt;
  if (v->s && ch_parse_duration (v->s, out, err) < 0)
    return at (m, v, err);
  if (v->s && *out == 0)
    return ch_chutefile_error (m, v, err, "want a duration above 0 (e.g. 2s, 1m)");
  return 0;
}

static int
port_number (const struct ch_chutefile *m, const struct ch_mval *v, const char *s, ch_error_t *err)
{
  int64_t n;

  if (ch_parse_int (s, 1, 65535, &n, err) < 0)
    return at (m, v, err);
  return 0;
}

static int
check_health (struct ch_chutefile *m, ch_error_t *err)
{
  int probes = !!m->health_http.s + !!m->health_tcp.s + !!m->health_exec.n;

  m->health_kind = CH_HEALTH_ALIVE;
  if (probes > 1)
    return ch_chutefile_error (m, &m->health, err, "give one probe: http, tcp or exec");
  if (m->health_http.s)
    {
      const char *slash = strchr (m->health_http.s, '/');
      cleanup_free char *port = slash ? xstrndup (m->health_http.s, slash - m->health_http.s) : NULL;
      if (slash == NULL)
        return ch_chutefile_error (m, &m->health_http, err, "`%s`: want PORT/PATH (e.g. 80/ or 8080/healthz)",
                                  m->health_http.s);
      if (port_number (m, &m->health_http, port, err) < 0)
        return -1;
      /* the path goes into the probe's request line as written */
      for (const char *c = slash; *c; c++)
        if (*c <= ' ' || *c >= 0x7f)
          return ch_chutefile_error (m, &m->health_http, err,
                                     "the path may hold no space or control character (percent-encode it)");
      m->health_kind = CH_HEALTH_HTTP;
    }
  if (m->health_tcp.s)
    {
      if (port_number (m, &m->health_tcp, m->health_tcp.s, err) < 0)
        return -1;
      m->health_kind = CH_HEALTH_TCP;
    }
  if (m->health_exec.n)
    m->health_kind = CH_HEALTH_EXEC;
  if (duration (m, &m->health_interval, 2, &m->health_interval_s, err) < 0
      || duration (m, &m->health_timeout, 30, &m->health_timeout_s, err) < 0
      || duration (m, &m->health_grace, 3, &m->health_grace_s, err) < 0)
    return -1;
  return 0;
}

static int
check_volumes (struct ch_chutefile *m, ch_error_t *err)
{
  for (size_t i = 0; i < m->vol_name.n; i++)
    {
      const struct ch_mval *p = &m->vol_path.v[i];
      /* a volume is a directory under the chute's: named as a chute is */
      if (ch_chute_name_check (m->vol_name.v[i].s, err) < 0)
        return at (m, &m->vol_name.v[i], err);
      if (p->s[0] != '/' || strcmp (p->s, "/") == 0 || strstr (p->s, "/../") || ch_has_suffix (p->s, "/.."))
        return ch_chutefile_error (m, p, err, "`%s`: want an absolute path inside the chute, not / and without ..",
                                  p->s);
      for (size_t j = 0; j < i; j++)
        if (strcmp (m->vol_path.v[j].s, p->s) == 0)
          return ch_chutefile_error (m, p, err, "`%s` is already the mount point of volume `%s`", p->s,
                                    m->vol_name.v[j].s);
    }
  return 0;
}

/* V: a path down into the chute's directory (a Dockerfile, a source dir) */
static int
inside_dir (const struct ch_chutefile *m, const struct ch_mval *v, ch_error_t *err)
{
  const char *f = v->s;
  size_t n = strlen (f);

  if (*f == '/' || strcmp (f, "..") == 0 || strncmp (f, "../", 3) == 0 || strstr (f, "/../")
      || (n >= 3 && strcmp (f + n - 3, "/..") == 0))
    return ch_chutefile_error (m, v, err, "`%s`: a path inside the chute's directory", f);
  return 0;
}

static int
check_service (struct ch_chutefile *m, struct ch_mservice *s, ch_error_t *err)
{
  if (s->name.s && ch_chute_name_check_new (s->name.s, err) < 0)
    return at (m, &s->name, err);
  if (m->n_svc > 1)
    {
      /* a pod's service runs as chute CHUTE+SERVICE (mgmt/pod.h): a name too */
      cleanup_free char *full = xasprintf ("%s%c%s", m->name.s, CH_POD_SEP, s->name.s);
      if (ch_chute_name_check (full, err) < 0)
        return at (m, &s->name, err);
    }
  if (s->type.s && strcmp (s->type.s, "light") != 0 && strcmp (s->type.s, "normal") != 0
      && strcmp (s->type.s, "image") != 0)
    return ch_chutefile_error (m, &s->type, err, "`%s`: want light, normal or image", s->type.s);
  if (s->type.s && strcmp (s->type.s, "normal") == 0)
    {
      /* built from SOURCE/Dockerfile (mgmt/engine_build.c) */
      if (s->image.s)
        return ch_chutefile_error (m, &s->image, err, "a normal service is built from the Dockerfile in its source: "
                                                      "give no image: (or type: image)");
      if (s->source.s && inside_dir (m, &s->source, err) < 0)
        return -1;
    }
  else if (s->type.s && strcmp (s->type.s, "light") == 0)
    {
      /* its source on a base named by image: (python2, node: mgmt/build_light.c) */
      if (s->image.s == NULL)
        return ch_chutefile_error (m, &s->type, err, "a light service names its base with image: (python2, node, ...)");
      if (s->command.n == 0)
        return ch_chutefile_error (m, &s->type, err, "a light service needs its command:");
      if (s->source.s && inside_dir (m, &s->source, err) < 0)
        return -1;
    }
  else if (s->image.s == NULL && m->dockerfile.s && m->n_svc == 1)
    {
      /* built on the AP (mgmt/engine_build.c): a path down into the chute's dir */
      if (inside_dir (m, &m->dockerfile, err) < 0)
        return -1;
    }
  else if (s->image.s == NULL)
    return ch_chutefile_error (m, m->n_svc > 1 ? &s->name : &m->at, err, "image: missing (the image to run)");
  for (const char *p = s->image.s; p && *p; p++)
    if ((unsigned char) *p <= ' ' || *p == 0x7f)
      return ch_chutefile_error (m, &s->image, err, "an image reference has no spaces or control characters");
  if (s->cpu_fraction.s)
    {
      char *end;
      double d = strtod (s->cpu_fraction.s, &end);
      if (*end || end == s->cpu_fraction.s || !isfinite (d) || d <= 0 || d > 1)
        return ch_chutefile_error (m, &s->cpu_fraction, err, "`%s`: want a fraction above 0, at most 1",
                                  s->cpu_fraction.s);
    }
  if (boolean (m, &s->as_root, err) < 0)
    return -1;
  for (size_t i = 0; i < s->dns.n; i++)
    {
      struct in_addr a;
      if (inet_pton (AF_INET, s->dns.v[i].s, &a) != 1)
        return ch_chutefile_error (m, &s->dns.v[i], err, "`%s` is not an IPv4 address", s->dns.v[i].s);
    }
  return 0;
}

int
ch_chutefile_check (struct ch_chutefile *m, ch_error_t *err)
{
  int max;

  if (m->name.s == NULL)
    return ch_chutefile_error (m, &m->at, err, "name: missing (the chute's name)");
  if (ch_chute_name_check_new (m->name.s, err) < 0)
    return at (m, &m->name, err);
  m->chute.name = xstrdup (m->name.s);
  for (size_t i = 0; i < m->n_svc; i++)
    if (check_service (m, &m->svc[i], err) < 0)
      return -1;
  if (m->n_svc == 1)
    {
      free (m->chute.image);
      /* NULL for a chute built from its Dockerfile (set at deploy) */
      m->chute.image = m->svc[0].image.s ? xstrdup (m->svc[0].image.s) : NULL;
    }
  if (m->restart.s && ch_restart_parse (m->restart.s, &m->chute.restart, &max, err) < 0)
    return at (m, &m->restart, err);
  m->chute.restart_max = m->restart.s ? max : 0;
  if (m->web_service.s)
    {
      size_t i;
      for (i = 0; i < m->n_svc && strcmp (m->svc[i].name.s ? m->svc[i].name.s : "", m->web_service.s); i++)
        ;
      if (i == m->n_svc)
        return ch_chutefile_error (m, &m->web_service, err, "no service `%s` in this chute", m->web_service.s);
    }
  if (m->web_port.s && port_number (m, &m->web_port, m->web_port.s, err) < 0)
    return -1;
  if (check_resources (m, err) < 0 || check_net (m, err) < 0 || check_ports (m, err) < 0 || check_wifi (m, err) < 0
      || check_health (m, err) < 0 || check_volumes (m, err) < 0)
    return -1;
  return 0;
}
