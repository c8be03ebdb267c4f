#!/usr/bin/env bash
# Published ports from the host itself: `-p HOST_PORT:PORT` answers on
# 127.0.0.1 (output-hook DNAT, route_localnet on the bridge, loopback
# masquerade), `-p 127.0.0.1:...` only there, host IPs chuted cannot honour
# refused before anything is made, route_localnet restored after rm.
# Traffic only to 127.0.0.0/8 and the test's own bridge. Needs root.
. "$(dirname "$0")/../lib.sh"

export CHUTED_BRIDGE=chtprt0 CHUTED_SUBNET=10.231.130.0/24 CHUTED_DNS=10.231.130.53
export CHUTED_NET_ROOT=$T_DIR/netroot
TABLE=chuted_chtprt0 GW=10.231.130.1 VETHS=chv-0ae782
FWD_ORIG=$(cat /proc/sys/net/ipv4/ip_forward)
LOCALNET=/proc/sys/net/ipv4/conf/chtprt0/route_localnet

ports_leftovers() {
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$VETHS"); do ip link del "$l"; done
  ip link del chtprt0 2>/dev/null; nft delete table ip $TABLE 2>/dev/null
}
ports_cleanup() { t_cleanup; ports_leftovers; echo "$FWD_ORIG" > /proc/sys/net/ipv4/ip_forward; }

if [ "$(id -u)" != 0 ]; then skip "needs root"; exit 0; fi
exec 9>/run/lock/chuted-test-32_ports.lock
flock 9
trap ports_cleanup EXIT
ports_leftovers

ROOTFS=$(make_rootfs)
mkdir -p "$ROOTFS/www"; echo chute-page > "$ROOTFS/www/index.html"
httpd_chute() { # NAME [chuted run options...]
  local n=$1; shift
  chuted run -d --name "$n" "$@" --rootfs "$ROOTFS" /bin/httpd -f -p 80 -h /www
}
get() { curl -s -m 2 "$1"; }
bad() { # DESC WANT CMD...
  local d=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q -- "$want"; then pass "$d"; else fail "$d (rc=$rc: $out)"; fi
}

# --- every local address, 127.0.0.1 included ---
check "run web -p 18380:80 -p 0.0.0.0:18383:80" httpd_chute web -p 18380:80 -p 0.0.0.0:18383:80
wait_for 30 get http://127.0.0.1:18380/
eq "the host reaches web on 127.0.0.1:18380" "$(get http://127.0.0.1:18380/)" "chute-page"
eq "and on another local address (the bridge's)" "$(get http://$GW:18380/)" "chute-page"
eq "0.0.0.0 is every address: 127.0.0.1:18383" "$(get http://127.0.0.1:18383/)" "chute-page"
eq "route_localnet is on for the bridge" "$(cat $LOCALNET)" "1"
LOCALNET_ORIG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("route_localnet_orig"))' "$CHUTED_NET_ROOT/chtprt0/ipam.json")
check "its old value is recorded" test "$LOCALNET_ORIG" = 0 -o "$LOCALNET_ORIG" = 1
check "loopback masquerade out of the bridge" sh -c "nft list chain ip $TABLE postrouting | grep -q 'ip saddr 127.0.0.0/8 oifname \"chtprt0\".* masquerade'"

# --- bound to 127.0.0.1 only ---
check "run lo -p 127.0.0.1:18381:80" httpd_chute lo -p 127.0.0.1:18381:80
wait_for 30 get http://127.0.0.1:18381/
eq "the host reaches lo on 127.0.0.1:18381" "$(get http://127.0.0.1:18381/)" "chute-page"
eq "not on another local address" "$(get http://$GW:18381/)" ""
check "the output rule matches 127.0.0.1 only" sh -c "nft list chain ip $TABLE output | grep 'dport 18381' | grep -q 'ip daddr 127.0.0.1 '"
eq "no prerouting rule for a loopback-only port" "$(nft list chain ip $TABLE prerouting | grep -c 'dport 18381')" "0"

# --- refused forms: one line, nothing made ---
snapshot() {
  echo "$(ip -o link show | grep -c "$VETHS") $(ls "$T_RUNROOT/netns" | wc -l) $(nft list table ip $TABLE | grep -c 'dnat to')" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["leases"]))' "$CHUTED_NET_ROOT/chtprt0/ipam.json")" \
    "$(chuted ps -a -q | sort | tr '\n' ' ')"
}
BEFORE=$(snapshot)
bad "[::1]:PORT refused" "IPv6 host addresses are not supported" httpd_chute bad6 -p '[::1]:18382:80'
bad "::1:PORT refused" "IPv6 host addresses are not supported" httpd_chute bad6b -p '::1:18382:80'
bad "an address not of this host refused" "\`192.0.2.1\` is not an address of this host" httpd_chute badip -p 192.0.2.1:18382:80
bad "garbage refused" "not an IPv4 address" httpd_chute badgarbage -p nohost:18382:80
eq "nothing made by refused forms" "$(snapshot)" "$BEFORE"

# --- rm: rules gone, route_localnet back ---
check "rm lo" chuted rm -f lo
eq "lo's forward is gone" "$(nft list table ip $TABLE | grep -c 'dport 18381')" "0"
eq "route_localnet stays on while web publishes" "$(cat $LOCALNET)" "1"
check "rm web" chuted rm -f web
eq "no port forward left" "$(nft list table ip $TABLE | grep -c 'dnat to')" "0"
eq "route_localnet restored" "$(cat $LOCALNET)" "$LOCALNET_ORIG"
eq "ipam.json forgets it" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("route_localnet_orig"))' "$CHUTED_NET_ROOT/chtprt0/ipam.json")" "None"
eq "127.0.0.1:18380 no longer answers" "$(get http://127.0.0.1:18380/)" ""

check "network prune at the end" chuted network prune
eq "ip_forward restored" "$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_ORIG"
no_leftovers "32_ports"
finish
