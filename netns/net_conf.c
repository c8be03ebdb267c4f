/* Bridge name, subnet, MTU and DNS of chute networks: ROOT/net/config.json,
 * overridden by CHUTED_BRIDGE / CHUTED_SUBNET / CHUTED_MTU / CHUTED_DNS;
 * where the bridge's shared state lives: CHUTED_NET_ROOT. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 10.213/24: clear of the 192.168.x LANs APs hand out, Docker's 172.17/16
 * and podman's 10.88/16. */
#define DEFAULT_BRIDGE "chuted0"
#define DEFAULT_SUBNET "10.213.0.0/24"
#define DEFAULT_MTU 1500
/* every root on a host shares it; persistent like the leases it holds */
#define DEFAULT_NET_ROOT "/var/lib/chuted-net"

char *
ch_net_ip4_str (uint32_t a)
{
  return xasprintf ("%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

int
ch_net_ip4_parse (const char *s, uint32_t *a, ch_error_t *err)
{
  struct in_addr in;
  if (inet_pton (AF_INET, s, &in) != 1)
    return ch_error (err, 0, "`%s` is not an IPv4 address", s);
  *a = ntohl (in.s_addr);
  return 0;
}

int
ch_net_cidr_parse (const char *s, uint32_t *net, int *prefix, ch_error_t *err)
{
  cleanup_free char *copy = xstrdup (s);
  char *slash = strchr (copy, '/');
  int64_t p;
  uint32_t a = 0;
  cleanup_error ch_error_t e = NULL;

  if (slash == NULL)
    return ch_error (err, 0, "subnet `%s` is not ADDRESS/PREFIX", s);
  *slash = '\0';
  if (ch_net_ip4_parse (copy, &a, err) < 0)
    return ch_error_prefix (err, "subnet `%s`", s);
  /* at least 4 addresses: network, gateway, one chute, broadcast */
  if (ch_parse_int (slash + 1, 8, 30, &p, &e) < 0)
    return ch_error (err, 0, "subnet `%s`: prefix must be 8-30", s);
  if (a & ~ch_net_mask ((int) p))
    return ch_error (err, 0, "subnet `%s` has host bits set", s);
  *net = a;
  *prefix = (int) p;
  return 0;
}

char *
ch_net_veth_name (uint32_t addr)
{
  return xasprintf ("chv-%08x", addr);
}

static void
add_host_dns (struct ch_net_conf *c)
{
  cleanup_free char *buf = NULL;
  cleanup_error ch_error_t e = NULL;
  char *line, *save = NULL;

  if (ch_read_file ("/etc/resolv.conf", &buf, NULL, &e) < 0)
    return;
  for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char ns[64];
      struct in_addr a;
      /* a loopback resolver (systemd-resolved, dnsmasq on lo) is not
         reachable from the chute's netns */
      if (sscanf (line, " nameserver %63s", ns) == 1 && inet_pton (AF_INET, ns, &a) == 1
          && (ntohl (a.s_addr) >> 24) != 127)
        ch_strv_append (&c->dns, ns);
    }
}

int
ch_net_conf_load (const char *root, struct ch_net_conf *c, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/net/config.json", root);
  cleanup_json json_t *j = NULL;
  const char *bridge = DEFAULT_BRIDGE, *subnet = DEFAULT_SUBNET, *net_root = DEFAULT_NET_ROOT, *env;
  json_int_t mtu = DEFAULT_MTU;
  json_t *dns = NULL;

  memset (c, 0, sizeof *c);
  if (access (path, F_OK) == 0)
    {
      json_t *v;
      if (ch_json_load_file (path, &j, err) < 0)
        return -1;
      if (!json_is_object (j))
        return ch_error (err, 0, "`%s`: not a JSON object", path);
      if ((v = json_object_get (j, "bridge")) && !(bridge = json_string_value (v)))
        return ch_error (err, 0, "`%s`: `bridge` must be a string", path);
      if ((v = json_object_get (j, "subnet")) && !(subnet = json_string_value (v)))
        return ch_error (err, 0, "`%s`: `subnet` must be a string", path);
      if ((v = json_object_get (j, "mtu")))
        {
          if (!json_is_integer (v))
            return ch_error (err, 0, "`%s`: `mtu` must be an integer", path);
          mtu = json_integer_value (v);
        }
      if ((dns = json_object_get (j, "dns")) && !json_is_array (dns))
        return ch_error (err, 0, "`%s`: `dns` must be an array of addresses", path);
    }
  if ((env = getenv ("CHUTED_BRIDGE")) && *env)
    bridge = env;
  if ((env = getenv ("CHUTED_SUBNET")) && *env)
    subnet = env;
  if ((env = getenv ("CHUTED_NET_ROOT")) && *env)
    net_root = env;
  if (net_root[0] != '/')
    return ch_error (err, 0, "CHUTED_NET_ROOT `%s` must be an absolute path", net_root);
  if ((env = getenv ("CHUTED_MTU")) && *env)
    {
      int64_t m;
      if (ch_parse_int (env, 576, 65535, &m, err) < 0)
        return ch_error_prefix (err, "CHUTED_MTU");
      mtu = m;
    }
  /* it names a directory of CHUTED_NET_ROOT too */
  if (strlen (bridge) == 0 || strlen (bridge) >= IFNAMSIZ || strchr (bridge, '/') || strchr (bridge, ' ')
      || strcmp (bridge, ".") == 0 || strcmp (bridge, "..") == 0)
    return ch_error (err, 0, "bridge name `%s` must be 1-%d characters without `/` or spaces, not `.` or `..`", bridge,
                     IFNAMSIZ - 1);
  if (mtu < 576 || mtu > 65535)
    return ch_error (err, 0, "mtu %lld out of range 576-65535", (long long) mtu);
  if (ch_net_cidr_parse (subnet, &c->net, &c->prefix, err) < 0)
    return -1;
  c->gw = c->net + 1;
  c->mtu = (int) mtu;
  c->bridge = xstrdup (bridge);
  c->nft_table = xasprintf ("chuted_%s", bridge);
  c->net_root = xstrdup (net_root);
  c->state_dir = xasprintf ("%s/%s", net_root, bridge);
  c->dns = xzalloc (sizeof (char *));

  if ((env = getenv ("CHUTED_DNS")) && *env)
    {
      cleanup_free char *copy = xstrdup (env);
      char *t, *save = NULL;
      for (t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
        {
          uint32_t a;
          if (ch_net_ip4_parse (t, &a, err) < 0)
            {
              ch_net_conf_clear (c);
              return ch_error_prefix (err, "CHUTED_DNS");
            }
          ch_strv_append (&c->dns, t);
        }
    }
  else if (dns)
    {
      size_t i;
      json_t *v;
      json_array_foreach (dns, i, v)
        {
          uint32_t a;
          if (!json_is_string (v) || ch_net_ip4_parse (json_string_value (v), &a, err) < 0)
            {
              ch_net_conf_clear (c);
              return ch_error (err, 0, "`%s`: `dns` must be an array of IPv4 addresses", path);
            }
          ch_strv_append (&c->dns, json_string_value (v));
        }
    }
  else
    add_host_dns (c);
  return 0;
}

void
ch_net_conf_clear (struct ch_net_conf *c)
{
  free (c->bridge);
  free (c->nft_table);
  free (c->net_root);
  free (c->state_dir);
  ch_strv_free (c->dns);
  memset (c, 0, sizeof *c);
}

char *
ch_net_netns_path (const char *run_root, const char *chute)
{
  return xasprintf ("%s/netns/%s", run_root, chute);
}

char *
ch_net_files_dir (const char *run_root, const char *chute)
{
  return xasprintf ("%s/net/%s", run_root, chute);
}
