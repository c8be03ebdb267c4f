/* Wi-Fi chutes: a chute holding its own Wi-Fi network (the seed's
 * `net: wifi: {intfName, ssid, dhcp: {lease, start, limit}}`).
 *
 * For chute C on radio phyN, ch_wifi_setup makes, under RUN_ROOT/wifi/lock:
 *   - an AP interface `chwap<K>` on the radio (nl80211 NEW_INTERFACE over
 *     libnl-genl; no `iw` at run time);
 *   - a bridge `chwbr<K>` without an address (the chute's L2 segment: the host
 *     is not on it, so stations reach only that chute);
 *   - a veth `chwv<K>` (bridge port) whose peer is created in the chute's
 *     netns as CFG->intf, addressed 10.214.K.1/24, up;
 *   - a supervisor process (double-forked, pid in RUN_ROOT/wifi/C/supervisor.pid)
 *     running hostapd (bridge=chwbr<K>, control socket RUN_ROOT/wifi/C/ctrl/)
 *     and dnsmasq inside the chute's netns (leases 10.214.K.start ..
 *     start+limit-1, RUN_ROOT/wifi/C/leases), each restarted if it dies;
 *   - RUN_ROOT/wifi/C/state.json recording all of it.
 * K (0..255) is the lowest index no other Wi-Fi chute holds.
 * On failure everything made is removed again. */
#ifndef CH_WIFI_H
#define CH_WIFI_H

#include "common/error.h"
#include "netns/net.h"

#include <jansson.h>
#include <stdint.h>

struct ch_wifi_config
{
  char *ssid;          /* 1..32 bytes */
  char *key;           /* NULL: open network; else WPA2-PSK passphrase, 8..63 chars */
  char *intf;          /* the interface name inside the chute (default "wlan0") */
  char *radio;         /* "phy0"; NULL: the first radio that can run an AP */
  unsigned dhcp_start; /* host part of the first lease (default 100) */
  unsigned dhcp_limit; /* number of leases (default 50); start+limit-1 <= 254 */
  uint64_t lease_secs; /* default 12h; at least 120 s (dnsmasq's minimum) */
  unsigned channel;    /* 2.4 GHz channel 1..13 (default 1) */
};

/* "ssid=seccamv2,key=s3cretpass,intf=wlan0,dhcp=100:50:12h[,radio=phy0][,channel=6]".
 * Only ssid is required. OUT is cleared first; on error OUT holds nothing. */
int ch_wifi_parse (const char *spec, struct ch_wifi_config *out, ch_error_t *err);
void ch_wifi_config_clear (struct ch_wifi_config *cfg);
/* The pieces of ch_wifi_parse, for chute.yaml's net.wifi (one rule per key):
 * CFG's defaults, and one KEY=VALUE of the spec (ssid, key, intf|intfName,
 * dhcp=START:LIMIT:LEASE, radio, channel) into CFG. */
void ch_wifi_config_defaults (struct ch_wifi_config *cfg);
int ch_wifi_parse_kv (const char *k, const char *v, struct ch_wifi_config *cfg, ch_error_t *err);

/* NETNS_PATH: the chute's bind-mounted netns (ch_net_result.netns_path).
 * Errors (nothing left made): no such radio / no radio, SSID already held by
 * another chute, CFG->intf clashing with an interface already in the netns
 * (e.g. eth0), a chute that already has a Wi-Fi network, hostapd failing to
 * bring the BSS up. */
int ch_wifi_setup (const char *root, const char *run_root, const char *chute, const struct ch_wifi_config *cfg,
                   const char *netns_path, ch_error_t *err);
/* ch_wifi_setup in two: everything made and hostapd and dnsmasq started
 * (on error nothing is left made), then the wait for hostapd to bring the
 * BSS up (on error the network stays made: ch_wifi_teardown removes it), so
 * that the chute can start while hostapd does. */
int ch_wifi_setup_start (const char *root, const char *run_root, const char *chute, const struct ch_wifi_config *cfg,
                         const char *netns_path, ch_error_t *err);
int ch_wifi_wait_up (const char *run_root, const char *chute, ch_error_t *err);
/* Stops hostapd/dnsmasq (the BSS goes away), removes the AP interface, bridge,
 * veth and state. Idempotent: a chute without Wi-Fi is not an error. */
int ch_wifi_teardown (const char *root, const char *run_root, const char *chute, ch_error_t *err);
/* Tear down the Wi-Fi networks of chutes ALIVE says are gone (a crash
 * between setup and the chute's own state), as ch_net_reap does. */
int ch_wifi_reap (const char *root, const char *run_root, ch_chute_alive_fn alive, void *data, ch_error_t *err);
/* {"radios": [{"phy", "index", "ap", "chutes": [...]}],
 *  "networks": [{"chute", "ssid", "security", "radio", "ap_interface", "bridge",
 *                "intf", "address", "dhcp": {"first", "last", "lease_secs"},
 *                "hostapd": {"pid", "state"}, "stations": [MAC...],
 *                "leases": [{"mac", "ip", "hostname", "expires"}]}]} */
int ch_wifi_list (const char *root, const char *run_root, json_t **out, ch_error_t *err);
/* What a user changes on a live network, through hostapd's control socket
 * (wifi_ctrl.c). An error's status says which it was: ESRCH no such
 * network or station (no system call here fails so), EEXIST the SSID is
 * another chute's, EBUSY a network is being set up or removed (the Wi-Fi
 * lock is not waited for).
 * Deauthenticate station MAC ("aa:bb:cc:dd:ee:ff") from chute CHUTE's
 * network: hostapd tells the station and forgets its keys. */
int ch_wifi_kick (const char *run_root, const char *chute, const char *mac, ch_error_t *err);
/* Rename chute CHUTE's network to SSID while it runs: its hostapd.conf
 * rewritten (what hostapd restarted by its supervisor reads), hostapd's
 * `SET ssid` + `RELOAD` (new beacons, the WPA2 key derived again from the
 * new SSID, stations dropped). Keeping it across a restart of the chute is
 * the caller's: the chute's record holds its --wifi spec. */
int ch_wifi_set_ssid (const char *run_root, const char *chute, const char *ssid, ch_error_t *err);

#endif
