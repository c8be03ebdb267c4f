#!/usr/bin/env bash
# Fleet rollouts (issue 13) with real AP daemons across a mosquitto bridge
# pair: the APs on broker A, chutectl on broker B, B bridging chuted/# to A
# (nothing assumes one broker). Labels in the retained status and group
# selection; a rollout with a canary reaches the whole group; one AP whose
# image fails the health probe stops a rollout at --max-fail, that AP back
# on its old version and the APs after it never reached; a restarted watch
# and a second operator see the same rollout from its retained document;
# abort (driver alive, then driver killed: taken over) puts every AP the
# rollout reached back; an AP's certificate cannot write a rollout topic.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fleet_lib.sh"
export CHUTED_BRIDGE=chtflt0 CHUTED_SUBNET=10.231.171.0/24
CTL=$BIN/chutectl
N=chuted-test-fleet
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for p in "$CTL" /usr/sbin/mosquitto /usr/bin/openssl; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done
DRIVER=
trap '[ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null; fl_cleanup; t_cleanup' EXIT

fl_ca; fl_cert broker IP:127.0.0.1; fl_cert operator; fl_cert bridge
PA=$(fl_port) PB=$(fl_port)
check "broker A (the APs') with TLS + ACL" fl_broker A "$PA"
fl_bridge_conf "$FL_DIR/bridge.conf" toA "$PA"
check "broker B (the operator's), bridged to A" fl_broker B "$PB" "$FL_DIR/bridge.conf"
fl_ctl_env "$PB"
"$CTL" keygen "$FL_DIR/ops" >/dev/null

# images: fleet:1, and fleet:2 whose /fail (on ap-2 only) fails v2's probe
make_rootfs "$T_DIR/rootfs" >/dev/null
MK() { "$TOP/tools/mkimage" "$1" --cmd '["/bin/sleep","1000"]' --tag "$2" -o "$3"; }
MK "$T_DIR/rootfs" fleet:1 "$T_DIR/f1.tar"; MK "$T_DIR/rootfs" fleet:2 "$T_DIR/f2.tar"
cp -a "$T_DIR/rootfs" "$T_DIR/rootfs-bad"; echo broken >"$T_DIR/rootfs-bad/fail"
MK "$T_DIR/rootfs-bad" fleet:2 "$T_DIR/f2bad.tar"
mk() { # VERSION IMAGE [GRACE]
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: %s\ncommand: "echo %s > /tmp/ver; trap '"'exit 0'"' TERM; sleep 1000 & wait"\nhealth: {exec: [sh, -c, "test ! -e /fail"], interval: 1s, timeout: 2s, grace: %s}\n' \
    "$N" "$1" "$2" "$1" "${3:-1s}" >"$T_DIR/$1/chute.yaml"
}
# v3's gate takes 3 s an AP: the aborts below land while it is under way
mk v1 fleet:1; mk v2 fleet:2; mk v3 fleet:1 3s

fl_ap ap-1 "$PA" "$T_DIR/f1.tar" "$T_DIR/f2.tar" -- group=lab site=east
fl_ap ap-2 "$PA" "$T_DIR/f1.tar" "$T_DIR/f2bad.tar" -- group=lab site=west
fl_ap ap-3 "$PA" "$T_DIR/f1.tar" "$T_DIR/f2.tar" -- group=lab site=east
fl_ap ap-4 "$PA" "$T_DIR/f1.tar" "$T_DIR/f2.tar" -- group=office
online() { "$CTL" nodes --json | js "sum(1 for n in d.values() if n.get('status',{}).get('state')=='online')"; }
check "4 AP daemons online, seen through the bridge" wait_for 150 sh -c "[ \"\$(\"$CTL\" nodes --json | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin).values() if n.get(\"status\",{}).get(\"state\")==\"online\"))')\" = 4 ]"
[ "$T_FAILS" = 0 ] || finish

eq "labels in the retained status" "$("$CTL" nodes --json | js "d['ap-2']['status']['labels']")" "{'group': 'lab', 'site': 'west'}"
eq "nodes --group lab --json: ap-1..3" "$("$CTL" nodes --group lab --json | js "sorted(d)")" "['ap-1', 'ap-2', 'ap-3']"
eq "nodes -l group=lab -l site=east" "$("$CTL" nodes -l group=lab -l site=east --json | js "sorted(d)")" "['ap-1', 'ap-3']"
check "nodes (table) shows the labels" sh -c "\"$CTL\" nodes | grep -q 'group=office'"

ver() { fl_chuted "$1" exec "$N" cat /tmp/ver 2>/dev/null; }
vers() { echo "$(ver ap-1) $(ver ap-2) $(ver ap-3) $(ver ap-4)"; }
gen() { "$CTL" desired "$1" | js "d['generation']"; }

# --- a group rollout with a canary reaches all
out=$("$CTL" deploy --group all --canary 1 "$T_DIR/v1" 2>&1); rc=$?
R1=$(head -1 <<<"$out")
eq "deploy --group all --canary 1 v1: done ($(grep ' done: ' <<<"$out" | tail -1))" "$rc" 0
eq "...v1 runs on every AP" "$(vers)" "v1 v1 v1 v1"
check "...100 % reached, with its time" grep -q "4/4 done, 0 failed.*100% [0-9.]* s" <<<"$out"
starts=0; for n in ap-1 ap-2 ap-3 ap-4; do
  starts=$((starts + $(fl_chuted "$n" changes --json | js "len([c for c in d if c['id'].startswith('$R1.') and c['result']=='done'])")))
done
eq "...one change per AP, none twice" "$starts" 4

# --- ap-2 fails v2's health probe: the rollout stops at --max-fail 0 %
G3=$(gen ap-3)
out=$("$CTL" deploy --group lab --canary 1 --batch 1 --max-fail 0% "$T_DIR/v2" 2>&1); rc=$?
R2=$(head -1 <<<"$out")
check "deploy --group lab v2 with one AP failing: exit 1 ($(tail -1 <<<"$out"))" test "$rc" = 1
check "...stopped: 1 of 3 failed, more than --max-fail 0%" grep -q "$R2 stopped: .*1 of 3 APs failed" <<<"$out"
eq "...canary ap-1 on v2, ap-2 back on v1, ap-3 never reached, ap-4 not in the group" "$(vers)" "v2 v1 v1 v1"
eq "...ap-2's desired document puts it back on v1" "$("$CTL" desired ap-2 | js "sorted(d['chutes']['$N'].items())")" "[('running', True), ('version', 'v1')]"
eq "...ap-3's desired document untouched" "$(gen ap-3)" "$G3"
check "...ap-2's reason (its health probe) in the table" grep -q "ap-2 .*failed.*reverted" <<<"$out"

# --- a watch started afterwards (another operator, a restarted one) sees it
out=$("$CTL" watch "$R2" 2>&1); rc=$?
check "watch $R2 afterwards: stopped, exit 1" sh -c "[ $rc = 1 ] && grep -q '$R2 stopped' <<'X'
$out
X"
check "...per-AP phases: ap-1 done, ap-2 failed, ap-3 pending" sh -c "grep -q '^ap-1 *done' <<'X' && grep -q '^ap-2 *failed' <<'X' && grep -q '^ap-3 *pending' <<'X'
$out
X
$out
X
$out
X"
eq "watch --json: the retained document" "$("$CTL" watch --json "$R2" 2>/dev/null | js "d['state'], sorted((k, v['phase']) for k, v in d['nodes'].items())")" \
  "stopped [('ap-1', 'done'), ('ap-2', 'failed'), ('ap-3', 'pending')]"

# --- abort while the driver runs; a second operator watches it live
applied() { # NODE ROLLOUT: NODE's engine did the rollout's change
  [ "$(fl_chuted "$1" changes --json | js "any(c['id'] == '$2.deploy.$N' and c['result'] == 'done' for c in d)")" = True ]
}
"$CTL" deploy --group lab --canary 1 --batch 1 "$T_DIR/v3" >"$T_DIR/r3.out" 2>&1 & DRIVER=$!
wait_for 100 test -s "$T_DIR/r3.out"
R3=$(head -1 "$T_DIR/r3.out")
check "rollout v3 under way: the canary (ap-1) applied it" wait_for 300 applied ap-1 "$R3"
"$CTL" watch "$R3" >"$T_DIR/w3.out" 2>&1 & WATCHER=$!
out=$("$CTL" abort "$R3" 2>&1); rc=$?
eq "abort $R3: exit 0 ($(grep aborted <<<"$out" | head -1))" "$rc" 0
wait "$DRIVER"; rc=$?; DRIVER=
eq "...the driver ends with exit 1" "$rc" 1
wait "$WATCHER"
check "...the live watcher saw it aborted" grep -q "$R3 aborted" "$T_DIR/w3.out"
eq "...every AP it reached back: ap-1 v2, ap-2 v1, ap-3 v1" "$(vers)" "v2 v1 v1 v1"
eq "abort of an ended rollout: refused" "$("$CTL" abort "$R3" 2>&1)" "chutectl: abort: rollout $R3 is aborted already"

# --- abort with the driver killed: the aborting chutectl takes over
"$CTL" deploy --group lab --canary 1 --batch 1 "$T_DIR/v3" >"$T_DIR/r4.out" 2>&1 & DRIVER=$!
wait_for 100 test -s "$T_DIR/r4.out"
R4=$(head -1 "$T_DIR/r4.out")
check "rollout v3 again: the canary applied it" wait_for 300 applied ap-1 "$R4"
kill -9 "$DRIVER"; wait "$DRIVER" 2>/dev/null; DRIVER=
out=$("$CTL" abort "$R4" 2>&1); rc=$?
check "abort $R4 with no driver: taken over, aborted ($(tail -1 <<<"$out" | head -c 100))" sh -c "[ $rc = 0 ] && grep -q 'no driver' <<'X'
$out
X"
eq "...every AP back (ap-1 v2, ap-2 v1, ap-3 v1)" "$(vers)" "v2 v1 v1 v1"

# --- the ACL: an AP's certificate cannot write (nor read) rollout topics
fl_publish_raw ap-1 chuted/fleet/v1/rollout/rforged '{"id":"rforged","state":"running","nodes":{}}' "$PA"
fl_publish_raw operator chuted/fleet/v1/rollout/rcontrol '{"id":"rcontrol","state":"done","nodes":{}}' "$PA"
check "the operator's certificate writes a rollout topic (control)" wait_for 50 sh -c "\"$CTL\" watch rcontrol | grep -q 'rcontrol done'"
eq "ap-1's certificate cannot: nothing retained" "$("$CTL" abort rforged 2>&1)" "chutectl: abort: no rollout rforged on the broker"
eq "...nor read one" "$("$CTL" --cert "$FL_P/ap-1.crt" --key "$FL_P/ap-1.key" abort "$R3" 2>&1)" "chutectl: abort: no rollout $R3 on the broker"

fl_cleanup
for n in ap-1 ap-2 ap-3 ap-4; do
  check "$n's daemon log has no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error' '$FL_DIR/$n/daemon.log'"
done
CHUTED_ROOT=$FL_DIR/ap-1/root chuted network prune >/dev/null 2>&1
no_leftovers "fleet"
finish
