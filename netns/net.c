/* Setup, teardown and reshaping of a chute's network. The lease is written
 * to the bridge's ipam.json before anything is made, so every later failure
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

static json_int_t
released_at (json_t *ipam, const char *veth)
{
  json_t *r = json_object_get (json_object_get (ipam, "released"), veth);
  return r ? json_integer_value (json_object_get (r, "at")) : -1;
}

bool
ch_net_released_recently (json_t *ipam, const char *veth)
{
  json_int_t t = released_at (ipam, veth);
  json_int_t now = boot_seconds ();
  /* a time ahead of now is from before a reboot */
  return t >= 0 && t <= now && now - t <= RELEASED_GRACE_S;
}

const char *
ch_net_released_by (json_t *ipam, const char *veth)
{
  return json_string_value (json_object_get (json_object_get (json_object_get (ipam, "released"), veth), "root"));
}

/* Entries go when their link is gone (ch_net_reap). */
void
ch_net_released_add (json_t *ipam, const char *veth, const char *root_id)
{
  json_t *rel = json_object_get (ipam, "released");

  if (!json_is_object (rel))
    {
      rel = json_object ();
      json_object_set_new (ipam, "released", rel);
    }
  json_object_set_new (rel, veth, json_pack ("{s:I, s:s}", "at", boot_seconds (), "root", root_id));
}

/* Undo everything of CHUTE; keep going past errors, report the first. */
int
ch_net_teardown_locked (struct ch_net_locked *l, const char *owner, const char *root, const char *run_root,
                        const char *chute, ch_error_t *err)
{
  cleanup_free char *nspath = ch_net_netns_path (run_root, chute);
  cleanup_free char *files = ch_net_files_dir (run_root, chute);
  cleanup_free char *key = ch_ipam_key (owner, chute);
  const struct ch_net_conf *c = &l->conf;
  json_t *ipam = l->ipam;
  json_t *lease = json_object_get (ch_ipam_leases (ipam), key);
  struct ch_net_ctx ctx = { root, run_root, chute, c, l->sk, nspath, lease };
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
          ch_net_released_add (ipam, json_string_value (json_object_get (iface, "host")), l->root_id);
      json_object_del (ch_ipam_leases (ipam), key);
      /* the bridge and the table stay (their removal costs ~80 ms of RCU
         grace periods, on every lone `chuted run --rm`); `chuted network
         prune` removes them */
      KEEP (ch_nft_apply (c, ipam, &e));
      KEEP (ch_net_route_localnet_sync (c, ipam, &e));
      if (ch_ipam_bridge_leases (ipam) == 0)
        KEEP (ch_net_ip_forward_release (c, ipam, &e));
      KEEP (ch_ipam_save (c, ipam, &e));
    }
#undef KEEP
  return ret;
}

/* Leases of other roots sharing the bridge count too: the bridge is theirs
 * as much as ours. */
static int
refuse_prune (struct ch_net_locked *l, size_t n, ch_error_t *err)
{
  cleanup_strv char **others = xzalloc (sizeof (char *));
  struct ch_buf list = { 0 };
  const char *key;
  json_t *lease;
  size_t i;
  int ret;

  json_object_foreach (ch_ipam_leases (l->ipam), key, lease)
    {
      const char *r = json_string_value (json_object_get (lease, "root")) ?: "?";
      if (json_object_get (lease, "address") && strcmp (r, l->root_id) != 0 && !ch_strv_contains (others, r))
        ch_strv_append (&others, r);
    }
  if (others[0] == NULL)
    return ch_error (err, 0, "%zu chute%s hold%s addresses on `%s`: remove %s first", n, n == 1 ? "" : "s",
                     n == 1 ? "s" : "", l->conf.bridge, n == 1 ? "it" : "them");
  for (i = 0; others[i]; i++)
    ch_buf_printf (&list, "%s%s", i ? ", " : "", others[i]);
  ret = ch_error (err, 0, "%zu chute%s hold%s addresses on `%s`, also of other roots (%s): remove %s first", n,
                  n == 1 ? "" : "s", n == 1 ? "s" : "", l->conf.bridge, list.data, n == 1 ? "it" : "them");
  free (list.data);
  return ret;
}

int
ch_net_prune (const char *root, const char *run_root, char **removed, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
  const char *rec;
  size_t n;
  int br = 0;

  *removed = NULL;
  if (ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  n = ch_ipam_bridge_leases (l.ipam);
  if (n > 0)
    return refuse_prune (&l, n, err);
  rec = json_string_value (json_object_get (l.ipam, "bridge"));
  if (ch_nl_ifindex (l.sk, rec ? rec : l.conf.bridge, &br, err) < 0)
    return -1;
  if (br)
    *removed = xstrdup (rec ? rec : l.conf.bridge);
  if (ch_net_remove_network (l.sk, l.ipam, &l.conf, err) < 0 || ch_net_ip_forward_release (&l.conf, l.ipam, err) < 0
      || ch_ipam_save (&l.conf, l.ipam, err) < 0)
    {
      free (*removed);
      *removed = NULL;
      return ch_error_prefix (err, "prune network");
    }
  return 0;
}

static int
new_lease (struct ch_net_locked *l, const char *run_root, const char *chute, const struct ch_net_config *cfg,
           char **address, ch_error_t *err)
{
  json_t *lease = json_object ();
  cleanup_free char *subnet = NULL;
  cleanup_free char *key = ch_ipam_key (l->root_id, chute);

  json_object_set_new (lease, "root", json_string (l->root_id));
  json_object_set_new (lease, "chute", json_string (chute));
  json_object_set_new (lease, "run_root", json_string (run_root));
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
      if (ch_net_drop_stale_network (l, err) < 0)
        {
          json_decref (lease);
          return -1;
        }
      /* forwards are tagged "chute:KEY" in a rule comment (at most 256 bytes with its header) */
      if (cfg->n_ports > 0 && strlen (key) > 240)
        {
          json_decref (lease);
          return ch_error (err, 0, "root `%s` and chute name are too long (> 240) to tag published ports", l->root_id);
        }
      if (ch_ipam_check_ports (l->ipam, cfg, err) < 0 || ch_nl_check_overlap (l->sk, &l->conf, err) < 0
          || ch_ipam_alloc (l->ipam, &l->conf, &a, err) < 0
          || ch_net_ip_forward_hold (&l->conf, l->ipam, err) < 0)
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
  json_object_set_new (ch_ipam_leases (l->ipam), key, lease);
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
  json_t *lease = ch_ipam_lease (l->ipam, l->root_id, chute);
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
      if (ch_write_file (IP_FORWARD, "1\n", 2, 0644, err) < 0 || ch_nft_apply (&l->conf, l->ipam, err) < 0
          || (cfg->n_ports > 0 && ch_net_route_localnet_sync (&l->conf, l->ipam, err) < 0))
        return -1;
      if ((cfg->wan_down_kbit || cfg->wan_up_kbit)
          && shape_lease (&ctx, cfg->wan_down_kbit, cfg->wan_up_kbit, err) < 0)
        return -1;
    }
  if (write_files (run_root, chute, &l->conf, cfg->hostname ? cfg->hostname : chute, address, res, err) < 0)
    return -1;
  if (ch_ipam_save (&l->conf, l->ipam, err) < 0)
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
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
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
  if (ch_ipam_lease (l.ipam, l.root_id, chute))
    return ch_error (err, 0, "chute `%s` already has a network", chute);
  if (new_lease (&l, run_root, chute, cfg, &address, err) < 0)
    return -1;
  /* from here on, the lease records what may exist */
  if (ch_ipam_save (&l.conf, l.ipam, err) < 0)
    {
      cleanup_free char *key = ch_ipam_key (l.root_id, chute);
      cleanup_error ch_error_t e = NULL;
      json_object_del (ch_ipam_leases (l.ipam), key);
      if (ch_ipam_bridge_leases (l.ipam) == 0)
        ch_net_ip_forward_release (&l.conf, l.ipam, &e);
      return -1;
    }
  if (setup_made (&l, root, run_root, chute, cfg, address, res, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      ch_net_result_clear (res);
      ch_net_teardown_locked (&l, l.root_id, root, run_root, chute, &e);
      return ch_error_prefix (err, "network of `%s`", chute);
    }
  return 0;
}

int
ch_net_teardown (const char *root, const char *run_root, const char *chute, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };

  if (check_name (chute, err) < 0 || ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  if (ch_net_teardown_locked (&l, l.root_id, root, run_root, chute, err) < 0)
    return ch_error_prefix (err, "tear down network of `%s`", chute);
  return 0;
}

int
ch_net_set_shaping (const char *root, const char *run_root, const char *chute, uint64_t down_kbit, uint64_t up_kbit,
                    ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
  cleanup_free char *nspath = ch_net_netns_path (run_root, chute);
  json_t *lease;
  struct ch_net_ctx ctx;

  if (check_name (chute, err) < 0 || ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  lease = ch_ipam_lease (l.ipam, l.root_id, chute);
  if (lease == NULL || json_object_get (lease, "address") == NULL)
    return ch_error (err, 0, "chute `%s` has no bridge network to shape", chute);
  ctx = (struct ch_net_ctx){ root, run_root, chute, &l.conf, l.sk, nspath, lease };
  if (shape_lease (&ctx, down_kbit, up_kbit, err) < 0)
    return -1;
  json_object_set_new (lease, "wan", json_pack ("{s:I, s:I}", "down_kbit", (json_int_t) down_kbit, "up_kbit",
                                                (json_int_t) up_kbit));
  return ch_ipam_save (&l.conf, l.ipam, err);
}
