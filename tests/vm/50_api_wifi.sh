#!/usr/bin/env bash
# Inside the VM: a chute's Wi-Fi through the REST API (`chuted daemon` on a
# unix socket, curl as the client). A chute holds a WPA2 network on a
# mac80211_hwsim radio, a station in its own netns associates and takes a
# lease; the API lists the network, its stations (the station's MAC) and
# leases; DELETE .../stations/MAC kicks it (wpa_supplicant sees hostapd's
# deauthentication); PUT .../ssid renames the network (the station finds it
# under the new name, with the same WPA2 key), the chute's record keeps it
# across a restart. Bad MACs and SSIDs: 400 with {error, detail}.
. "$(dirname "$0")/../lib.sh"
IP=/usr/sbin/ip
STA=$TEST_PREFIX-asta
N=$TEST_PREFIX-apiw
SOCK=$T_DIR/api.sock
D=$T_DIR/w
DPID=
mkdir -p "$D"

if ! command -v curl >/dev/null; then
  skip "no curl in the VM image (tools/vm/binaries.list)"
  finish
fi

stop_all() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  chuted rm -f "$N" "$N-held" >/dev/null 2>&1
  [ -f "$D/wpa.pid" ] && kill "$(cat "$D/wpa.pid")" 2>/dev/null
  $IP netns del "$STA" 2>/dev/null
  sleep 0.3
  rmmod mac80211_hwsim 2>/dev/null
}
trap 'stop_all; t_cleanup' EXIT

api() { curl -s --max-time 20 --unix-socket "$SOCK" "$@"; }
code() { curl -s --max-time 20 -o "$D/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
U=http://x/api/v1/chutes/$N/networks

R=$(make_rootfs)
check "mac80211_hwsim: two radios" modprobe mac80211_hwsim radios=2
ap_phy=$(ls /sys/class/ieee80211 | sort -V | head -1)
sta_phy=$(ls /sys/class/ieee80211 | sort -V | tail -1)
sta_if=$(ls /sys/class/ieee80211/"$sta_phy"/device/net | head -1)
$IP netns add "$STA"
iw phy "$sta_phy" set netns name "$STA"
$IP netns exec "$STA" $IP link set lo up
for i in /sys/class/ieee80211/"$ap_phy"/device/net/*; do $IP link set "${i##*/}" down; done
sta_mac=$($IP netns exec "$STA" cat /sys/class/net/"$sta_if"/address)

check "a chute with a WPA2 network" chuted run -d --name "$N" \
  --wifi "ssid=$TEST_PREFIX-one,key=s3cretpass,intf=wlan0,dhcp=100:50:12h,radio=$ap_phy" --rootfs "$R" -- sleep 1000
"$CHUTED" daemon --api "unix:$SOCK" --no-reconcile >"$D/daemon.log" 2>&1 &
DPID=$!
check "the daemon serves" wait_for 100 curl -sf --unix-socket "$SOCK" http://x/api/v1/info

station() { # SSID: a fresh wpa_supplicant for it
  [ -f "$D/wpa.pid" ] && kill "$(cat "$D/wpa.pid")" 2>/dev/null && sleep 0.3
  printf 'ctrl_interface=%s/wpa\nnetwork={\n  ssid="%s"\n  psk="s3cretpass"\n  key_mgmt=WPA-PSK\n  scan_freq=2412\n}\n' "$D" "$1" >"$D/sta.conf"
  : >"$D/wpa.log"
  $IP netns exec "$STA" wpa_supplicant -B -i "$sta_if" -c "$D/sta.conf" -P "$D/wpa.pid" -f "$D/wpa.log"
}
associated() { [ "$($IP netns exec "$STA" wpa_cli -p "$D/wpa" -i "$sta_if" status 2>/dev/null | sed -n 's/^wpa_state=//p')" = COMPLETED ]; }
station "$TEST_PREFIX-one"
check "the station associates with WPA2" wait_for 200 associated
printf '#!/bin/sh\nexit 0\n' >"$D/udhcpc.sh"; chmod +x "$D/udhcpc.sh"
check "the station takes a lease" $IP netns exec "$STA" udhcpc -i "$sta_if" -n -q -t 10 -T 1 -s "$D/udhcpc.sh"

# --- reads -------------------------------------------------------------------
eq "GET networks: wlan0, its SSID, hostapd up" "$(api "$U" | jq -r '.[] | [.intf, .ssid, .security, .hostapd.state] | join(" ")')" \
  "wlan0 $TEST_PREFIX-one wpa2-psk ENABLED"
eq "GET networks/wlan0/stations: the station's MAC" "$(api "$U/wlan0/stations" | jq -r 'join(" ")')" "$sta_mac"
eq "GET networks/wlan0/leases: the station's lease" "$(api "$U/wlan0/leases" | jq -r '.[].mac')" "$sta_mac"
eq "GET networks/wlan0/ssid" "$(api "$U/wlan0/ssid" | jq -r .ssid)" "$TEST_PREFIX-one"

# --- bad input: 400/404/405 with {error, detail} -----------------------------
eq "DELETE a station by a bad MAC: 400" "$(code -X DELETE "$U/wlan0/stations/02:00:00:zz:00:01")" 400
eq "...{error, detail} naming the MAC" "$(jq -r '.error + ": " + (.detail | contains("02:00:00:zz:00:01") | tostring)' "$D/body")" "bad station: true"
eq "DELETE a station that is not there: 404" "$(code -X DELETE "$U/wlan0/stations/02:00:00:99:99:99")" 404
eq "DELETE a station on a network the chute has not: 404" "$(code -X DELETE "$U/wlan9/stations/$sta_mac")" 404
eq "PUT a 33-byte SSID: 400" "$(code -X PUT -d "{\"ssid\": \"$(printf 'x%.0s' $(seq 33))\"}" "$U/wlan0/ssid")" 400
eq "PUT an empty SSID: 400" "$(code -X PUT -d '{"ssid": ""}' "$U/wlan0/ssid")" 400
eq "PUT not JSON: 400" "$(code -X PUT -d 'ssid=x' "$U/wlan0/ssid")" 400
check "a stopped chute whose record claims an SSID" chuted create --name "$N-held" --wifi "ssid=$TEST_PREFIX-held" --rootfs "$R" -- /bin/true
eq "PUT the SSID another chute claims: 409" "$(code -X PUT -d "{\"ssid\": \"$TEST_PREFIX-held\"}" "$U/wlan0/ssid")" 409
eq "...the network keeps its name" "$(api "$U/wlan0/ssid" | jq -r .ssid)" "$TEST_PREFIX-one"
eq "GET a station: 405" "$(code "$U/wlan0/stations/$sta_mac")" 405
eq "the station is still there" "$(api "$U/wlan0/stations" | jq -r 'join(" ")')" "$sta_mac"

# --- kick ----------------------------------------------------------------------
eq "DELETE networks/wlan0/stations/MAC (upper case): 200" "$(code -X DELETE "$U/wlan0/stations/${sta_mac^^}")" 200
eq "...names the station kicked" "$(jq -r '.station + " " + (.kicked | tostring)' "$D/body")" "$sta_mac true"
# hostapd's DEAUTHENTICATE sends reason 2 (previous authentication no longer valid)
check "wpa_supplicant sees the deauthentication" wait_for 100 grep -q "CTRL-EVENT-DISCONNECTED .*reason=2" "$D/wpa.log"

# --- rename ------------------------------------------------------------------
eq "PUT networks/wlan0/ssid: 200" "$(code -X PUT -H 'Content-Type: application/json' -d "{\"ssid\": \"$TEST_PREFIX-two\"}" "$U/wlan0/ssid")" 200
eq "GET networks/wlan0/ssid: the new SSID" "$(api "$U/wlan0/ssid" | jq -r .ssid)" "$TEST_PREFIX-two"
station "$TEST_PREFIX-two"
check "the station associates with the new SSID (WPA2 key derived again)" wait_for 200 associated
eq "the API lists it again" "$(api "$U/wlan0/stations" | jq -r 'join(" ")')" "$sta_mac"
eq "the chute's record keeps the new SSID, the rest of its spec as it was" "$(jq -r .net.wifi "$T_ROOT/chutes/$N/chute.json")" \
  "ssid=$TEST_PREFIX-two,key=s3cretpass,intf=wlan0,dhcp=100:50:12h,radio=$ap_phy"
check "chuted restart" chuted restart "$N"
eq "after a restart the network has the new SSID" "$(api "$U/wlan0" | jq -r '.ssid + " " + .hostapd.state')" "$TEST_PREFIX-two ENABLED"

check "rm -f the chutes" chuted rm -f "$N" "$N-held"
eq "its network is gone from the API" "$(code "$U")" 404
no_leftovers "api wifi"
finish
