#!/usr/bin/env bash
# Two --roots on one bridge: the bridge's network state (IPAM, published
# ports, released veths) is shared under one lock, so their chutes get
# distinct addresses, neither root's reaper removes the other's veths, a
# prune from one is refused while the other has chutes, and ip_forward is
# held while any chute of either needs it and restored after the last. The
# leases of a root whose directory is gone are freed by the next reaper; a
# root's leases from before (ROOT/net/ipam.json) move to the bridge's state.
# Traffic stays between the host and namespaces this test makes. Needs root.
. "$(dirname "$0")/../lib.sh"

export CHUTED_BRIDGE=chtsh0 CHUTED_SUBNET=10.231.110.0/24 CHUTED_DNS=10.231.110.53
export CHUTED_NET_ROOT=$T_DIR/netroot
TABLE=chuted_chtsh0
FWD_ORIG=$(cat /proc/sys/net/ipv4/ip_forward)
ROOT_B=$T_DIR/root-b RUN_B=$T_DIR/run-b
mkdir -p "$ROOT_B" "$RUN_B"
B() { CHUTED_ROOT=$ROOT_B CHUTED_RUN_ROOT=$RUN_B CHUTED_CGROUP_PARENT=$T_CGPARENT-b "$CHUTED" "$@"; }

net_leftovers() {
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^chv-0ae76e'); do ip link del "$l"; done
  ip link del chtsh0 2>/dev/null; nft delete table ip $TABLE 2>/dev/null
}
net_cleanup() {
  for c in $(B ps -a -q 2>/dev/null); do B rm -f "$c" >/dev/null 2>&1; done
  for h in /sys/fs/cgroup/*/"$T_CGPARENT-"[bc] /sys/fs/cgroup/"$T_CGPARENT-"[bc]; do
    [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  t_cleanup
  net_leftovers
  echo "$FWD_ORIG" >/proc/sys/net/ipv4/ip_forward
}

if [ "$(id -u)" != 0 ]; then skip "needs root"; exit 0; fi
exec 9>/run/lock/chuted-test-31_net_shared.lock
flock 9
# only now: a run killed while it waits must not remove the fixed-name
# interfaces of the run that holds the lock
trap net_cleanup EXIT
net_leftovers

ROOTFS=$(make_rootfs)
mkdir -p "$ROOTFS/www"; echo chute-page >"$ROOTFS/www/index.html"
web() { # ROOT-RUNNER NAME [options]
  local r=$1 n=$2; shift 2
  $r run -d --name "$n" "$@" --rootfs "$ROOTFS" /bin/httpd -f -p 80 -h /www
}
net_of() { # ROOT-RUNNER NAME KEY
  $1 inspect "$2" | python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d['network']['$3'])"
}
get() { curl -s -m 2 "http://$1/"; }

# --- the same chute name in both roots, on one bridge ---
check "root A runs web -p 18190:80" web chuted web -p 18190:80
check "root B runs web" web B web
check "root B runs web2" web B web2
A_WEB=$(net_of chuted web address) B_WEB=$(net_of B web address) B_WEB2=$(net_of B web2 address)
eq "three distinct addresses" "$(printf '%s\n' "$A_WEB" "$B_WEB" "$B_WEB2" | sort -u | wc -l)" "3"
eq "A's web got the first one" "$A_WEB" "10.231.110.2/24"
B_VETH=$(net_of B web veth)
wait_for 30 get "${B_WEB%/*}"
eq "the host reaches A's web" "$(get "${A_WEB%/*}")" "chute-page"
eq "the host reaches B's web" "$(get "${B_WEB%/*}")" "chute-page"
eq "the host reaches B's web2" "$(get "${B_WEB2%/*}")" "chute-page"
check "the leases are kept per bridge" test -s "$CHUTED_NET_ROOT/chtsh0/ipam.json"
eq "network inspect lists both roots' chutes" \
  "$(chuted network inspect | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))')" "3"

bad() { # DESC WANT CMD...
  local d=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q -- "$want"; then pass "$d"; else fail "$d (rc=$rc: $out)"; fi
}
bad "a port A publishes is refused to B" "already published by chute \`web\` of root" web B dup -p 18190:80

# --- each root's reaper keeps to its own chutes ---
check "root A reaps (run --rm)" chuted run --rm --net none --rootfs "$ROOTFS" /bin/true
check "B's veth survives A's reaper" ip link show "$B_VETH"
eq "B's web still reachable after A's reaper" "$(get "${B_WEB%/*}")" "chute-page"
check "root A removes its web" chuted rm -f web
check "root A reaps again" chuted ps -a
check "B's veth survives" ip link show "$B_VETH"
eq "B's web still reachable" "$(get "${B_WEB%/*}")" "chute-page"
eq "ip_forward stays on while B's chutes need it" "$(cat /proc/sys/net/ipv4/ip_forward)" "1"
check "A's next chute does not take B's addresses" web chuted again
eq "A's next chute got the free address" "$(net_of chuted again address)" "10.231.110.2/24"
check "rm A's again" chuted rm -f again

# --- a root whose directory is gone: whichever root reaps next frees its leases ---
GHOST=/nonexistent-chuted-test-root-$$
python3 - "$CHUTED_NET_ROOT/chtsh0/ipam.json" "$GHOST" "$T_DIR/ghost-run" <<'PY'
import json, sys
p, root, run = sys.argv[1:]
d = json.load(open(p))
d["leases"][root + "/ghost"] = {"root": root, "run_root": run, "chute": "ghost", "mode": "bridge",
    "address": "10.231.110.50", "ifaces": [{"kind": "veth", "name": "eth0", "host": "chv-0ae76e32"}], "ports": []}
json.dump(d, open(p, "w"))
PY
leases() { python3 -c 'import json,sys; print(sorted(l["chute"] for l in json.load(open(sys.argv[1]))["leases"].values()))' "$CHUTED_NET_ROOT/chtsh0/ipam.json"; }
eq "a gone root's lease is recorded" "$(leases)" "['ghost', 'web', 'web2']"
check "root A reaps" chuted run --rm --net none --rootfs "$ROOTFS" /bin/true
eq "A's reaper freed the gone root's lease, kept B's" "$(leases)" "['web', 'web2']"

# --- prune from A while B has chutes on the bridge ---
bad "prune from A refused while B's chutes hold addresses" "of other roots ($ROOT_B)" chuted network prune
check "the bridge survives the refused prune" ip link show chtsh0
check "B's veth survives the refused prune" ip link show "$B_VETH"

# --- the last chute goes: ip_forward back to what it was before the first ---
check "root B removes its chutes" B rm -f web web2
eq "ip_forward restored after both roots' chutes are gone" "$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_ORIG"
eq "no bridge holds ip_forward" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bridges"])' "$CHUTED_NET_ROOT/ip_forward.json")" "[]"
eq "prune from A now removes the bridge" "$(chuted network prune)" "chtsh0"
check_fails "the bridge is gone" ip link show chtsh0

# --- a root from before the bridge kept the state: its ROOT/net/ipam.json
# moves into the bridge's state the first time the root locks it ---
ROOT_C=$T_DIR/root-c RUN_C=$T_DIR/run-c
mkdir -p "$ROOT_C/net" "$RUN_C"
C() { CHUTED_ROOT=$ROOT_C CHUTED_RUN_ROOT=$RUN_C CHUTED_CGROUP_PARENT=$T_CGPARENT-c "$CHUTED" "$@"; }
cat >"$ROOT_C/net/ipam.json" <<EOF
{"subnet": "10.231.110.0/24", "bridge": "chtsh0", "ip_forward_orig": "$FWD_ORIG",
 "leases": {"legacy": {"mode": "bridge", "address": "10.231.110.2", "ports": [],
  "ifaces": [{"kind": "veth", "name": "eth0", "host": "chv-0ae76e02"}]}}}
EOF
check "root C with a legacy ipam.json lists the network" C network ls
check "C's ipam.json is kept as ipam.json.migrated" test -f "$ROOT_C/net/ipam.json.migrated" -a ! -e "$ROOT_C/net/ipam.json"
eq "its lease is in the bridge's state, as C's" "$(python3 -c 'import json,sys; print([l["root"] for l in json.load(open(sys.argv[1]))["leases"].values() if l["chute"] == "legacy"])' "$CHUTED_NET_ROOT/chtsh0/ipam.json")" "['$ROOT_C']"
check "A runs a chute" chuted run -d --name after --rootfs "$ROOTFS" /bin/sleep 1000
eq "A's chute does not get the legacy chute's address" "$(net_of chuted after address)" "10.231.110.3/24"
bad "prune from C (it reaps its gone legacy chute) refused for A's chute" "of other roots ($T_ROOT)" C network prune
eq "C's reaper freed the legacy lease" "$(leases)" "['after']"
check "rm A's after" chuted rm -f after
eq "ip_forward restored" "$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_ORIG"
eq "prune from C removes the bridge" "$(C network prune)" "chtsh0"
veths_gone() { [ "$(ip -o link show | grep -c 'chv-0ae76e')" = 0 ]; }
check "no veth of either root left" wait_for 20 veths_gone
no_leftovers "31_net_shared"
finish
