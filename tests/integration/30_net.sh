#!/usr/bin/env bash
# Chute networks through `chuted run`: port forwards from a LAN client netns,
# NAT to a WAN server netns, isolation between chutes, --net none, unique
# addresses, bad input, shaping, teardown after kill -9, the bridge outliving
# the last chute until `chuted network prune`, a changed configuration.
# Traffic stays inside namespaces this test makes. Needs root.
. "$(dirname "$0")/../lib.sh"

# A bridge, subnet and table of our own, never the default chuted0.
export CHUTED_BRIDGE=chtint0 CHUTED_SUBNET=10.231.100.0/24 CHUTED_DNS=10.231.102.53
# the bridges' shared state (IPAM, the ip_forward record) of this test alone
export CHUTED_NET_ROOT=$T_DIR/netroot
LAN_NS=chuted-test-ilan WAN_NS=chuted-test-iwan
LAN_HOST=10.231.101.1 LAN_PEER=10.231.101.2 WAN_HOST=10.231.102.1 WAN_PEER=10.231.102.2
TABLE=chuted_chtint0
# the network a changed configuration moves to
BRIDGE2=chtint1 SUBNET2=10.231.103.0/24 TABLE2=chuted_chtint1
FWD_ORIG=$(cat /proc/sys/net/ipv4/ip_forward)
PIDS=""

net_leftovers() { # of this test, also of a crashed earlier run
  ip netns del $LAN_NS 2>/dev/null; ip netns del $WAN_NS 2>/dev/null
  ip link del chtilan0 2>/dev/null; ip link del chtiwan0 2>/dev/null
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^chv-0ae764\|^chv-0ae767'); do ip link del "$l"; done
  ip link del chtint0 2>/dev/null; nft delete table ip $TABLE 2>/dev/null
  ip link del $BRIDGE2 2>/dev/null; nft delete table ip $TABLE2 2>/dev/null
}
net_cleanup() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  t_cleanup
  net_leftovers
  echo "$FWD_ORIG" > /proc/sys/net/ipv4/ip_forward
}

if [ "$(id -u)" != 0 ]; then skip "needs root"; exit 0; fi
# Fixed names (so a crashed run's leftovers are found): one instance at a time.
exec 9>/run/lock/chuted-test-30_net.lock
flock 9
# only now: a run killed while it waits must not remove the fixed-name
# interfaces of the run that holds the lock
trap net_cleanup EXIT
net_leftovers

peer_ns() { # NS HOSTIF HOST_IP PEER_IP
  ip netns add "$1" && ip link add "$2" type veth peer name eth0 netns "$1" &&
    ip addr add "$3/24" dev "$2" && ip link set "$2" up &&
    ip -n "$1" addr add "$4/24" dev eth0 && ip -n "$1" link set eth0 up && ip -n "$1" link set lo up &&
    ip -n "$1" route add default via "$3"
}
check "LAN client netns" peer_ns $LAN_NS chtilan0 $LAN_HOST $LAN_PEER
check "WAN server netns" peer_ns $WAN_NS chtiwan0 $WAN_HOST $WAN_PEER
mkdir -p "$T_DIR/wanwww"; echo wan-page > "$T_DIR/wanwww/index.html"
ip netns exec $WAN_NS busybox httpd -f -p 80 -h "$T_DIR/wanwww" </dev/null >/dev/null 2>&1 &
PIDS="$PIDS $!"; disown

ROOTFS=$(make_rootfs)
mkdir -p "$ROOTFS/www"; echo chute-page > "$ROOTFS/www/index.html"
httpd_chute() { # NAME [chuted run options...]
  local n=$1; shift
  chuted run -d --name "$n" "$@" --rootfs "$ROOTFS" /bin/httpd -f -p 80 -h /www
}
jq_net() { chuted inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d['network']$2)"; }
lan_get() { ip netns exec $LAN_NS curl -s -m 2 "$1"; }
# busybox wget segfaults on this host; busybox nc does the HTTP GET inside chutes
chute_get() { chuted exec "$1" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | timeout 3 nc $2 80 | tail -1"; }

# --- a published, shaped chute ---
check "run web -p 18180:80 --wan-down 25000 --wan-up 10000" httpd_chute web -p 18180:80 --wan-down 25000 --wan-up 10000
ADDR=$(jq_net web "['address']")
eq "web has an address from the subnet" "$ADDR" "10.231.100.2/24"
eq "web's gateway is the bridge" "$(jq_net web "['gateway']")" "10.231.100.1"
eq "inspect shows the published port" "$(jq_net web "['ports'][0]['host_port']")" "18180"
eq "inspect shows the WAN limits" "$(jq_net web "['wan']['down_kbit']"),$(jq_net web "['wan']['up_kbit']")" "25000,10000"
wait_for 30 lan_get http://$LAN_HOST:18180/
eq "LAN client reaches web through -p" "$(lan_get http://$LAN_HOST:18180/)" "chute-page"
eq "web reaches the WAN server through NAT" "$(chute_get web $WAN_PEER)" "wan-page"
RX=$(jq_net web "['counters']['rx_bytes']")
check "inspect shows tx/rx counters" test "$RX" -gt 0
VETH=$(jq_net web "['veth']")
check "downstream tbf on the host end" sh -c "tc qdisc show dev $VETH root | grep -q 'tbf.*rate 25Mbit'"
check "upstream tbf on the chute's eth0" sh -c "nsenter --net=$T_RUNROOT/netns/web tc qdisc show dev eth0 root | grep -q 'rate 10Mbit'"
check "chute's eth0 has no CAP_NET_ADMIN to undo it" sh -c "! chuted exec web ip link set eth0 down"
eq "resolv.conf is the configured upstream" "$(chuted exec web cat /etc/resolv.conf)" "nameserver 10.231.102.53"
eq "hosts names the chute" "$(chuted exec web cat /etc/hosts | grep -c '^10.231.100.2[[:space:]]web$')" "1"
check "change the limits on the running chute" chuted update --wan-down 5000 --wan-up 0 web
check "downstream is now 5Mbit" sh -c "tc qdisc show dev $VETH root | grep -q 'rate 5Mbit'"
check_fails "upstream limit lifted" sh -c "nsenter --net=$T_RUNROOT/netns/web tc qdisc show dev eth0 root | grep -q tbf"

# --- isolation ---
check "run other" httpd_chute other
OTHER=$(jq_net other "['address']" | cut -d/ -f1)
eq "the host reaches other (it is the bridge)" "$(curl -s -m 2 http://$OTHER/)" "chute-page"
eq "web cannot reach other" "$(chute_get web $OTHER)" ""
eq "other cannot reach web" "$(chute_get other "${ADDR%/*}")" ""
eq "other cannot reach the host's own services" "$(chuted exec other sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | timeout 3 nc $LAN_HOST 18180 | tail -1")" ""

# --- --net none ---
check "run --net none" chuted run -d --name lonely --net none --rootfs "$ROOTFS" /bin/sleep 1000
eq "--net none has no route" "$(chuted exec lonely ip route | wc -l)" "0"
eq "--net none has only lo" "$(chuted exec lonely ls /sys/class/net | tr '\n' ' ')" "lo "
check "rm lonely" chuted rm -f lonely

# --- network ls / inspect ---
check "network ls shows the bridge" sh -c "$CHUTED network ls | grep -q 'chtint0 *10.231.100.0/24'"
eq "network inspect lists the leases" "$(chuted network inspect | python3 -c 'import json,sys; print(sorted(l["chute"] for l in json.load(sys.stdin)["leases"]))')" "['other', 'web']"

# --- bad input: one line, non-zero, nothing made ---
bad() { # DESC WANT CMD...
  local d=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q -- "$want"; then pass "$d"; else fail "$d (rc=$rc: $out)"; fi
}
snapshot() { echo "$(ip -o link show | grep -c 'chv-0ae764') $(ls "$T_RUNROOT/netns" | wc -l) $(nft list table ip $TABLE | grep -c 'dnat to')"; }
BEFORE=$(snapshot)
bad "port already published" "already published by chute \`web\`" httpd_chute dup -p 18180:80
bad "port out of range" "not in 1-65535" httpd_chute oor -p 70000:80
bad "bad rate string" "rate" httpd_chute badrate --wan-down fast
eq "nothing made by bad input" "$(snapshot)" "$BEFORE"
check "rm web other" chuted rm -f web other
# like docker0, the bridge and its table outlive the last chute
check "the bridge stays after the last chute" ip link show chtint0
check "the nft table stays (base rules)" sh -c "nft list table ip $TABLE | grep -q masquerade"
eq "no port forward left" "$(nft list table ip $TABLE | grep -c 'dnat to')" "0"
veths_gone() { [ "$(ip -o link show | grep -c 'chv-0ae764')" = 0 ]; }
check "the veths went with their netns" wait_for 20 veths_gone
eq "ip_forward restored" "$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_ORIG"

# --- an address reused right after rm (the old netns may still be dying) ---
check "run r1" chuted run -d --name r1 --rootfs "$ROOTFS" /bin/sleep 1000
A1=$(jq_net r1 "['address']")
chuted rm -f r1 >/dev/null
check "run r2 right after rm r1" httpd_chute r2
eq "r2 got r1's address" "$(jq_net r2 "['address']")" "$A1"
wait_for 30 curl -s -m 1 "http://${A1%/*}/"
eq "the host reaches r2 at that address" "$(curl -s -m 2 "http://${A1%/*}/")" "chute-page"
eq "r2 reaches the WAN server" "$(chute_get r2 $WAN_PEER)" "wan-page"
check "rm r2" chuted rm -f r2

# --- network prune ---
check "run keeper" chuted run -d --name keeper --rootfs "$ROOTFS" /bin/sleep 1000
bad "prune refused while a chute holds an address" "1 chute holds addresses on \`chtint0\`" chuted network prune
check "the bridge survives the refused prune" ip link show chtint0
check "rm keeper" chuted rm -f keeper
eq "network prune names the bridge it removed" "$(chuted network prune)" "chtint0"
check_fails "prune removed the bridge" ip link show chtint0
check_fails "prune removed the nft table" nft list table ip $TABLE
eq "ip_forward restored after prune" "$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_ORIG"
eq "ipam.json forgets the network" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("bridge"))' "$CHUTED_NET_ROOT/chtint0/ipam.json")" "None"
eq "prune again: nothing to remove" "$(chuted network prune; echo rc=$?)" "rc=0"
check_fails "network ls says not created" sh -c "$CHUTED network ls | grep -q ' up$'"

# --- a changed configuration with no chute left: the old network goes ---
check "run --rm on chtint0" chuted run --rm --rootfs "$ROOTFS" /bin/true
check "chtint0 made on first use" ip link show chtint0
check "run --rm on $BRIDGE2 $SUBNET2" env CHUTED_BRIDGE=$BRIDGE2 CHUTED_SUBNET=$SUBNET2 "$CHUTED" run --rm --rootfs "$ROOTFS" /bin/true
check_fails "the old bridge is gone" ip link show chtint0
check_fails "the old nft table is gone" nft list table ip $TABLE
check "the new bridge is there" ip link show $BRIDGE2
check "run on $SUBNET2" env CHUTED_BRIDGE=$BRIDGE2 CHUTED_SUBNET=$SUBNET2 "$CHUTED" run -d --name moved --rootfs "$ROOTFS" /bin/sleep 1000
eq "with an address of the new subnet" "$(jq_net moved "['address']")" "10.231.103.2/24"
bad "back to the old network refused while a chute holds an address on the new" "changed from $BRIDGE2 $SUBNET2 to chtint0 10.231.100.0/24" \
  "$CHUTED" run -d --name back --rootfs "$ROOTFS" /bin/sleep 1000
check "rm moved" chuted rm -f moved
eq "prune removes $BRIDGE2" "$(CHUTED_BRIDGE=$BRIDGE2 CHUTED_SUBNET=$SUBNET2 "$CHUTED" network prune)" "$BRIDGE2"
check_fails "$BRIDGE2 gone" ip link show $BRIDGE2
check_fails "$TABLE2 gone" nft list table ip $TABLE2

bad "overlapping subnet" "overlaps" env CHUTED_SUBNET=10.231.101.0/25 "$CHUTED" run -d --name ovl --rootfs "$ROOTFS" /bin/sleep 100
check_fails "no bridge after the overlap error" ip link show chtint0

# --- 20 chutes: unique addresses, reused only after rm ---
for i in $(seq 1 20); do chuted run -d --name "u$i" --rootfs "$ROOTFS" /bin/sleep 1000 >/dev/null || fail "run u$i"; done
ADDRS=$(for i in $(seq 1 20); do jq_net "u$i" "['address']"; done)
eq "20 chutes, 20 distinct addresses" "$(echo "$ADDRS" | sort -u | wc -l)" "20"
A7=$(jq_net u7 "['address']")
check "rm u7" chuted rm -f u7
chuted run -d --name again --rootfs "$ROOTFS" /bin/sleep 1000 >/dev/null
eq "u7's address is reused after rm" "$(jq_net again "['address']")" "$A7"
eq "nobody else's" "$(for i in $(seq 1 20); do [ $i = 7 ] || jq_net "u$i" "['address']"; done | grep -c "^$A7$")" "0"
for i in $(seq 1 20); do [ $i = 7 ] || chuted rm -f "u$i" >/dev/null; done
chuted rm -f again >/dev/null
check "no veth left after 21 rm" wait_for 20 veths_gone

# --- kill -9 of the monitor, and of `chuted run` mid-setup: the next
# `chuted run` (which reaps) cleans up ---
probe() { chuted run -d --name probe --net none --rootfs "$ROOTFS" /bin/true >/dev/null 2>&1; chuted rm -f probe >/dev/null 2>&1; }
check "run victim" httpd_chute victim -p 18181:80
MON=$(chuted inspect victim | python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d['state']['monitor_pid'])")
PID=$(chuted inspect victim | python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d['state']['pid'])")
VVETH=$(jq_net victim "['veth']")
kill -9 "$MON" "$PID"
# the kill is asynchronous: a lock or process of the victim may linger a moment
gone() { probe; ! ip link show "$VVETH" >/dev/null 2>&1; }
check "monitor killed: the next run removed its veth" wait_for 30 gone
eq "monitor killed: the port forward is gone" "$(nft list table ip $TABLE 2>/dev/null | grep -c 'dnat to')" "0"
chuted rm -f victim >/dev/null 2>&1
for delay in 0.002 0.005 0.01 0.02 0.04 0.08; do
  "$CHUTED" run -d --name "k" -p 18182:80 --wan-down 1000 --rootfs "$ROOTFS" /bin/sleep 1000 >/dev/null 2>&1 &
  KP=$!; sleep $delay; kill -9 $KP 2>/dev/null; wait $KP 2>/dev/null
  probe
  chuted rm -f k >/dev/null 2>&1
  wait_for 20 veths_gone
  eq "chuted run killed after ${delay}s: nothing left" "$(snapshot 2>/dev/null | cut -d' ' -f1,2)" "0 0"
done
check "network prune at the end" chuted network prune
no_leftovers "30_net"
finish
