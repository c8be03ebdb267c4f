/* Where the network state of a root's chutes lives, and its locks.
 * ROOT/net/network.json names the bridge (and NET_ROOT) the root's chutes
 * were last given; the bridge's IPAM (NET_ROOT/<bridge>/ipam.json, ipam.c)
 * is shared by every root using that bridge; ip_forward is host-wide.
 * Locks are taken in this order only: ROOT/net/lock, then one bridge's
 * NET_ROOT/<bridge>/ipam.lock, then NET_ROOT/ip_forward.lock. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

/* ip_forward goes on with the first NATed chute of any bridge and back to
 * what it was when the last one goes. The old value is recorded before
 * anything changes, so a crash cannot lose it. */
static int
ip_forward_lock (const struct ch_net_conf *c, int *fd, json_t **rec, char **path, ch_error_t *err)
{
  cleanup_free char *lock = xasprintf ("%s/ip_forward.lock", c->net_root);

  *path = xasprintf ("%s/ip_forward.json", c->net_root);
  if (ch_lock_file (lock, true, fd, err) < 0)
    return -1;
  if (access (*path, F_OK) < 0)
    *rec = json_pack ("{s:[]}", "bridges");
  else if (ch_json_load_file (*path, rec, err) < 0)
    return -1;
  if (!json_is_object (*rec) || !json_is_array (json_object_get (*rec, "bridges")))
    return ch_error (err, 0, "`%s`: not {\"orig\", \"bridges\": [...]}", *path);
  return 0;
}

static ssize_t
bridge_index (json_t *bridges, const char *bridge)
{
  size_t i;
  json_t *v;

  json_array_foreach (bridges, i, v)
    if (strcmp (json_string_value (v) ?: "", bridge) == 0)
      return (ssize_t) i;
  return -1;
}

/* ORIG: the value from before the first bridge, if known (a migrated root's) */
static int
ip_forward_hold (const struct ch_net_conf *c, json_t *ipam, const char *orig, ch_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_json json_t *rec = NULL;
  cleanup_free char *path = NULL;
  json_t *bridges;

  if (json_is_true (json_object_get (ipam, "ip_forward_held")))
    return 0;
  if (ip_forward_lock (c, &fd, &rec, &path, err) < 0)
    return ch_error_prefix (err, "ip_forward");
  bridges = json_object_get (rec, "bridges");
  if (json_array_size (bridges) == 0)
    {
      cleanup_free char *v = NULL;
      if (orig == NULL && ch_read_file (IP_FORWARD, &v, NULL, err) < 0)
        return -1;
      json_object_set_new (rec, "orig", json_string (orig ? orig : v[0] == '1' ? "1" : "0"));
    }
  if (bridge_index (bridges, c->bridge) < 0)
    {
      json_array_append_new (bridges, json_string (c->bridge));
      if (ch_json_save_file (path, rec, 0600, err) < 0)
        return -1;
    }
  json_object_set_new (ipam, "ip_forward_held", json_true ());
  return 0;
}

int
ch_net_ip_forward_hold (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  return ip_forward_hold (c, ipam, NULL, err);
}

int
ch_net_ip_forward_release (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_json json_t *rec = NULL;
  cleanup_free char *path = NULL;
  json_t *bridges;
  ssize_t i;

  if (!json_is_true (json_object_get (ipam, "ip_forward_held")))
    return 0;
  if (ip_forward_lock (c, &fd, &rec, &path, err) < 0)
    return ch_error_prefix (err, "ip_forward");
  bridges = json_object_get (rec, "bridges");
  if ((i = bridge_index (bridges, c->bridge)) >= 0)
    json_array_remove (bridges, (size_t) i);
  if (json_array_size (bridges) == 0)
    {
      const char *orig = json_string_value (json_object_get (rec, "orig"));
      if (orig && strcmp (orig, "0") == 0 && ch_write_file (IP_FORWARD, "0\n", 2, 0644, err) < 0)
        return -1;
      json_object_del (rec, "orig");
    }
  if (ch_json_save_file (path, rec, 0600, err) < 0)
    return -1;
  json_object_del (ipam, "ip_forward_held");
  return 0;
}

/* route_localnet on the bridge alone lets the host's own connections to
 * 127.x, DNATed to a chute, leave through it (nft.c masquerades them).
 * The bridge is chuted's, but its value from before is kept in ipam.json
 * ("route_localnet_orig", saved before it changes) and written back when
 * no chute of the bridge publishes a port any more. Packets from chutes to
 * 127.x are still dropped by the table's input chain. */
static bool
publishes (json_t *ipam)
{
  const char *key;
  json_t *lease;

  json_object_foreach (ch_ipam_leases (ipam), key, lease)
    if (json_object_get (lease, "address") && json_array_size (json_object_get (lease, "ports")) > 0)
      return true;
  return false;
}

int
ch_net_route_localnet_sync (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("/proc/sys/net/ipv4/conf/%s/route_localnet", c->bridge);
  const char *orig = json_string_value (json_object_get (ipam, "route_localnet_orig"));

  if (publishes (ipam))
    {
      /* a bridge deleted behind our back: the next setup makes it again */
      if (access (path, F_OK) < 0)
        return 0;
      if (orig == NULL)
        {
          cleanup_free char *v = NULL;
          if (ch_read_file (path, &v, NULL, err) < 0)
            return ch_error_prefix (err, "route_localnet");
          json_object_set_new (ipam, "route_localnet_orig", json_string (v[0] == '1' ? "1" : "0"));
          if (ch_ipam_save (c, ipam, err) < 0)
            return -1;
        }
      /* also when recorded: the bridge may have been made again since */
      if (ch_write_file (path, "1\n", 2, 0644, err) < 0)
        return ch_error_prefix (err, "route_localnet");
      return 0;
    }
  if (orig == NULL)
    return 0;
  /* a bridge that is gone took its value with it */
  if (strcmp (orig, "0") == 0 && access (path, F_OK) == 0 && ch_write_file (path, "0\n", 2, 0644, err) < 0)
    return ch_error_prefix (err, "route_localnet");
  json_object_del (ipam, "route_localnet_orig");
  return 0;
}

/* Remove the bridge and table recorded in IPAM (made by chuted, left
 * behind by the last chute); nothing recorded: those of the configuration. */
int
ch_net_remove_network (struct nl_sock *sk, json_t *ipam, const struct ch_net_conf *c, ch_error_t *err)
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
  json_object_del (ipam, "route_localnet_orig");
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
int
ch_net_drop_stale_network (struct ch_net_locked *l, ch_error_t *err)
{
  const char *br, *subnet;
  cleanup_free char *want = NULL;

  if (!recorded_differs (l, &br, &subnet, &want))
    return 0;
  if (ch_net_remove_network (l->sk, l->ipam, &l->conf, err) < 0)
    return ch_error_prefix (err, "remove the old network %s %s", br, subnet);
  return 0;
}

void
ch_net_locked_release (struct ch_net_locked *l)
{
  ch_nl_closep (&l->sk);
  free (l->changed);
  free (l->root_id);
  if (l->ipam)
    json_decref (l->ipam);
  ch_net_conf_clear (&l->conf);
  if (l->lock >= 0)
    close (l->lock);
  if (l->root_lock >= 0)
    close (l->root_lock);
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
  if (l->changed == NULL)
    l->changed = xasprintf ("the network changed from %s %s to %s %s while %zu chutes hold addresses on it", br,
                            subnet, l->conf.bridge, want, ch_ipam_bridge_leases (l->ipam));
  if (ch_net_cidr_parse (subnet, &l->conf.net, &l->conf.prefix, err) < 0)
    return ch_error_prefix (err, "ipam.json");
  l->conf.gw = l->conf.net + 1;
  return 0;
}

/* Before bridges kept their own state, each root kept ROOT/net/ipam.json.
 * Its leases move into the bridge's state the first time the root locks
 * that bridge, so chutes started before an upgrade keep their addresses
 * and are still torn down; the old file stays as ipam.json.migrated. */
static int
migrate_legacy (const char *root_id, const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/net/ipam.json", root_id);
  cleanup_free char *done = xasprintf ("%s/net/ipam.json.migrated", root_id);
  cleanup_json json_t *old = NULL;
  const char *br, *name, *orig;
  json_t *lease, *t;

  if (access (path, F_OK) < 0)
    return 0;
  if (ch_json_load_file (path, &old, err) < 0)
    return -1;
  br = json_string_value (json_object_get (old, "bridge"));
  if (br && strcmp (br, c->bridge) != 0)
    return 0; /* moved when that bridge is locked */
  json_object_foreach (json_object_get (old, "leases"), name, lease)
    {
      cleanup_free char *key = ch_ipam_key (root_id, name);
      if (!json_is_object (lease) || json_object_get (ch_ipam_leases (ipam), key))
        continue;
      lease = json_deep_copy (lease);
      json_object_set_new (lease, "root", json_string (root_id));
      json_object_set_new (lease, "chute", json_string (name));
      json_object_set_new (ch_ipam_leases (ipam), key, lease);
    }
  if (br && !json_object_get (ipam, "bridge"))
    {
      json_object_set (ipam, "bridge", json_object_get (old, "bridge"));
      json_object_set (ipam, "subnet", json_object_get (old, "subnet"));
    }
  json_object_foreach (json_object_get (old, "released"), name, t)
    if (json_is_integer (t))
      {
        ch_net_released_add (ipam, name, root_id);
        json_object_set (json_object_get (json_object_get (ipam, "released"), name), "at", t);
      }
  orig = json_string_value (json_object_get (old, "ip_forward_orig"));
  if (ch_ipam_bridge_leases (ipam) > 0 && ip_forward_hold (c, ipam, orig, err) < 0)
    return -1;
  if (ch_ipam_save (c, ipam, err) < 0)
    return -1;
  if (rename (path, done) < 0)
    return ch_error (err, errno, "rename `%s`", path);
  return 0;
}

static size_t
root_leases (json_t *ipam, const char *root_id)
{
  const char *key;
  json_t *lease;
  size_t n = 0;

  json_object_foreach (ch_ipam_leases (ipam), key, lease)
    if (strcmp (json_string_value (json_object_get (lease, "root")) ?: "", root_id) == 0)
      n++;
  return n;
}

static void
conf_move (struct ch_net_conf *c, const char *bridge, const char *net_root)
{
  char *b = xstrdup (bridge), *n = xstrdup (net_root);

  free (c->bridge);
  free (c->net_root);
  free (c->state_dir);
  free (c->nft_table);
  c->bridge = b;
  c->net_root = n;
  c->state_dir = xasprintf ("%s/%s", n, b);
  c->nft_table = xasprintf ("chuted_%s", b);
}

/* The configuration names another bridge (or NET_ROOT) than the one this
 * root's chutes were given (OLD_BRIDGE under OLD_NET_ROOT). While some of
 * them still have leases there, the old one stays in use (*FOLLOW); else
 * the old bridge and table go, unless chutes of other roots still hold
 * addresses on it. Only the old bridge's lock is held meanwhile. */
static int
leave_old_bridge (struct ch_net_locked *l, const char *old_bridge, const char *old_net_root, bool *follow,
                  ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked old = { .lock = -1, .root_lock = -1 };
  size_t mine;

  *follow = false;
  old.conf = (struct ch_net_conf){ .net = l->conf.net, .prefix = l->conf.prefix, .gw = l->conf.gw,
                                   .mtu = l->conf.mtu, .dns = xzalloc (sizeof (char *)) };
  conf_move (&old.conf, old_bridge, old_net_root);
  if (ch_ipam_lock (&old.conf, &old.lock, err) < 0 || ch_ipam_load (&old.conf, &old.ipam, err) < 0
      || migrate_legacy (l->root_id, &old.conf, old.ipam, err) < 0)
    return -1;
  mine = root_leases (old.ipam, l->root_id);
  if (mine > 0)
    {
      const char *subnet = json_string_value (json_object_get (old.ipam, "subnet"));
      cleanup_free char *net = ch_net_ip4_str (l->conf.net);
      l->changed = xasprintf ("the network changed from %s %s to %s %s/%d while %zu chute%s of this root use%s it",
                              old_bridge, subnet ?: "", l->conf.bridge, net, l->conf.prefix, mine,
                              mine == 1 ? "" : "s", mine == 1 ? "s" : "");
      conf_move (&l->conf, old_bridge, old_net_root);
      l->lock = steal_fd (&old.lock);
      l->ipam = steal_pointer (&old.ipam);
      *follow = true;
      return 0;
    }
  if (ch_ipam_bridge_leases (old.ipam) > 0 || !json_object_get (old.ipam, "bridge"))
    return 0;
  if (ch_nl_open (&old.sk, err) < 0 || ch_net_remove_network (old.sk, old.ipam, &old.conf, err) < 0
      || ch_net_ip_forward_release (&old.conf, old.ipam, err) < 0 || ch_ipam_save (&old.conf, old.ipam, err) < 0)
    return ch_error_prefix (err, "remove the old network %s", old_bridge);
  return 0;
}

/* ROOT/net/network.json: {"bridge", "net_root"} */
static int
root_record (const char *root, struct ch_net_locked *l, bool *follow, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/net/network.json", root);
  cleanup_free char *legacy = xasprintf ("%s/net/ipam.json", root);
  cleanup_json json_t *rec = NULL;
  const char *br = NULL, *nr = NULL;

  *follow = false;
  if (access (path, F_OK) == 0)
    {
      if (ch_json_load_file (path, &rec, err) < 0)
        return -1;
      br = json_string_value (json_object_get (rec, "bridge"));
      nr = json_string_value (json_object_get (rec, "net_root"));
    }
  else if (access (legacy, F_OK) == 0)
    {
      /* a root from before: its leases are on the bridge its ipam.json names */
      if (ch_json_load_file (legacy, &rec, err) < 0)
        return -1;
      br = json_string_value (json_object_get (rec, "bridge"));
      nr = l->conf.net_root;
    }
  if (br && nr && strcmp (br, l->conf.bridge) == 0 && strcmp (nr, l->conf.net_root) == 0)
    return 0;
  if (br && nr && leave_old_bridge (l, br, nr, follow, err) < 0)
    return -1;
  if (*follow)
    return 0;
  json_decref (rec);
  rec = json_pack ("{s:s, s:s}", "bridge", l->conf.bridge, "net_root", l->conf.net_root);
  return ch_json_save_file (path, rec, 0600, err);
}

int
ch_net_lock_and_load (const char *root, struct ch_net_locked *l, ch_error_t *err)
{
  cleanup_free char *dir = xasprintf ("%s/net", root);
  cleanup_free char *lock = xasprintf ("%s/net/lock", root);
  bool follow;

  if (ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  /* canonical once the root exists: the same root always gives the same id */
  l->root_id = ch_ipam_root_id (root);
  if (ch_lock_file (lock, true, &l->root_lock, err) < 0
      || ch_net_conf_load (root, &l->conf, err) < 0 || root_record (root, l, &follow, err) < 0)
    return -1;
  if (!follow
      && (ch_ipam_lock (&l->conf, &l->lock, err) < 0 || ch_ipam_load (&l->conf, &l->ipam, err) < 0
          || migrate_legacy (l->root_id, &l->conf, l->ipam, err) < 0))
    return -1;
  if (follow_recorded (l, err) < 0 || ch_nl_open (&l->sk, err) < 0)
    return -1;
  return 0;
}
