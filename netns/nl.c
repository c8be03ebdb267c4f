/* Links, addresses and routes through libnl-route. */
#include "netns/net_internal.h"

#include "common/file.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

static void
link_putp (struct rtnl_link **l)
{
  if (*l)
    rtnl_link_put (*l);
}
#define cleanup_link __attribute__ ((cleanup (link_putp)))

static void
nladdr_putp (struct nl_addr **a)
{
  if (*a)
    nl_addr_put (*a);
}
#define cleanup_nladdr __attribute__ ((cleanup (nladdr_putp)))

static void
cache_freep (struct nl_cache **c)
{
  if (*c)
    nl_cache_free (*c);
}
#define cleanup_cache __attribute__ ((cleanup (cache_freep)))

static struct nl_addr *
ip4_addr (uint32_t a, int prefix)
{
  uint32_t be = htonl (a);
  struct nl_addr *n = nl_addr_build (AF_INET, &be, 4);
  nl_addr_set_prefixlen (n, prefix);
  return n;
}

int
ch_nl_open (struct nl_sock **sk, ch_error_t *err)
{
  struct nl_sock *s = nl_socket_alloc ();
  int r;

  if (s == NULL)
    return ch_error (err, ENOMEM, "netlink socket");
  r = nl_connect (s, NETLINK_ROUTE);
  if (r < 0)
    {
      nl_socket_free (s);
      return ch_error (err, 0, "netlink connect: %s", nl_geterror (r));
    }
  *sk = s;
  return 0;
}

void
ch_nl_closep (struct nl_sock **sk)
{
  if (*sk)
    nl_socket_free (*sk);
  *sk = NULL;
}

/* A socket belongs to the netns it was created in: enter the chute's netns
 * just long enough to create it. */
int
ch_nl_open_in_netns (const char *path, struct nl_sock **sk, ch_error_t *err)
{
  cleanup_close int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  cleanup_close int target = open (path, O_RDONLY | O_CLOEXEC);
  int r;

  if (self < 0)
    return ch_error (err, errno, "open `/proc/self/ns/net`");
  if (target < 0)
    return ch_error (err, errno, "open netns `%s`", path);
  if (setns (target, CLONE_NEWNET) < 0)
    return ch_error (err, errno, "setns `%s`", path);
  r = ch_nl_open (sk, err);
  if (setns (self, CLONE_NEWNET) < 0)
    {
      ch_nl_closep (sk);
      return ch_error (err, errno, "setns back to the host netns");
    }
  return r;
}

int
ch_nl_ifindex (struct nl_sock *sk, const char *name, int *ifindex, ch_error_t *err)
{
  cleanup_link struct rtnl_link *l = NULL;
  int r = rtnl_link_get_kernel (sk, 0, name, &l);

  *ifindex = 0;
  if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
    return 0;
  if (r < 0)
    return ch_error (err, 0, "get link `%s`: %s", name, nl_geterror (r));
  *ifindex = rtnl_link_get_ifindex (l);
  return 0;
}

int
ch_nl_link_up (struct nl_sock *sk, int ifindex, ch_error_t *err)
{
  cleanup_link struct rtnl_link *orig = rtnl_link_alloc ();
  cleanup_link struct rtnl_link *change = rtnl_link_alloc ();
  int r;

  rtnl_link_set_ifindex (orig, ifindex);
  rtnl_link_set_flags (change, IFF_UP);
  r = rtnl_link_change (sk, orig, change, 0);
  if (r < 0)
    return ch_error (err, 0, "set link %d up: %s", ifindex, nl_geterror (r));
  return 0;
}

int
ch_nl_addr_add (struct nl_sock *sk, int ifindex, uint32_t addr, int prefix, ch_error_t *err)
{
  struct rtnl_addr *a = rtnl_addr_alloc ();
  cleanup_nladdr struct nl_addr *local = ip4_addr (addr, prefix);
  cleanup_nladdr struct nl_addr *bcast = ip4_addr (addr | ~ch_net_mask (prefix), prefix);
  int r;

  rtnl_addr_set_ifindex (a, ifindex);
  rtnl_addr_set_family (a, AF_INET);
  rtnl_addr_set_local (a, local);
  rtnl_addr_set_broadcast (a, bcast);
  r = rtnl_addr_add (sk, a, 0);
  rtnl_addr_put (a);
  if (r < 0 && r != -NLE_EXIST)
    {
      cleanup_free char *s = ch_net_ip4_str (addr);
      return ch_error (err, 0, "add address %s/%d to link %d: %s", s, prefix, ifindex, nl_geterror (r));
    }
  return 0;
}

int
ch_nl_route_default (struct nl_sock *sk, int ifindex, uint32_t gw, ch_error_t *err)
{
  struct rtnl_route *rt = rtnl_route_alloc ();
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  cleanup_nladdr struct nl_addr *dst = ip4_addr (0, 0);
  cleanup_nladdr struct nl_addr *via = ip4_addr (gw, 32);
  int r;

  rtnl_route_set_family (rt, AF_INET);
  rtnl_route_set_dst (rt, dst);
  rtnl_route_nh_set_ifindex (nh, ifindex);
  rtnl_route_nh_set_gateway (nh, via);
  rtnl_route_add_nexthop (rt, nh);
  r = rtnl_route_add (sk, rt, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_route_put (rt);
  if (r < 0)
    return ch_error (err, 0, "add default route: %s", nl_geterror (r));
  return 0;
}

int
ch_nl_bridge_ensure (struct nl_sock *sk, const struct ch_net_conf *c, int *ifindex, ch_error_t *err)
{
  cleanup_link struct rtnl_link *l = NULL;
  int r = rtnl_link_get_kernel (sk, 0, c->bridge, &l);

  if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
    return ch_error (err, 0, "get link `%s`: %s", c->bridge, nl_geterror (r));
  if (r < 0)
    {
      cleanup_link struct rtnl_link *nb = rtnl_link_alloc ();
      rtnl_link_set_name (nb, c->bridge);
      rtnl_link_set_type (nb, "bridge");
      rtnl_link_set_mtu (nb, c->mtu);
      r = rtnl_link_add (sk, nb, NLM_F_CREATE | NLM_F_EXCL);
      if (r < 0 && r != -NLE_EXIST)
        return ch_error (err, 0, "create bridge `%s`: %s", c->bridge, nl_geterror (r));
      r = rtnl_link_get_kernel (sk, 0, c->bridge, &l);
      if (r < 0)
        return ch_error (err, 0, "get bridge `%s`: %s", c->bridge, nl_geterror (r));
    }
  else if (rtnl_link_get_type (l) == NULL || strcmp (rtnl_link_get_type (l), "bridge") != 0)
    return ch_error (err, 0, "link `%s` exists and is not a bridge", c->bridge);
  *ifindex = rtnl_link_get_ifindex (l);
  {
    /* no IPv6 on the bridge: chutes would reach the host's services over
       link-local addresses, which the (IPv4) input rules do not see */
    cleanup_free char *p = xasprintf ("/proc/sys/net/ipv6/conf/%s/disable_ipv6", c->bridge);
    if (access (p, F_OK) == 0 && ch_write_file (p, "1\n", 2, 0644, err) < 0)
      return ch_error_prefix (err, "bridge `%s`", c->bridge);
  }
  if (ch_nl_addr_add (sk, *ifindex, c->gw, c->prefix, err) < 0)
    return ch_error_prefix (err, "bridge `%s`", c->bridge);
  return ch_nl_link_up (sk, *ifindex, err);
}

int
ch_nl_link_del (struct nl_sock *sk, const char *name, ch_error_t *err)
{
  cleanup_link struct rtnl_link *l = rtnl_link_alloc ();
  int r;

  rtnl_link_set_name (l, name);
  r = rtnl_link_delete (sk, l);
  if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
    return ch_error (err, 0, "delete link `%s`: %s", name, nl_geterror (r));
  return 0;
}

int
ch_nl_veth_add (struct nl_sock *sk, const char *host, const char *peer_name, int peer_nsfd, int master, int mtu,
                ch_error_t *err)
{
  struct rtnl_link *l = rtnl_link_veth_alloc ();
  struct rtnl_link *peer;
  int r;

  if (l == NULL)
    return ch_error (err, ENOMEM, "veth");
  peer = rtnl_link_veth_get_peer (l);
  rtnl_link_set_name (l, host);
  rtnl_link_set_mtu (l, mtu);
  rtnl_link_set_master (l, master);
  rtnl_link_set_flags (l, IFF_UP);
  rtnl_link_set_name (peer, peer_name);
  rtnl_link_set_mtu (peer, mtu);
  rtnl_link_set_ns_fd (peer, peer_nsfd);
  r = rtnl_link_add (sk, l, NLM_F_CREATE | NLM_F_EXCL);
  /* libnl >= 3.6: get_peer takes a reference of its own */
  rtnl_link_put (peer);
  rtnl_link_veth_release (l);
  if (r < 0)
    {
      ch_error (err, 0, "create veth `%s`: %s", host, nl_geterror (r));
      /* callers tell a name still taken (by a dying netns's veth) from other failures */
      (*err)->status = r == -NLE_EXIST ? EEXIST : 0;
      return -1;
    }
  return 0;
}

/* libnl 3.7 has no setter for IFLA_BRPORT_ISOLATED: build the message.
 * An isolated port forwards only to non-isolated ports (the bridge itself),
 * so chutes cannot reach each other on layer 2. */
int
ch_nl_brport_isolate (struct nl_sock *sk, int ifindex, ch_error_t *err)
{
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_SETLINK, 0);
  struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
  struct nlattr *pi;
  int r;

  if (msg == NULL)
    return ch_error (err, ENOMEM, "netlink message");
  if (nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 || !(pi = nla_nest_start (msg, IFLA_PROTINFO | NLA_F_NESTED))
      || nla_put_u8 (msg, IFLA_BRPORT_ISOLATED, 1) < 0)
    {
      nlmsg_free (msg);
      return ch_error (err, 0, "build isolate message");
    }
  nla_nest_end (msg, pi);
  r = nl_send_sync (sk, msg);
  if (r < 0)
    return ch_error (err, 0, "isolate bridge port %d: %s", ifindex, nl_geterror (r));
  return 0;
}

static bool
overlaps (uint32_t a, int pa, uint32_t b, int pb)
{
  uint32_t m = ch_net_mask (pa < pb ? pa : pb);
  return (a & m) == (b & m);
}

static uint32_t
nl_ip4 (struct nl_addr *a)
{
  uint32_t be = 0;
  if (a && nl_addr_get_family (a) == AF_INET && nl_addr_get_len (a) == 4)
    memcpy (&be, nl_addr_get_binary_addr (a), 4);
  return ntohl (be);
}

int
ch_nl_check_overlap (struct nl_sock *sk, const struct ch_net_conf *c, ch_error_t *err)
{
  cleanup_cache struct nl_cache *addrs = NULL;
  cleanup_cache struct nl_cache *routes = NULL;
  cleanup_cache struct nl_cache *links = NULL;
  struct nl_object *o;
  int br = 0, r;
  char name[IFNAMSIZ];

  if (ch_nl_ifindex (sk, c->bridge, &br, err) < 0)
    return -1;
  if ((r = rtnl_link_alloc_cache (sk, AF_UNSPEC, &links)) < 0 || (r = rtnl_addr_alloc_cache (sk, &addrs)) < 0
      || (r = rtnl_route_alloc_cache (sk, AF_INET, 0, &routes)) < 0)
    return ch_error (err, 0, "list addresses and routes: %s", nl_geterror (r));
  for (o = nl_cache_get_first (addrs); o; o = nl_cache_get_next (o))
    {
      struct rtnl_addr *a = (struct rtnl_addr *) o;
      struct nl_addr *local = rtnl_addr_get_local (a);
      if (rtnl_addr_get_family (a) != AF_INET || rtnl_addr_get_ifindex (a) == br || local == NULL)
        continue;
      if (overlaps (c->net, c->prefix, nl_ip4 (local), rtnl_addr_get_prefixlen (a)))
        {
          cleanup_free char *net = ch_net_ip4_str (c->net);
          cleanup_free char *other = ch_net_ip4_str (nl_ip4 (local));
          return ch_error (err, 0, "subnet %s/%d overlaps %s/%d on `%s`", net, c->prefix, other,
                           rtnl_addr_get_prefixlen (a),
                           rtnl_link_i2name (links, rtnl_addr_get_ifindex (a), name, sizeof name) ?: "?");
        }
    }
  for (o = nl_cache_get_first (routes); o; o = nl_cache_get_next (o))
    {
      struct rtnl_route *rt = (struct rtnl_route *) o;
      struct nl_addr *dst = rtnl_route_get_dst (rt);
      struct rtnl_nexthop *nh;
      if (rtnl_route_get_table (rt) != RT_TABLE_MAIN || dst == NULL || nl_addr_get_prefixlen (dst) == 0)
        continue;
      nh = rtnl_route_nexthop_n (rt, 0);
      if (nh && rtnl_route_nh_get_ifindex (nh) == br && br)
        continue;
      if (overlaps (c->net, c->prefix, nl_ip4 (dst), nl_addr_get_prefixlen (dst)))
        {
          cleanup_free char *net = ch_net_ip4_str (c->net);
          cleanup_free char *other = ch_net_ip4_str (nl_ip4 (dst));
          return ch_error (err, 0, "subnet %s/%d overlaps the route to %s/%d", net, c->prefix, other,
                           nl_addr_get_prefixlen (dst));
        }
    }
  return 0;
}

int
ch_nl_link_stats (struct nl_sock *sk, const char *name, uint64_t st[4], ch_error_t *err)
{
  cleanup_link struct rtnl_link *l = NULL;
  int r = rtnl_link_get_kernel (sk, 0, name, &l);

  if (r < 0)
    return ch_error (err, 0, "get link `%s`: %s", name, nl_geterror (r));
  st[0] = rtnl_link_get_stat (l, RTNL_LINK_RX_BYTES);
  st[1] = rtnl_link_get_stat (l, RTNL_LINK_TX_BYTES);
  st[2] = rtnl_link_get_stat (l, RTNL_LINK_RX_PACKETS);
  st[3] = rtnl_link_get_stat (l, RTNL_LINK_TX_PACKETS);
  return 0;
}

/* The kernel reports the peer netns of a link as "not assigned" (-1) once
 * that netns is being destroyed (refcount 0): its cleanup removes the link. */
static bool
peer_netns_dying (struct rtnl_link *l)
{
  int32_t id;
  return rtnl_link_get_link_netnsid (l, &id) == 0 && id < 0;
}

int
ch_nl_links_with_prefix (struct nl_sock *sk, const char *prefix, bool skip_dying, char ***names, ch_error_t *err)
{
  cleanup_cache struct nl_cache *links = NULL;
  struct nl_object *o;
  int r = rtnl_link_alloc_cache (sk, AF_UNSPEC, &links);

  if (r < 0)
    return ch_error (err, 0, "list links: %s", nl_geterror (r));
  *names = xzalloc (sizeof (char *));
  for (o = nl_cache_get_first (links); o; o = nl_cache_get_next (o))
    {
      const char *n = rtnl_link_get_name ((struct rtnl_link *) o);
      if (n && ch_has_prefix (n, prefix) && !(skip_dying && peer_netns_dying ((struct rtnl_link *) o)))
        ch_strv_append (names, n);
    }
  return 0;
}
