/* Address leases and published ports of one bridge, persisted in
 * NET_ROOT/<bridge>/ipam.json and shared by every root using the bridge.
 * Callers hold NET_ROOT/<bridge>/ipam.lock from load to save. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
ch_ipam_lock (const struct ch_net_conf *c, int *fd, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/ipam.lock", c->state_dir);

  if (ch_mkdir_p (c->state_dir, 0700, err) < 0)
    return ch_error_prefix (err, "network state of `%s`", c->bridge);
  return ch_lock_file (path, true, fd, err);
}

int
ch_ipam_load (const struct ch_net_conf *c, json_t **out, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/ipam.json", c->state_dir);
  json_t *j = NULL;

  if (access (path, F_OK) < 0)
    j = json_object ();
  else if (ch_json_load_file (path, &j, err) < 0)
    return -1;
  if (!json_is_object (j))
    {
      json_decref (j);
      return ch_error (err, 0, "`%s`: not a JSON object", path);
    }
  if (!json_is_object (json_object_get (j, "leases")))
    json_object_set_new (j, "leases", json_object ());
  *out = j;
  return 0;
}

int
ch_ipam_save (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/ipam.json", c->state_dir);
  return ch_json_save_file (path, ipam, 0600, err);
}

char *
ch_ipam_root_id (const char *root)
{
  char buf[PATH_MAX];
  return xstrdup (realpath (root, buf) ? buf : root);
}

/* A chute name holds no `/`, so ROOT_ID/NAME names one chute of one root. */
char *
ch_ipam_key (const char *root_id, const char *chute)
{
  return xasprintf ("%s/%s", root_id, chute);
}

json_t *
ch_ipam_lease (json_t *ipam, const char *root_id, const char *chute)
{
  cleanup_free char *key = ch_ipam_key (root_id, chute);
  return json_object_get (ch_ipam_leases (ipam), key);
}

json_t *
ch_ipam_leases (json_t *ipam)
{
  return json_object_get (ipam, "leases");
}

size_t
ch_ipam_bridge_leases (json_t *ipam)
{
  const char *name;
  json_t *l;
  size_t n = 0;

  json_object_foreach (ch_ipam_leases (ipam), name, l)
    if (json_object_get (l, "address"))
      n++;
  return n;
}

int
ch_ipam_alloc (json_t *ipam, const struct ch_net_conf *c, uint32_t *addr, ch_error_t *err)
{
  uint32_t last = c->net | ~ch_net_mask (c->prefix); /* broadcast */
  uint32_t a;

  for (a = c->gw + 1; a < last; a++)
    {
      const char *name;
      json_t *l;
      bool used = false;
      cleanup_free char *s = ch_net_ip4_str (a);

      json_object_foreach (ch_ipam_leases (ipam), name, l)
        {
          const char *la = json_string_value (json_object_get (l, "address"));
          if (la && strcmp (la, s) == 0)
            {
              used = true;
              break;
            }
        }
      if (!used)
        {
          *addr = a;
          return 0;
        }
    }
  {
    cleanup_free char *net = ch_net_ip4_str (c->net);
    return ch_error (err, 0, "no free address left in subnet %s/%d", net, c->prefix);
  }
}

static const char *
proto_name (int proto)
{
  return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Two publications clash when protocol and port match and the host
 * addresses overlap (no address = every address). */
static bool
clash (const char *ip_a, const char *ip_b)
{
  return ip_a == NULL || ip_b == NULL || strcmp (ip_a, ip_b) == 0;
}

int
ch_ipam_check_ports (json_t *ipam, const struct ch_net_config *cfg, ch_error_t *err)
{
  size_t i, k;

  for (i = 0; i < cfg->n_ports; i++)
    {
      const struct ch_net_port *p = &cfg->ports[i];
      const char *name;
      json_t *l, *v;

      for (k = 0; k < i; k++)
        if (cfg->ports[k].host_port == p->host_port && cfg->ports[k].proto == p->proto
            && clash (cfg->ports[k].host_ip, p->host_ip))
          return ch_error (err, 0, "port %u/%s is published twice", p->host_port, proto_name (p->proto));
      json_object_foreach (ch_ipam_leases (ipam), name, l)
        json_array_foreach (json_object_get (l, "ports"), k, v)
          {
            if (json_integer_value (json_object_get (v, "host_port")) == p->host_port
                && strcmp (json_string_value (json_object_get (v, "proto")) ?: "", proto_name (p->proto)) == 0
                && clash (json_string_value (json_object_get (v, "host_ip")), p->host_ip))
              return ch_error (err, 0, "port %u/%s is already published by chute `%s` of root %s", p->host_port,
                               proto_name (p->proto), json_string_value (json_object_get (l, "chute")) ?: name,
                               json_string_value (json_object_get (l, "root")) ?: "?");
          }
    }
  return 0;
}

json_t *
ch_ipam_ports_json (const struct ch_net_config *cfg)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < cfg->n_ports; i++)
    {
      json_t *p = json_pack ("{s:I, s:I, s:s}", "host_port", (json_int_t) cfg->ports[i].host_port, "chute_port",
                             (json_int_t) cfg->ports[i].chute_port, "proto", proto_name (cfg->ports[i].proto));
      if (cfg->ports[i].host_ip)
        json_object_set_new (p, "host_ip", json_string (cfg->ports[i].host_ip));
      json_array_append_new (a, p);
    }
  return a;
}
