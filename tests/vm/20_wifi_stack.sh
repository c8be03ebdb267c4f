#!/usr/bin/env bash
# Inside the VM: the Wi-Fi stack Wi-Fi chutes are built on, without chuted —
# two mac80211_hwsim radios, hostapd (WPA2-PSK) on one, wpa_supplicant on the
# other moved into a station netns, a dnsmasq lease, traffic across. If this
# fails, the image (modules, regulatory db, libraries) is what is broken.
. "$(dirname "$0")/../lib.sh"
IP=/usr/sbin/ip
STA=$TEST_PREFIX-sta
D=$T_DIR/wifi
mkdir -p "$D"

stop_all() {
  for p in "$D"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  $IP netns del "$STA" 2>/dev/null
}
trap 'stop_all; sleep 0.3; rmmod mac80211_hwsim 2>/dev/null; t_cleanup' EXIT

check "mac80211_hwsim loads with two radios" modprobe mac80211_hwsim radios=2
eq "two wiphys" "$(ls /sys/class/ieee80211 | wc -l)" 2
ap_phy=$(ls /sys/class/ieee80211 | sort | head -1)
sta_phy=$(ls /sys/class/ieee80211 | sort | tail -1)
ap_if=$(ls /sys/class/ieee80211/"$ap_phy"/device/net | head -1)
sta_if=$(ls /sys/class/ieee80211/"$sta_phy"/device/net | head -1)

$IP netns add "$STA"
check "station radio moves into its own netns" iw phy "$sta_phy" set netns name "$STA"
check "AP interface left in the root netns only" test -e /sys/class/net/"$ap_if" -a ! -e /sys/class/net/"$sta_if"

cat > "$D/hostapd.conf" <<EOF
interface=$ap_if
driver=nl80211
ctrl_interface=$D/hostapd
ssid=$TEST_PREFIX-ap
country_code=US
hw_mode=g
channel=1
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=s3cretpass
EOF
check "hostapd starts (WPA2-PSK)" hostapd -B -f "$D/hostapd.log" -P "$D/hostapd.pid" "$D/hostapd.conf"
if wait_for 100 sh -c "hostapd_cli -p '$D/hostapd' -i '$ap_if' status | grep -q '^state=ENABLED'"; then
  pass "hostapd control socket reports ENABLED"
else
  fail "hostapd control socket reports ENABLED"; cat "$D/hostapd.log"
fi

$IP addr add 192.168.77.1/24 dev "$ap_if"
check "dnsmasq serves a range on the AP interface" \
  dnsmasq --interface="$ap_if" --bind-interfaces --except-interface=lo --port=0 --no-ping --user=root \
  --dhcp-range=192.168.77.100,192.168.77.109,12h --dhcp-leasefile="$D/leases" --pid-file="$D/dnsmasq.pid"

cat > "$D/sta.conf" <<EOF
ctrl_interface=$D/wpa
network={
  ssid="$TEST_PREFIX-ap"
  psk="s3cretpass"
  key_mgmt=WPA-PSK
  scan_freq=2412
}
EOF
check "wpa_supplicant starts in the station netns" \
  $IP netns exec "$STA" wpa_supplicant -B -i "$sta_if" -c "$D/sta.conf" -P "$D/wpa.pid" -f "$D/wpa.log"
check "station associates with WPA2 (COMPLETED)" \
  wait_for 150 sh -c "$IP netns exec '$STA' wpa_cli -p '$D/wpa' -i '$sta_if' status | grep -q '^wpa_state=COMPLETED'"
check "AP lists the station" \
  sh -c "hostapd_cli -p '$D/hostapd' -i '$ap_if' all_sta | grep -q '^[0-9a-f:]\{17\}$'"

cat > "$D/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && /usr/sbin/ip addr add "$ip/$mask" dev "$interface"
exit 0
EOF
chmod +x "$D/udhcpc.sh"
$IP netns exec "$STA" $IP link set lo up
check "station gets a DHCP lease" $IP netns exec "$STA" udhcpc -i "$sta_if" -n -q -t 10 -T 1 -s "$D/udhcpc.sh"
addr=$($IP netns exec "$STA" $IP -4 -o addr show dev "$sta_if" | awk '{print $4}')
case "$addr" in
  192.168.77.10[0-9]/24) pass "lease inside the range ($addr)" ;;
  *) fail "lease inside the range (got '$addr')" ;;
esac
check "dnsmasq recorded the lease" grep -q "192.168.77.10" "$D/leases"
check "station reaches the AP over Wi-Fi" $IP netns exec "$STA" ping -c 2 -W 2 192.168.77.1

stop_all
check "radio returns to the root netns with its netns gone" wait_for 30 test -e /sys/class/ieee80211/"$sta_phy"
finish
