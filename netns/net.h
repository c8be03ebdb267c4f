/* The network of a chute: its own netns (bind-mounted under RUN_ROOT/netns),
 * a veth whose host end is an isolated port of the bridge (default
 * `chuted0`), an address from the bridge's persisted IPAM
 * (NET_ROOT/<bridge>/ipam.json, shared by every root using the bridge), NAT and
 * port forwards in an nftables table of our own, and WAN shaping (tbf on
 * both veth ends). Everything goes through netlink (libnl-3, libnftnl); no
 * `ip`/`tc`/`nft` binaries.
 *
 * Configuration (ROOT/net/config.json, then env overrides):
 *   bridge  CHUTED_BRIDGE  default "chuted0"        (<= 15 chars)
 *   subnet  CHUTED_SUBNET  default "10.213.0.0/24"  (gateway = first host, on the bridge)
 *   mtu     CHUTED_MTU     default 1500
 *   dns     CHUTED_DNS     default the host's /etc/resolv.conf nameservers (loopback ones skipped);
 *                          CHUTED_DNS is a comma-separated list
 *   NET_ROOT CHUTED_NET_ROOT default /var/lib/chuted-net (env only: it is one per host)
 * The nftables table is `ip chuted_<bridge>` (port forwards carry the
 * comment "chute:ROOT/NAME"); host veth ends are named `chv-<address in hex>`,
 * so a chute's leftovers are recognisable. Chutes are isolated bridge ports
 * (no chute-to-chute traffic), and reach the host only with replies; the
 * bridge has IPv6 disabled. net.ipv4.ip_forward is turned on with the first
 * bridge chute of any root and bridge and set back to its old value (kept in
 * NET_ROOT/ip_forward.json) when the last one goes. The bridge and the table, made on first use, stay when the
 * last chute goes (as docker0 does: making and removing them cost ~90 ms of
 * RCU grace periods per lone `chuted run --rm`); ch_net_prune removes them,
 * and a setup whose configured bridge/subnet differ from the recorded ones
 * removes the old ones when no chute holds an address there. A chute's veth
 * goes with its netns (the kernel destroys the pair when the bind mount is
 * unmounted, asynchronously); a setup that finds the host name still taken
 * by a dying netns deletes that link itself, and the reaper leaves veths
 * released in the last seconds to the kernel.
 * Shaping: tbf, rates counted on Ethernet frames as tc does (TCP payload
 * gets ~95.6 % of a limit at MTU 1500). */
#ifndef CH_NET_H
#define CH_NET_H

#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ch_net_mode
{
  CH_NET_BRIDGE,
  CH_NET_NONE,
  CH_NET_HOST,
  CH_NET_CONTAINER /* "container:NAME": another chute's network, joined (ch_net_join) */
};

struct ch_net_port
{
  char *host_ip; /* NULL: every local address of the host */
  uint16_t host_port, chute_port;
  int proto; /* IPPROTO_TCP / IPPROTO_UDP */
};

struct ch_net_config
{
  enum ch_net_mode mode;
  struct ch_net_port *ports;
  size_t n_ports;
  uint64_t wan_down_kbit, wan_up_kbit; /* 0 = not shaped */
  const char *hostname;                /* for /etc/hosts; NULL = the chute's name */
};

struct ch_net_result
{
  char *netns_path;               /* bind-mounted netns for config.json (NULL in host mode) */
  char *hosts_path, *resolv_path; /* to bind-mount at /etc/hosts, /etc/resolv.conf (NULL in host mode) */
  char *address, *gateway;        /* "10.213.0.2/24", "10.213.0.1"; NULL for none */
};

/* "8080:80", "8080:80/udp", "127.0.0.1:8080:80/tcp"; ports 1-65535. The host
 * IP must be an address of this host (127/8 included); 0.0.0.0 is every
 * address (host_ip NULL); IPv6 forms are refused. */
int ch_net_parse_port (const char *spec, struct ch_net_port *out, ch_error_t *err);
void ch_net_port_clear (struct ch_net_port *p);

/* kbit/s. A bare number is kbit/s (the seed's `wan: {down: 25000}`);
 * suffixes (case-insensitive, decimal as tc): "kbit", "mbit", "gbit",
 * "k", "m", "g" (= kbit, mbit, gbit). "0" = not shaped. */
int ch_net_parse_rate (const char *s, uint64_t *kbit, ch_error_t *err);
int ch_net_parse_mode (const char *s, enum ch_net_mode *out, ch_error_t *err);

/* All of these take ROOT/net/lock and the bridge's ipam.lock for their whole duration.
 * On failure ch_net_setup undoes everything it made. */
int ch_net_setup (const char *root, const char *run_root, const char *chute, const struct ch_net_config *cfg,
                  struct ch_net_result *res, ch_error_t *err);
/* Join the network CHUTE has (the services of a pod share one): fills RES
 * with its paths and returns 1; 0 when CHUTE has none up. */
int ch_net_join (const char *run_root, const char *chute, struct ch_net_result *res, ch_error_t *err);
/* Idempotent; also undoes half-made setups. */
int ch_net_teardown (const char *root, const char *run_root, const char *chute, ch_error_t *err);
/* On a running chute; 0 removes the limit in that direction. */
int ch_net_set_shaping (const char *root, const char *run_root, const char *chute, uint64_t down_kbit, uint64_t up_kbit,
                        ch_error_t *err);
/* {mode, address, gateway, bridge, veth, ports[], wan{down_kbit,up_kbit},
 *  counters{rx_bytes,tx_bytes,rx_packets,tx_packets} (as seen by the chute)};
 * a chute without a network record (host mode) gives {}. */
int ch_net_inspect (const char *root, const char *run_root, const char *chute, json_t **out, ch_error_t *err);
/* Does chute NAME still exist? Asked of mgmt/, which alone knows where a
 * chute's state lives (mgmt/chute.h: ch_chute_alive). */
typedef bool (*ch_chute_alive_fn) (const char *chute, void *data);
/* Tear down the networks of this root's chutes ALIVE says are gone (never
 * another root's), then re-apply the nftables table (a foreign `nft flush
 * ruleset` removes it). */
int ch_net_reap (const char *root, const char *run_root, ch_chute_alive_fn alive, void *data, ch_error_t *err);
/* Remove the bridge, the nftables table, restore ip_forward and forget the
 * recorded network; refused (one line naming how many, and the other roots)
 * while chutes of any root hold addresses. *REMOVED = the bridge removed,
 * NULL when there was none. */
int ch_net_prune (const char *root, const char *run_root, char **removed, ch_error_t *err);
/* {bridge, subnet, gateway, mtu, present, nft_table, state_dir, dns,
 *  leases[{chute, root, mode, address, veth, ports, wan}]} (every root's) */
int ch_net_network_info (const char *root, const char *run_root, json_t **out, ch_error_t *err);

void ch_net_result_clear (struct ch_net_result *res);

/* Does the kernel answer nftables over netlink (for `chuted info`)? */
bool ch_net_nft_available (void);

#endif
