/* Address leases and published ports, persisted in ROOT/net/ipam.json.
 * Callers hold ROOT/net/ipam.lock from load to save. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

int
ch_ipam_lock (const char *root, int *fd, ch_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/net", root);
  cleanup_free char *path = xasprintf ("%s/net/ipam.lock", root);

  if (ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  return ch_lock_file (path, true, fd, err);
}

int
ch_ipam_load (const char *root, json_t **out, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/net/ipam.json", root);
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
ch_ipam_save (const char *root, json_t *ipam, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/net/ipam.json", root);
  return ch_json_save_file (path, ipam, 0600, err);
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
              return ch_error (err, 0, "port %u/%s is already published by chute `%s`", p->host_port,
                               proto_name (p->proto), name);
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
