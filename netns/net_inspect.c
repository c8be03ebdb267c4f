/* What `chuted inspect` and `chuted network ls|inspect` show. */
#include "netns/net_internal.h"

#include "common/util.h"

#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>

int
ch_net_inspect (const char *root, const char *run_root, const char *chute, json_t **out, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
  json_t *lease, *o, *iface;
  const char *veth;
  uint64_t st[4];

  if (ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  lease = ch_ipam_lease (l.ipam, l.root_id, chute);
  if (lease == NULL)
    {
      /* host mode, or a netns chuted did not make: only the caller knows */
      *out = json_object ();
      return 0;
    }
  o = json_pack ("{s:O}", "mode", json_object_get (lease, "mode"));
  if (json_object_get (lease, "address"))
    {
      cleanup_free char *gw = ch_net_ip4_str (l.conf.gw);
      cleanup_free char *a = xasprintf ("%s/%d", json_string_value (json_object_get (lease, "address")), l.conf.prefix);
      iface = json_array_get (json_object_get (lease, "ifaces"), 0);
      veth = json_string_value (json_object_get (iface, "host"));
      json_object_set_new (o, "address", json_string (a));
      json_object_set_new (o, "gateway", json_string (gw));
      json_object_set_new (o, "bridge", json_string (l.conf.bridge));
      json_object_set (o, "ports", json_object_get (lease, "ports"));
      json_object_set (o, "wan", json_object_get (lease, "wan"));
      if (veth)
        {
          json_object_set_new (o, "veth", json_string (veth));
          /* the host end receives what the chute sends */
          if (ch_nl_link_stats (l.sk, veth, st, err) < 0)
            {
              json_decref (o);
              return -1;
            }
          json_object_set_new (o, "counters",
                               json_pack ("{s:I, s:I, s:I, s:I}", "rx_bytes", (json_int_t) st[1], "tx_bytes",
                                          (json_int_t) st[0], "rx_packets", (json_int_t) st[3], "tx_packets",
                                          (json_int_t) st[2]));
        }
    }
  *out = o;
  return 0;
}

int
ch_net_network_info (const char *root, const char *run_root, json_t **out, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
  cleanup_free char *net = NULL, *gw = NULL, *subnet = NULL;
  json_t *o, *leases, *lease;
  const char *name;
  int br = 0;

  if (ch_net_lock_and_load (root, &l, err) < 0 || ch_nl_ifindex (l.sk, l.conf.bridge, &br, err) < 0)
    return -1;
  net = ch_net_ip4_str (l.conf.net);
  gw = ch_net_ip4_str (l.conf.gw);
  subnet = xasprintf ("%s/%d", net, l.conf.prefix);
  leases = json_array ();
  json_object_foreach (ch_ipam_leases (l.ipam), name, lease)
    {
      json_t *e = json_pack ("{s:O?, s:O?, s:O?}", "chute", json_object_get (lease, "chute"), "root",
                             json_object_get (lease, "root"), "mode", json_object_get (lease, "mode"));
      json_t *iface = json_array_get (json_object_get (lease, "ifaces"), 0);
      if (json_object_get (lease, "address"))
        {
          json_object_set (e, "address", json_object_get (lease, "address"));
          json_object_set (e, "veth", json_object_get (iface, "host"));
          json_object_set (e, "ports", json_object_get (lease, "ports"));
          json_object_set (e, "wan", json_object_get (lease, "wan"));
        }
      json_array_append_new (leases, e);
    }
  o = json_pack ("{s:s, s:s, s:s, s:i, s:b, s:s, s:o}", "bridge", l.conf.bridge, "subnet", subnet, "gateway", gw,
                 "mtu", l.conf.mtu, "present", br != 0, "nft_table", l.conf.nft_table, "leases", leases);
  json_object_set_new (o, "state_dir", json_string (l.conf.state_dir));
  {
    json_t *dns = json_array ();
    for (size_t i = 0; l.conf.dns[i]; i++)
      json_array_append_new (dns, json_string (l.conf.dns[i]));
    json_object_set_new (o, "dns", dns);
  }
  *out = o;
  return 0;
}

int
ch_net_join (const char *run_root, const char *chute, struct ch_net_result *res, ch_error_t *err)
{
  cleanup_free char *ns = ch_net_netns_path (run_root, chute);
  cleanup_free char *files = ch_net_files_dir (run_root, chute);
  struct statfs sf;

  memset (res, 0, sizeof *res);
  if (chute == NULL || *chute == '\0' || strchr (chute, '/') || strcmp (chute, ".") == 0 || strcmp (chute, "..") == 0)
    return ch_error (err, 0, "chute `%s`: not a single path component", chute ? chute : "");
  /* a netns file that is not (or no longer) a namespace's mount is no network */
  if (statfs (ns, &sf) < 0 || sf.f_type != NSFS_MAGIC)
    return 0;
  res->netns_path = steal_pointer (&ns);
  res->hosts_path = xasprintf ("%s/hosts", files);
  res->resolv_path = xasprintf ("%s/resolv.conf", files);
  return 1;
}
