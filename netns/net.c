/* Setup, teardown and reshaping of a chute's network. The lease is written
 * to ROOT/net/ipam.json before anything is made, so every later failure
 * (or a crash) leaves a record teardown and the reaper can undo. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

/* The naming rule is mgmt's (ch_chute_name_check); this only refuses what
 * would put a file outside our directories. */
static int
check_name (const char *chute, ch_error_t *err)
{
  if (chute == NULL || *chute == '\0' || strchr (chute, '/') || strcmp (chute, ".") == 0 || strcmp (chute, "..") == 0)
    return ch_error (err, 0, "chute `%s`: not a single path component", chute ? chute : "");
  return 0;
}

static int
lo_up (const char *netns_path, ch_error_t *err)
{
  cleanup_nl struct nl_sock *ns = NULL;
  int lo;

  if (ch_nl_open_in_netns (netns_path, &ns, err) < 0 || ch_nl_ifindex (ns, "lo", &lo, err) < 0)
    return -1;
  return ch_nl_link_up (ns, lo, err);
}

/* ip_forward goes on with the first NATed chute and back to what it was
 * when the last one goes. The old value is recorded in ipam.json with the
 * first lease, before anything changes, so a crash cannot lose it. */
static int
ip_forward_record (json_t *ipam, ch_error_t *err)
{
  cleanup_free char *v = NULL;

  if (json_object_get (ipam, "ip_forward_orig"))
    return 0;
  if (ch_read_file (IP_FORWARD, &v, NULL, err) < 0)
    return -1;
  json_object_set_new (ipam, "ip_forward_orig", json_string (v[0] == '1' ? "1" : "0"));
  return 0;
}

int
ch_net_ip_forward_release (json_t *ipam, ch_error_t *err)
{
  const char *orig = json_string_value (json_object_get (ipam, "ip_forward_orig"));
  if (orig == NULL)
    return 0;
  if (strcmp (orig, "0") == 0 && ch_write_file (IP_FORWARD, "0\n", 2, 0644, err) < 0)
    return -1;
  json_object_del (ipam, "ip_forward_orig");
  return 0;
}

static int
write_files (const char *run_root, const char *chute, const struct ch_net_conf *c, const char *hostname,
             const char *address, struct ch_net_result *res, ch_error_t *err)
{
  cleanup_free char *dir = ch_net_files_dir (run_root, chute);
  cleanup_free char *hosts = xasprintf ("%s/hosts", dir);
  cleanup_free char *resolv = xasprintf ("%s/resolv.conf", dir);
  struct ch_buf h = { 0 }, r = { 0 };
  size_t i;
  int ret;

  if (ch_mkdir_p (dir, 0755, err) < 0)
    return -1;
  ch_buf_printf (&h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  ch_buf_printf (&h, "%s\t%s\n", address ? address : "127.0.1.1", hostname);
  if (address)
    for (i = 0; c->dns[i]; i++)
      ch_buf_printf (&r, "nameserver %s\n", c->dns[i]);
  if (r.len == 0)
    ch_buf_printf (&r, "# %s\n", address ? "no upstream nameserver known to chuted" : "no network");
  ret = ch_write_file (hosts, h.data, h.len, 0644, err);
  if (ret == 0)
    ret = ch_write_file (resolv, r.data, r.len, 0644, err);
  free (h.data);
  free (r.data);
  if (ret < 0)
    return -1;
  res->hosts_path = steal_pointer (&hosts);
  res->resolv_path = steal_pointer (&resolv);
  return 0;
}

#define RELEASED_GRACE_S 5

static json_int_t
boot_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_BOOTTIME, &ts);
  return ts.tv_sec;
}

bool
ch_net_released_recently (json_t *ipam, const char *veth)
{
  json_t *t = json_object_get (json_object_get (ipam, "released"), veth);
  json_int_t now = boot_seconds ();
  /* a time ahead of now is from before a reboot */
  return t && json_integer_value (t) <= now && now - json_integer_value (t) <= RELEASED_GRACE_S;
}

void
ch_net_released_add (json_t *ipam, const char *veth)
{
  json_t *rel = json_object_get (ipam, "released");
  const char *name;
  json_t *t;
  void *tmp;

  if (!json_is_object (rel))
    {
      rel = json_object ();
      json_object_set_new (ipam, "released", rel);
    }
  json_object_foreach_safe (rel, tmp, name, t)
    if (!ch_net_released_recently (ipam, name))
      json_object_del (rel, name);
  json_object_set_new (rel, veth, json_integer (boot_seconds ()));
}

/* Undo everything of CHUTE; keep going past errors, report the first. */
int
ch_net_teardown_locked (const char *root, const char *run_root, const char *chute, const struct ch_net_conf *c,
                        struct nl_sock *sk, json_t *ipam, ch_error_t *err)
{
  cleanup_free char *nspath = ch_net_netns_path (run_root, chute);
  cleanup_free char *files = ch_net_files_dir (run_root, chute);
  json_t *lease = json_object_get (ch_ipam_leases (ipam), chute);
  struct ch_net_ctx ctx = { root, run_root, chute, c, sk, nspath, lease };
  cleanup_error ch_error_t e = NULL;
  int ret = 0;

#define KEEP(call)                                                                                                     \
  do                                                                                                                   \
    if ((call) < 0)                                                                                                    \
      {                                                                                                                \
        if (ret == 0)                                                                                                  \
          {                                                                                                            \
            *err = e;                                                                                                  \
            e = NULL;                                                                                                  \
            ret = -1;                                                                                                  \
          }                                                                                                            \
        else                                                                                                           \
          ch_error_release (&e);                                                                                       \
      }                                                                                                                \
  while (0)

  if (lease)
    {
      size_t i;
      json_t *iface;
      json_array_foreach (json_object_get (lease, "ifaces"), i, iface)
        {
          const struct ch_net_iface_kind *k = ch_net_iface_kind (json_string_value (json_object_get (iface, "kind")));
          if (k)
            KEEP (k->teardown (&ctx, iface, &e));
        }
    }
  KEEP (ch_netns_remove (nspath, &e));
  if (access (files, F_OK) == 0)
    KEEP (ch_rm_rf (files, &e));
  if (ret < 0)
    return ret; /* keep the lease: the next teardown or reap retries */
  if (lease)
    {
      size_t i;
      json_t *iface;
      json_array_foreach (json_object_get (lease, "ifaces"), i, iface)
        if (strcmp (json_string_value (json_object_get (iface, "kind")) ?: "", "veth") == 0
            && json_object_get (iface, "host"))
          ch_net_released_add (ipam, json_string_value (json_object_get (iface, "host")));
      json_object_del (ch_ipam_leases (ipam), chute);
      /* the bridge and the table stay (their removal costs ~80 ms of RCU
         grace periods, on every lone `chuted run --rm`); `chuted network
         prune` removes them */
      KEEP (ch_nft_apply (c, ipam, &e));
      if (ch_ipam_bridge_leases (ipam) == 0)
        KEEP (ch_net_ip_forward_release (ipam, &e));
      KEEP (ch_ipam_save (root, ipam, &e));
    }
#undef KEEP
  return ret;
}

/* Remove the bridge and table recorded in IPAM (made by chuted, left
 * behind by the last chute); nothing recorded: those of the configuration. */
static int
remove_network (struct nl_sock *sk, json_t *ipam, const struct ch_net_conf *c, ch_error_t *err)
{
  const char *br = json_string_value (json_object_get (ipam, "bridge"));
  cleanup_free char *table = NULL;

  if (br == NULL)
    br = c->bridge;
  table = xasprintf ("chuted_%s", br);
  if (ch_nft_table_del (table, err) < 0 || ch_nl_link_del (sk, br, err) < 0)
    return -1;
  json_object_del (ipam, "bridge");
  json_object_del (ipam, "subnet");
  return 0;
}

/* The bridge and subnet ipam.json records (*BR, *SUBNET) are not the ones
 * the configuration asks for (*WANT, "NET/PREFIX"); false when nothing is
 * recorded or they are the same. */
static bool
recorded_differs (struct ch_net_locked *l, const char **br, const char **subnet, char **want)
{
  cleanup_free char *net = ch_net_ip4_str (l->conf.net);

  *br = json_string_value (json_object_get (l->ipam, "bridge"));
  *subnet = json_string_value (json_object_get (l->ipam, "subnet"));
  *want = xasprintf ("%s/%d", net, l->conf.prefix);
  return *br && *subnet && (strcmp (*br, l->conf.bridge) != 0 || strcmp (*subnet, *want) != 0);
}

/* The network the configuration asks for is not the one recorded and no
 * chute holds an address on the old one: the old bridge and table go
 * before the new ones are made (a stale gateway address would shadow the
 * new subnet, or trip the overlap check). */
static int
drop_stale_network (struct ch_net_locked *l, ch_error_t *err)
{
  const char *br, *subnet;
  cleanup_free char *want = NULL;

  if (!recorded_differs (l, &br, &subnet, &want))
    return 0;
  if (remove_network (l->sk, l->ipam, &l->conf, err) < 0)
    return ch_error_prefix (err, "remove the old network %s %s", br, subnet);
  return 0;
}

int
ch_net_prune (const char *root, const char *run_root, char **removed, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1 };
  const char *rec;
  size_t n;
  int br = 0;

  *removed = NULL;
  if (ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  n = ch_ipam_bridge_leases (l.ipam);
  if (n > 0)
    return ch_error (err, 0, "%zu chute%s hold%s addresses on `%s`: remove %s first", n, n == 1 ? "" : "s",
                     n == 1 ? "s" : "", l.conf.bridge, n == 1 ? "it" : "them");
  rec = json_string_value (json_object_get (l.ipam, "bridge"));
  if (ch_nl_ifindex (l.sk, rec ? rec : l.conf.bridge, &br, err) < 0)
    return -1;
  if (br)
    *removed = xstrdup (rec ? rec : l.conf.bridge);
  if (remove_network (l.sk, l.ipam, &l.conf, err) < 0 || ch_net_ip_forward_release (l.ipam, err) < 0
      || ch_ipam_save (root, l.ipam, err) < 0)
    {
      free (*removed);
      *removed = NULL;
      return ch_error_prefix (err, "prune network");
    }
  return 0;
}

static int
new_lease (struct ch_net_locked *l, const char *chute, const struct ch_net_config *cfg, char **address, ch_error_t *err)
{
  json_t *lease = json_object ();
  cleanup_free char *subnet = NULL;

  json_object_set_new (lease, "mode", json_string (cfg->mode == CH_NET_BRIDGE ? "bridge" : "none"));
  if (cfg->mode == CH_NET_BRIDGE)
    {
      cleanup_free char *net = ch_net_ip4_str (l->conf.net);
      cleanup_free char *veth = NULL;
      uint32_t a;

      subnet = xasprintf ("%s/%d", net, l->conf.prefix);
      if (l->changed)
        {
          json_decref (lease);
          return ch_error (err, 0, "%s", l->changed);
        }
      if (drop_stale_network (l, err) < 0)
        {
          json_decref (lease);
          return -1;
        }
      if (ch_ipam_check_ports (l->ipam, cfg, err) < 0 || ch_nl_check_overlap (l->sk, &l->conf, err) < 0
          || ch_ipam_alloc (l->ipam, &l->conf, &a, err) < 0 || ip_forward_record (l->ipam, err) < 0)
        {
          json_decref (lease);
          return -1;
        }
      *address = ch_net_ip4_str (a);
      veth = ch_net_veth_name (a);
      json_object_set_new (lease, "address", json_string (*address));
      json_object_set_new (lease, "ifaces",
                           json_pack ("[{s:s, s:s, s:s}]", "kind", "veth", "name", "eth0", "host", veth));
      json_object_set_new (lease, "ports", ch_ipam_ports_json (cfg));
      json_object_set_new (lease, "wan", json_pack ("{s:I, s:I}", "down_kbit", (json_int_t) cfg->wan_down_kbit,
                                                    "up_kbit", (json_int_t) cfg->wan_up_kbit));
      json_object_set_new (l->ipam, "subnet", json_string (subnet));
      json_object_set_new (l->ipam, "bridge", json_string (l->conf.bridge));
    }
  json_object_set_new (ch_ipam_leases (l->ipam), chute, lease);
  return 0;
}

static int
shape_lease (struct ch_net_ctx *ctx, uint64_t down, uint64_t up, ch_error_t *err)
{
  size_t i;
  json_t *iface;

  json_array_foreach (json_object_get (ctx->lease, "ifaces"), i, iface)
    {
      const struct ch_net_iface_kind *k = ch_net_iface_kind (json_string_value (json_object_get (iface, "kind")));
      if (k && k->shape && k->shape (ctx, iface, down, up, err) < 0)
        return -1;
    }
  return 0;
}

static int
setup_made (struct ch_net_locked *l, const char *root, const char *run_root, const char *chute,
            const struct ch_net_config *cfg, const char *address, struct ch_net_result *res, ch_error_t *err)
{
  cleanup_free char *nspath = ch_net_netns_path (run_root, chute);
  json_t *lease = json_object_get (ch_ipam_leases (l->ipam), chute);
  struct ch_net_ctx ctx = { root, run_root, chute, &l->conf, l->sk, nspath, lease };
  size_t i;
  json_t *iface;

  if (ch_netns_create (nspath, err) < 0 || lo_up (nspath, err) < 0)
    return -1;
  json_array_foreach (json_object_get (lease, "ifaces"), i, iface)
    {
      const struct ch_net_iface_kind *k = ch_net_iface_kind (json_string_value (json_object_get (iface, "kind")));
      if (k == NULL)
        return ch_error (err, 0, "chute `%s`: unknown interface kind", chute);
      if (k->setup (&ctx, iface, err) < 0)
        return -1;
    }
  if (cfg->mode == CH_NET_BRIDGE)
    {
      if (ch_write_file (IP_FORWARD, "1\n", 2, 0644, err) < 0 || ch_nft_apply (&l->conf, l->ipam, err) < 0)
        return -1;
      if ((cfg->wan_down_kbit || cfg->wan_up_kbit)
          && shape_lease (&ctx, cfg->wan_down_kbit, cfg->wan_up_kbit, err) < 0)
        return -1;
    }
  if (write_files (run_root, chute, &l->conf, cfg->hostname ? cfg->hostname : chute, address, res, err) < 0)
    return -1;
  if (ch_ipam_save (root, l->ipam, err) < 0)
    return -1;
  res->netns_path = steal_pointer (&nspath);
  if (address)
    {
      res->address = xasprintf ("%s/%d", address, l->conf.prefix);
      res->gateway = ch_net_ip4_str (l->conf.gw);
    }
  return 0;
}

int
ch_net_setup (const char *root, const char *run_root, const char *chute, const struct ch_net_config *cfg,
              struct ch_net_result *res, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1 };
  cleanup_free char *address = NULL;

  memset (res, 0, sizeof *res);
  if (cfg->mode == CH_NET_HOST)
    return 0;
  if (check_name (chute, err) < 0)
    return -1;
  if (cfg->mode != CH_NET_BRIDGE && (cfg->n_ports || cfg->wan_down_kbit || cfg->wan_up_kbit))
    return ch_error (err, 0, "published ports and WAN limits need the bridge network");
  if (ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  if (json_object_get (ch_ipam_leases (l.ipam), chute))
    return ch_error (err, 0, "chute `%s` already has a network", chute);
  if (new_lease (&l, chute, cfg, &address, err) < 0)
    return -1;
  /* from here on, the lease records what may exist */
  if (ch_ipam_save (root, l.ipam, err) < 0)
    {
      json_object_del (ch_ipam_leases (l.ipam), chute);
      return -1;
    }
  if (setup_made (&l, root, run_root, chute, cfg, address, res, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      ch_net_result_clear (res);
      ch_net_teardown_locked (root, run_root, chute, &l.conf, l.sk, l.ipam, &e);
      return ch_error_prefix (err, "network of `%s`", chute);
    }
  return 0;
}

int
ch_net_teardown (const char *root, const char *run_root, const char *chute, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1 };

  if (check_name (chute, err) < 0 || ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  if (ch_net_teardown_locked (root, run_root, chute, &l.conf, l.sk, l.ipam, err) < 0)
    return ch_error_prefix (err, "tear down network of `%s`", chute);
  return 0;
}

int
ch_net_set_shaping (const char *root, const char *run_root, const char *chute, uint64_t down_kbit, uint64_t up_kbit,
                    ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1 };
  cleanup_free char *nspath = ch_net_netns_path (run_root, chute);
  json_t *lease;
  struct ch_net_ctx ctx;

  if (check_name (chute, err) < 0 || ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  lease = json_object_get (ch_ipam_leases (l.ipam), chute);
  if (lease == NULL || json_object_get (lease, "address") == NULL)
    return ch_error (err, 0, "chute `%s` has no bridge network to shape", chute);
  ctx = (struct ch_net_ctx){ root, run_root, chute, &l.conf, l.sk, nspath, lease };
  if (shape_lease (&ctx, down_kbit, up_kbit, err) < 0)
    return -1;
  json_object_set_new (lease, "wan", json_pack ("{s:I, s:I}", "down_kbit", (json_int_t) down_kbit, "up_kbit",
                                                (json_int_t) up_kbit));
  return ch_ipam_save (root, l.ipam, err);
}

void
ch_net_locked_release (struct ch_net_locked *l)
{
  ch_nl_closep (&l->sk);
  free (l->changed);
  if (l->ipam)
    json_decref (l->ipam);
  ch_net_conf_clear (&l->conf);
  if (l->lock >= 0)
    close (l->lock);
}

/* While chutes hold addresses, the network they were given stays the one
 * in use (teardown must find their bridge and table even if the config or
 * env changed since); a different configuration only refuses new chutes. */
static int
follow_recorded (struct ch_net_locked *l, ch_error_t *err)
{
  const char *br, *subnet;
  cleanup_free char *want = NULL;

  if (ch_ipam_bridge_leases (l->ipam) == 0 || !recorded_differs (l, &br, &subnet, &want))
    return 0;
  l->changed = xasprintf ("the network changed from %s %s to %s %s while %zu chutes hold addresses on it", br,
                          subnet, l->conf.bridge, want, ch_ipam_bridge_leases (l->ipam));
  if (ch_net_cidr_parse (subnet, &l->conf.net, &l->conf.prefix, err) < 0)
    return ch_error_prefix (err, "ipam.json");
  l->conf.gw = l->conf.net + 1;
  free (l->conf.bridge);
  free (l->conf.nft_table);
  l->conf.bridge = xstrdup (br);
  l->conf.nft_table = xasprintf ("chuted_%s", br);
  return 0;
}

int
ch_net_lock_and_load (const char *root, struct ch_net_locked *l, ch_error_t *err)
{
  if (ch_ipam_lock (root, &l->lock, err) < 0 || ch_net_conf_load (root, &l->conf, err) < 0
      || ch_ipam_load (root, &l->ipam, err) < 0 || follow_recorded (l, err) < 0 || ch_nl_open (&l->sk, err) < 0)
    return -1;
  return 0;
}
