/* Internal to netns/: configuration, IPAM, netlink, nftables and tc
 * helpers, and the per-interface-kind table the setup walks. */
#ifndef CH_NET_INTERNAL_H
#define CH_NET_INTERNAL_H

#include "netns/net.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

/* --- configuration (net_conf.c) --- */
struct ch_net_conf
{
  char *bridge;
  uint32_t net, gw; /* host byte order */
  int prefix;
  int mtu;
  char **dns; /* NULL-terminated */
  char *nft_table;
  char *net_root;  /* CHUTED_NET_ROOT, default /var/lib/chuted-net */
  char *state_dir; /* NET_ROOT/<bridge>: the bridge's IPAM, shared by every root using it */
};
int ch_net_conf_load (const char *root, struct ch_net_conf *c, ch_error_t *err);
void ch_net_conf_clear (struct ch_net_conf *c);
char *ch_net_ip4_str (uint32_t a);
int ch_net_ip4_parse (const char *s, uint32_t *a, ch_error_t *err);
int ch_net_cidr_parse (const char *s, uint32_t *net, int *prefix, ch_error_t *err);
static inline uint32_t
ch_net_mask (int prefix)
{
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}
/* Host end of the veth of the chute holding ADDR: "chv-0ad50002". */
char *ch_net_veth_name (uint32_t addr);

/* --- IPAM: STATE_DIR/ipam.json, guarded by STATE_DIR/ipam.lock (ipam.c) ---
 * One per bridge, shared by every root whose chutes use that bridge, so
 * that addresses, published ports and stale links are judged across roots.
 * {"subnet": "...", "bridge": "...", "ip_forward_held": true?, "route_localnet_orig": "0"|"1"?,
 *  "released": {VETH: {"at": CLOCK_BOOTTIME s, "root": ROOT_ID}},
 *  "leases": {ROOT_ID/NAME: lease}}
 * lease = {"root": ROOT_ID, "run_root", "chute": NAME, "mode": "bridge"|"none", "address": "10.213.0.2"?,
 *          "ifaces": [{"kind": "veth", "name": "eth0", "host": "chv-..."}],
 *          "ports": [{"host_ip"?, "host_port", "chute_port", "proto": "tcp"|"udp"}],
 *          "wan": {"down_kbit", "up_kbit"}}
 * ROOT_ID is the root's canonical path (two spellings of one root are one
 * root). */
int ch_ipam_lock (const struct ch_net_conf *c, int *fd, ch_error_t *err);
int ch_ipam_load (const struct ch_net_conf *c, json_t **out, ch_error_t *err);
int ch_ipam_save (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err);
char *ch_ipam_root_id (const char *root);
/* The lease of chute NAME of ROOT_ID, NULL if none; its key in "leases". */
json_t *ch_ipam_lease (json_t *ipam, const char *root_id, const char *chute);
char *ch_ipam_key (const char *root_id, const char *chute);
json_t *ch_ipam_leases (json_t *ipam);
/* Lowest free address of the subnet (after the gateway). */
int ch_ipam_alloc (json_t *ipam, const struct ch_net_conf *c, uint32_t *addr, ch_error_t *err);
size_t ch_ipam_bridge_leases (json_t *ipam);
/* Refuse a host port (proto, host_ip) that another lease or CFG itself already publishes. */
int ch_ipam_check_ports (json_t *ipam, const struct ch_net_config *cfg, ch_error_t *err);
json_t *ch_ipam_ports_json (const struct ch_net_config *cfg);

/* --- netlink through libnl-route (nl.c) --- */
int ch_nl_open (struct nl_sock **sk, ch_error_t *err);
/* A NETLINK_ROUTE socket living in the netns bind-mounted at PATH. */
int ch_nl_open_in_netns (const char *path, struct nl_sock **sk, ch_error_t *err);
void ch_nl_closep (struct nl_sock **sk);
#define cleanup_nl __attribute__ ((cleanup (ch_nl_closep)))
/* *IFINDEX = 0 when NAME does not exist. */
int ch_nl_ifindex (struct nl_sock *sk, const char *name, int *ifindex, ch_error_t *err);
int ch_nl_bridge_ensure (struct nl_sock *sk, const struct ch_net_conf *c, int *ifindex, ch_error_t *err);
/* Missing links are not an error. */
int ch_nl_link_del (struct nl_sock *sk, const char *name, ch_error_t *err);
/* (*err)->status is EEXIST when a link named HOST already exists. */
int ch_nl_veth_add (struct nl_sock *sk, const char *host, const char *peer, int peer_nsfd, int master, int mtu,
                    ch_error_t *err);
int ch_nl_brport_isolate (struct nl_sock *sk, int ifindex, ch_error_t *err);
int ch_nl_link_up (struct nl_sock *sk, int ifindex, ch_error_t *err);
int ch_nl_addr_add (struct nl_sock *sk, int ifindex, uint32_t addr, int prefix, ch_error_t *err);
int ch_nl_route_default (struct nl_sock *sk, int ifindex, uint32_t gw, ch_error_t *err);
/* Refuse a subnet that overlaps an address or route of the host not on BRIDGE. */
int ch_nl_check_overlap (struct nl_sock *sk, const struct ch_net_conf *c, ch_error_t *err);
/* rx_bytes, tx_bytes, rx_packets, tx_packets of NAME. */
int ch_nl_link_stats (struct nl_sock *sk, const char *name, uint64_t st[4], ch_error_t *err);
/* NAMES of links whose name starts with PREFIX; SKIP_DYING leaves out links
 * whose peer is in a netns the kernel is destroying (they go with it). */
int ch_nl_links_with_prefix (struct nl_sock *sk, const char *prefix, bool skip_dying, char ***names,
                             ch_error_t *err);

/* --- bind-mounted network namespaces (netns_file.c) --- */
int ch_netns_create (const char *path, ch_error_t *err);
/* Unmount and unlink; a missing file is not an error. */
int ch_netns_remove (const char *path, ch_error_t *err);

/* --- nftables (nft.c) --- */
/* Bring the table `ip C->nft_table` in line with the leases of IPAM, in one
 * atomic batch: made whole when missing and a bridge lease exists, else
 * only the port forwards change. The table outlives the last lease (its
 * removal costs an RCU grace period); ch_nft_table_del removes it. */
int ch_nft_apply (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err);
/* Remove the table `ip TABLE`; a missing table is not an error. */
int ch_nft_table_del (const char *table, ch_error_t *err);

/* --- shaping through tc over netlink (tc.c) --- */
/* Root tbf on IFINDEX at KBIT; KBIT == 0 removes our root qdisc. */
int ch_tc_set_rate (struct nl_sock *sk, int ifindex, uint64_t kbit, int mtu, ch_error_t *err);

/* --- interface kinds (iface_*.c) --- */
struct ch_net_ctx
{
  const char *root, *run_root, *chute;
  const struct ch_net_conf *conf;
  struct nl_sock *sk; /* host netns */
  const char *netns_path;
  json_t *lease;
};

/* One entry per kind of chute interface: "veth" (bridge port), later "wifi".
 * setup makes the interface described by IFACE (a lease "ifaces" entry,
 * which it may complete), teardown removes it (idempotent, tolerant of
 * half-made state), shape sets down/up limits (NULL: kind not shaped). */
struct ch_net_iface_kind
{
  const char *kind;
  int (*setup) (struct ch_net_ctx *ctx, json_t *iface, ch_error_t *err);
  int (*teardown) (struct ch_net_ctx *ctx, json_t *iface, ch_error_t *err);
  int (*shape) (struct ch_net_ctx *ctx, json_t *iface, uint64_t down_kbit, uint64_t up_kbit, ch_error_t *err);
};
const struct ch_net_iface_kind *ch_net_iface_kind (const char *kind);
extern const struct ch_net_iface_kind ch_net_iface_veth;

/* RUN_ROOT/netns/NAME, RUN_ROOT/net/NAME */
char *ch_net_netns_path (const char *run_root, const char *chute);
char *ch_net_files_dir (const char *run_root, const char *chute);

/* --- net.c, net_state.c --- */
/* The root's and the bridge's locks held, config and IPAM loaded, a host netlink socket. */
struct ch_net_locked
{
  int root_lock; /* ROOT/net/lock */
  int lock;      /* the bridge's ipam.lock */
  char *root_id; /* the caller's root (ch_ipam_root_id) */
  struct ch_net_conf conf;
  json_t *ipam;
  struct nl_sock *sk;
  char *changed; /* why new chutes are refused, when config and recorded network differ */
};
/* Initialise L with { .lock = -1, .root_lock = -1 }. The bridge is the
 * configured one, or the one this root's chutes were given while they
 * still have leases there (then L->changed says why new ones are refused). */
int ch_net_lock_and_load (const char *root, struct ch_net_locked *l, ch_error_t *err);
/* Remove the bridge and table recorded in IPAM (those of C if none). */
int ch_net_remove_network (struct nl_sock *sk, json_t *ipam, const struct ch_net_conf *c, ch_error_t *err);
/* The subnet recorded for the bridge is not the configured one and no chute
 * holds an address on it: remove the old bridge and table. */
int ch_net_drop_stale_network (struct ch_net_locked *l, ch_error_t *err);
void ch_net_locked_release (struct ch_net_locked *l);
#define cleanup_net_locked __attribute__ ((cleanup (ch_net_locked_release)))
/* Undo everything of CHUTE of root OWNER (a root id: L->root_id but for
 * the leases of a root that is gone), idempotent; drops its lease and saves
 * IPAM on success. */
int ch_net_teardown_locked (struct ch_net_locked *l, const char *owner, const char *root, const char *run_root,
                            const char *chute, ch_error_t *err);
/* net.ipv4.ip_forward is host-wide: its value from before the first bridge
 * that needed it is kept in NET_ROOT/ip_forward.json with the bridges that
 * hold it (under NET_ROOT/ip_forward.lock, taken after a bridge's lock),
 * and written back when the last of them lets go. A bridge holds it while
 * it has leases with addresses (ipam.json "ip_forward_held"). */
int ch_net_ip_forward_hold (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err);
int ch_net_ip_forward_release (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err);
/* net.ipv4.conf.BRIDGE.route_localnet is 1 while a chute with an address
 * on the bridge publishes ports (loopback DNAT to it), its old value kept in
 * ipam.json "route_localnet_orig" (saved before the write) and written back
 * after. The bridge must exist when ports are published. */
int ch_net_route_localnet_sync (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err);
/* Host veth ends of torn-down chutes: their netns is destroyed
 * asynchronously, the reaper must not race the kernel for them for a few
 * seconds (an explicit delete costs an RCU grace period); later, one still
 * there is deleted by the reaper of the root that released it. */
void ch_net_released_add (json_t *ipam, const char *veth, const char *root_id);
bool ch_net_released_recently (json_t *ipam, const char *veth);
/* RELEASED_BY: the root whose chute had VETH, NULL if not released. */
const char *ch_net_released_by (json_t *ipam, const char *veth);

#endif
