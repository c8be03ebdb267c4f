/* "veth": the chute's eth0, whose host end is an isolated port of the
 * bridge. Address and default route are set from outside the chute, as is
 * shaping: down = tbf on the host end's egress, up = tbf on eth0's egress
 * inside the netns (the chute lacks CAP_NET_ADMIN, cannot undo it). */
#include "netns/net_internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netlink/netlink.h>
#include <unistd.h>

static int
lease_addr (struct ch_net_ctx *ctx, uint32_t *a, ch_error_t *err)
{
  const char *s = json_string_value (json_object_get (ctx->lease, "address"));
  if (s == NULL)
    return ch_error (err, 0, "chute `%s`: lease has no address", ctx->chute);
  return ch_net_ip4_parse (s, a, err);
}

static int
veth_setup (struct ch_net_ctx *ctx, json_t *iface, ch_error_t *err)
{
  const char *host = json_string_value (json_object_get (iface, "host"));
  const char *name = json_string_value (json_object_get (iface, "name"));
  cleanup_nl struct nl_sock *ns = NULL;
  cleanup_close int nsfd = -1;
  int br, hidx, idx;
  uint32_t addr;

  if (host == NULL || name == NULL)
    return ch_error (err, 0, "chute `%s`: veth without names", ctx->chute);
  if (lease_addr (ctx, &addr, err) < 0)
    return -1;
  if (ch_nl_bridge_ensure (ctx->sk, ctx->conf, &br, err) < 0)
    return -1;
  nsfd = open (ctx->netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return ch_error (err, errno, "open netns `%s`", ctx->netns_path);
  if (ch_nl_veth_add (ctx->sk, host, name, nsfd, br, ctx->conf->mtu, err) < 0)
    {
      /* the chute that had this address a moment ago: its netns is still
         being destroyed (or something holds it); its veth must go now */
      if ((*err)->status != EEXIST)
        return -1;
      ch_error_release (err);
      if (ch_nl_link_del (ctx->sk, host, err) < 0
          || ch_nl_veth_add (ctx->sk, host, name, nsfd, br, ctx->conf->mtu, err) < 0)
        return -1;
    }
  if (ch_nl_ifindex (ctx->sk, host, &hidx, err) < 0)
    return -1;
  if (hidx == 0)
    return ch_error (err, 0, "veth `%s` vanished after creation", host);
  if (ch_nl_brport_isolate (ctx->sk, hidx, err) < 0)
    return -1;

  if (ch_nl_open_in_netns (ctx->netns_path, &ns, err) < 0)
    return -1;
  if (ch_nl_ifindex (ns, name, &idx, err) < 0)
    return -1;
  if (idx == 0)
    return ch_error (err, 0, "`%s` missing in netns `%s`", name, ctx->netns_path);
  if (ch_nl_addr_add (ns, idx, addr, ctx->conf->prefix, err) < 0 || ch_nl_link_up (ns, idx, err) < 0
      || ch_nl_route_default (ns, idx, ctx->conf->gw, err) < 0)
    return ch_error_prefix (err, "chute `%s` %s", ctx->chute, name);
  return 0;
}

/* Nothing to do: the pair goes with the netns once its bind mount is gone
 * (the kernel's cleanup_net, asynchronous), instead of an RTM_DELLINK that
 * waits out an RCU grace period (~10 ms) here. A pair whose netns something
 * keeps alive is found by ch_net_reap (no lease, not released in the last
 * seconds, peer netns not dying). */
static int
veth_teardown (struct ch_net_ctx *ctx, json_t *iface, ch_error_t *err)
{
  return 0;
}

static int
veth_shape (struct ch_net_ctx *ctx, json_t *iface, uint64_t down_kbit, uint64_t up_kbit, ch_error_t *err)
{
  const char *host = json_string_value (json_object_get (iface, "host"));
  const char *name = json_string_value (json_object_get (iface, "name"));
  cleanup_nl struct nl_sock *ns = NULL;
  int hidx, idx;

  if (ch_nl_ifindex (ctx->sk, host, &hidx, err) < 0)
    return -1;
  if (hidx == 0)
    return ch_error (err, 0, "chute `%s`: veth `%s` is gone", ctx->chute, host);
  if (ch_tc_set_rate (ctx->sk, hidx, down_kbit, ctx->conf->mtu, err) < 0)
    return ch_error_prefix (err, "downstream of `%s`", ctx->chute);
  if (ch_nl_open_in_netns (ctx->netns_path, &ns, err) < 0 || ch_nl_ifindex (ns, name, &idx, err) < 0)
    return -1;
  if (idx == 0)
    return ch_error (err, 0, "chute `%s`: `%s` is gone", ctx->chute, name);
  if (ch_tc_set_rate (ns, idx, up_kbit, ctx->conf->mtu, err) < 0)
    return ch_error_prefix (err, "upstream of `%s`", ctx->chute);
  return 0;
}

const struct ch_net_iface_kind ch_net_iface_veth = {
  .kind = "veth",
  .setup = veth_setup,
  .teardown = veth_teardown,
  .shape = veth_shape,
};
