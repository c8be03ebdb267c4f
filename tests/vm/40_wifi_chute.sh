#!/usr/bin/env bash
# Inside the VM: Wi-Fi chutes end to end. Two chutes on one mac80211_hwsim
# radio each hold their own SSID; a station on the second radio, in its own
# netns, associates with WPA2, gets a lease in the chute's range, fetches a
# page from the chute's httpd, cannot reach the other chute, and is not
# shaped by the chute's --wan-* limits. hostapd is restarted when it dies;
# rm removes the BSS, bridge, veth and dnsmasq. Bad specs: clear error, nothing made.
. "$(dirname "$0")/../lib.sh"
IP=/usr/sbin/ip
STA=$TEST_PREFIX-wsta
D=$T_DIR/wifi
mkdir -p "$D"

# The chuted side, in one place: run a chute with a Wi-Fi network, remove it, list.
wifi_run() { # NAME SPEC CMD... (extra run flags in $RUN_FLAGS)
  local n=$1 spec=$2; shift 2
  # shellcheck disable=SC2086
  chuted run -d --name "$n" --wifi "$spec" ${RUN_FLAGS:-} --rootfs "$R" -- "$@"
}
wifi_rm() { chuted rm -f "$1"; }
wifi_ls() { chuted wifi ls --json 2>/dev/null || chuted wifi ls; }

if [ ! -x "$CHUTED" ] || ! wifi_ls > /dev/null 2>&1; then
  skip "\`chuted wifi ls\` not available: Wi-Fi chutes not wired into the CLI"
  finish
fi

stop_all() {
  for c in cam door bad1 bad2 bad3 bad4; do wifi_rm "$c" > /dev/null 2>&1; done
  [ -f "$D/wpa.pid" ] && kill "$(cat "$D/wpa.pid")" 2> /dev/null
  $IP netns del "$STA" 2> /dev/null
  sleep 0.3
  rmmod mac80211_hwsim 2> /dev/null
}
trap 'stop_all; t_cleanup' EXIT

R=$(make_rootfs)
[ -L "$R/bin/busybox" ] && rm "$R/bin/busybox" && cp /bin/busybox "$R/bin/busybox"
echo "hello from cam" > "$R/var/www/index.html"
dd if=/dev/urandom of="$R/var/www/big" bs=1k count=1024 2> /dev/null

check "mac80211_hwsim: two radios" modprobe mac80211_hwsim radios=2
ap_phy=$(ls /sys/class/ieee80211 | sort -V | head -1)
sta_phy=$(ls /sys/class/ieee80211 | sort -V | tail -1)
sta_if=$(ls /sys/class/ieee80211/"$sta_phy"/device/net | head -1)
$IP netns add "$STA"
iw phy "$sta_phy" set netns name "$STA"
$IP netns exec "$STA" $IP link set lo up
# the AP radio's own station interface would only get in the way
for i in /sys/class/ieee80211/"$ap_phy"/device/net/*; do $IP link set "${i##*/}" down; done

links() { $IP -o link | awk -F': ' '{print $2}' | grep '^chw' | tr '\n' ' '; }

# --- bad specs: one clear error, nothing made --------------------------------
bad() { # NAME SPEC WANT-IN-ERROR DESC
  local before
  before=$(links)
  if wifi_run "$1" "$2" sleep 100 > "$D/bad.out" 2>&1; then fail "$4: accepted"; return; fi
  if grep -q -- "$3" "$D/bad.out"; then pass "$4: $(tail -1 "$D/bad.out")"; else fail "$4: error does not say '$3': $(tail -1 "$D/bad.out")"; fi
  eq "$4: no Wi-Fi links made" "$(links)" "$before"
  check_fails "$4: no chute left" chuted inspect "$1"
}
bad bad1 "ssid=$TEST_PREFIX-x,radio=phy99" "phy99" "missing radio"
bad bad2 "ssid=$TEST_PREFIX-x,key=short" "8 to 63" "WPA2 key too short"
bad bad3 "ssid=$TEST_PREFIX-x,intf=eth0" "eth0" "intf clashing with eth0"

# --- two chutes, two SSIDs, one radio ----------------------------------------
RUN_FLAGS="--wan-down 1mbit --wan-up 1mbit" \
  check "chute cam with WPA2 network" wifi_run cam "ssid=$TEST_PREFIX-cam,key=s3cretpass,intf=wlan0,dhcp=100:50:12h,radio=$ap_phy" httpd -f -p 80 -h /var/www
bad bad4 "ssid=$TEST_PREFIX-cam,radio=$ap_phy" "already" "duplicate SSID"
check "chute door with an open network on the same radio" wifi_run door "ssid=$TEST_PREFIX-door,intf=wifi0,radio=$ap_phy" httpd -f -p 80 -h /var/www
wifi_ls > "$D/ls.json"
eq "wifi ls: both networks up" "$(jq -r '[.networks[] | .chute + "=" + .hostapd.state] | sort | join(" ")' "$D/ls.json")" "cam=ENABLED door=ENABLED"
eq "wifi ls: the radio lists both chutes" "$(jq -r --arg p "$ap_phy" '.radios[] | select(.phy == $p) | .chutes | sort | join(" ")' "$D/ls.json")" "cam door"
cam_addr=$(jq -r '.networks[] | select(.chute == "cam") | .address' "$D/ls.json")
door_addr=$(jq -r '.networks[] | select(.chute == "door") | .address' "$D/ls.json")
net=${cam_addr%.*}
check "the chute sees wlan0 with ${cam_addr}" sh -c "'$CHUTED' exec cam ip -4 addr show wlan0 | grep -q 'inet ${cam_addr}'"

# --- a station associates, gets a lease, fetches a page ----------------------
cat > "$D/sta.conf" << EOF
ctrl_interface=$D/wpa
network={
  ssid="$TEST_PREFIX-cam"
  psk="s3cretpass"
  key_mgmt=WPA-PSK
  scan_freq=2412
}
EOF
$IP netns exec "$STA" wpa_supplicant -B -i "$sta_if" -c "$D/sta.conf" -P "$D/wpa.pid" -f "$D/wpa.log"
sta_state() { $IP netns exec "$STA" wpa_cli -p "$D/wpa" -i "$sta_if" status 2> /dev/null | sed -n 's/^wpa_state=//p'; }
check "station associates with WPA2" wait_for 200 sh -c "[ \"\$($IP netns exec $STA wpa_cli -p $D/wpa -i $sta_if status | sed -n 's/^wpa_state=//p')\" = COMPLETED ]"
cat > "$D/udhcpc.sh" << 'EOF'
#!/bin/sh
[ "$1" = bound ] && /usr/sbin/ip addr add "$ip/$mask" dev "$interface" && /usr/sbin/ip route add default via "$router" 2>/dev/null
exit 0
EOF
chmod +x "$D/udhcpc.sh"
check "station gets a lease" $IP netns exec "$STA" udhcpc -i "$sta_if" -n -q -t 10 -T 1 -s "$D/udhcpc.sh"
addr=$($IP netns exec "$STA" $IP -4 -o addr show dev "$sta_if" | awk '{print $4}')
host=${addr%/*}
host=${host##*.}
if [ "${addr%.*}" = "$net" ] && [ "${host:-0}" -ge 100 ] && [ "$host" -le 149 ]; then pass "lease $addr in ${net}.100-149"; else fail "lease '$addr' not in ${net}.100-149"; fi
page=$($IP netns exec "$STA" timeout 20 wget -q -O - "http://${cam_addr%/*}/index.html" 2>&1)
eq "station fetches the chute's page over Wi-Fi" "$page" "hello from cam"
wifi_ls > "$D/ls.json"
sta_mac=$($IP netns exec "$STA" cat /sys/class/net/"$sta_if"/address)
eq "wifi ls: the station is associated to cam" "$(jq -r '.networks[] | select(.chute == "cam") | .stations | join(" ")' "$D/ls.json")" "$sta_mac"
eq "wifi ls: its lease is listed" "$(jq -r --arg m "$sta_mac" '.networks[] | select(.chute == "cam") | .leases[] | select(.mac == $m) | .ip' "$D/ls.json")" "${addr%/*}"

# --- isolation: the other chute is out of reach ------------------------------
check_fails "station cannot reach the other chute's Wi-Fi address" $IP netns exec "$STA" ping -c 1 -W 2 "${door_addr%/*}"
door_eth=$(chuted inspect door | jq -r '.[0].network.address // empty')
if [ -n "$door_eth" ]; then
  check_fails "station cannot reach the other chute's eth0 (${door_eth%/*})" $IP netns exec "$STA" ping -c 1 -W 2 "${door_eth%/*}"
fi

# --- shaping is the WAN's only: 1 MiB over Wi-Fi beats 1 Mbit/s -------------
t0=${EPOCHREALTIME/./}
n=$($IP netns exec "$STA" timeout 60 wget -q -O - "http://${cam_addr%/*}/big" | wc -c)
t1=${EPOCHREALTIME/./}
ms=$(((t1 - t0) / 1000))
echo "INFO: wifi: 1 MiB from the chute over Wi-Fi in ${ms} ms"
# at the WAN's 1 Mbit/s the same MiB would take at least 8.4 s
if [ "$n" = 1048576 ] && [ "$ms" -lt 8000 ]; then pass "Wi-Fi side not shaped by --wan-down 1mbit (1 MiB in ${ms} ms)"
else fail "Wi-Fi side: got $n bytes in ${ms} ms (shaped by the WAN limit?)"; fi

# --- hostapd is supervised ---------------------------------------------------
hpid=$(pgrep -f "wifi/cam/hostapd.conf" | head -1)
if [ -n "$hpid" ]; then
  kill -9 "$hpid"
  hostapd_back() {
    local p
    p=$(pgrep -f "wifi/cam/hostapd.conf" | head -1)
    [ -n "$p" ] && [ "$p" != "$hpid" ] &&
      [ "$(wifi_ls | jq -r '.networks[] | select(.chute == "cam") | .hostapd.state')" = ENABLED ]
  }
  check "hostapd restarted after it died" wait_for 300 hostapd_back
else
  fail "no hostapd process for cam"
fi

# --- rm removes the BSS, bridge, veth, dnsmasq -------------------------------
check "rm -f cam" wifi_rm cam
check "the station loses the network" wait_for 100 sh -c "[ \"\$($IP netns exec $STA wpa_cli -p $D/wpa -i $sta_if status | sed -n 's/^wpa_state=//p')\" != COMPLETED ]"
check_fails "no hostapd or dnsmasq left for cam" pgrep -f "wifi/cam/"
eq "wifi ls: only door left" "$(wifi_ls | jq -r '[.networks[].chute] | join(" ")')" "door"
check "rm -f door" wifi_rm door
eq "no Wi-Fi links left" "$(links)" ""
check_fails "no hostapd left" pgrep -x hostapd
check_fails "no dnsmasq left" pgrep -x dnsmasq
no_leftovers "wifi chutes"
finish
