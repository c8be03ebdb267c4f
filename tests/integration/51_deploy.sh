#!/usr/bin/env bash
# The deploy engine with real chutes: deploy, health-gated update, rollback
# of an update whose process dies at once, `chute rollback`, a change id
# applied twice runs once, a stale generation refused, stop/start/restart/rm
# as journaled changes, the journal and the desired state on disk; a chute
# file's net: none deploys a chute without a network of chuted's.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtdep0 CHUTED_SUBNET=10.231.151.0/24
MKIMAGE="$TOP/tools/mkimage"
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-dep

make_rootfs "$T_DIR/rootfs" >/dev/null
"$MKIMAGE" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","echo up; exec sleep 1000"]' --tag dep:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"

# chute file of version V running COMMAND (a shell line)
mk() {
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: dep:1\ncommand: "%s"\nenvironment: {VER: "%s"}\nresource: {memory: 64M}\n' \
    "$N" "$1" "$2" "$1" >"$T_DIR/$1/chute.yaml"
}
mk v1 "echo v1 > /tmp/ver; trap 'exit 0' TERM; sleep 1000 & wait"
mk v2 "echo v2 > /tmp/ver; trap 'exit 0' TERM; sleep 1000 & wait"
mk v3 'echo v3 dies; exit 3'
mk v4 "echo v4 > /tmp/ver; trap 'exit 0' TERM; sleep 1000 & wait"
ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
envver() { chuted exec "$N" sh -c 'echo $VER' 2>/dev/null; }
row() { chuted chutes --json | js "[ (c['version'], c['desired'], c['actual'], c['health']) for c in d if c['name']=='$N' ]"; }
starts() { chuted changes --json | js "len([c for c in d if c['chute']=='$N' and c['kind'] in ('deploy','update','rollback','start','restart') and c['result']=='done'])"; }

out=$(chuted deploy "$T_DIR/v1" 2>&1); rc=$?
eq "deploy v1 exits 0" "$rc" 0
check "deploy prints its progress (queued .. waiting for health .. done)" \
  sh -c "printf '%s\n' \"\$1\" | grep -q ': queued' && printf '%s\n' \"\$1\" | grep -q ': waiting for health' && printf '%s\n' \"\$1\" | grep -q ': done'" _ "$out"
eq "v1 runs, with its environment" "$(ver) $(envver)" "v1 v1"
eq "chutes: v1 desired running, running, healthy" "$(row)" "[('v1', 'running', 'running', 'healthy')]"
check "desired state on disk" test -s "$T_ROOT/deploy/chutes/$N/desired.json" -a -s "$T_ROOT/deploy/chutes/$N/versions/v1/chute.yaml"

out=$(chuted deploy "$T_DIR/v2/chute.yaml" 2>&1)
eq "update v1 -> v2: done" "$(tail -1 <<<"$out" | sed 's/^[^ ]* //')" "$N: done"
check "...it stopped the old one" grep -q "stopping old" <<<"$out"
eq "v2 runs" "$(ver)" v2
eq "desired: v2, previous v1" "$(js 'd["version"], d["previous"], d["generation"]' <"$T_ROOT/deploy/chutes/$N/desired.json")" "v2 v1 2"

out=$(chuted deploy "$T_DIR/v3" 2>&1); rc=$?
check "update to v3 (exits at once) fails" test $rc -ne 0
check "...says it rolled back, and why ($(tail -1 <<<"$out"))" sh -c "tail -1 <<'X' | grep -q 'exited with code 3: rolled back to version v2'
$out
X"
eq "v2 runs again" "$(ver)" v2
eq "chutes: v2 running, healthy" "$(row)" "[('v2', 'running', 'running', 'healthy')]"
last() { chuted changes --json | js "d[-1]['kind'], d[-1]['version'], d[-1]['result'], d[-1]['reason']"; }
eq "journal: rolled_back with the reason" "$(last)" "update v3 rolled_back not alive: exited with code 3"

# a kept version is never rewritten: rolling back to it brings back what ran
sed "s/sleep 1000/sleep 999/" "$T_DIR/v2/chute.yaml" >"$T_DIR/v2b.yaml"
out=$(chuted deploy "$T_DIR/v2b.yaml" 2>&1); rc=$?
check "same version, other file: refused ($out)" test $rc -ne 0 -a "$(grep -c "version v2 is kept with another chute file" <<<"$out")" = 1
eq "...v2 still runs, untouched" "$(ver)|$(cmp -s "$T_DIR/v2/chute.yaml" "$T_ROOT/deploy/chutes/$N/versions/v2/chute.yaml" && echo same)" "v2|same"
check "the same file again: a redeploy" chuted deploy "$T_DIR/v2"
eq "...v2 runs, v1 still kept for rollback" "$(ver)|$(js 'd["version"], d["previous"]' <"$T_ROOT/deploy/chutes/$N/desired.json")" "v2|v2 v1"

check "chute rollback" chuted chute rollback "$N"
eq "rollback brings v1 back" "$(ver)" v1
eq "desired: v1, previous v2" "$(js 'd["version"], d["previous"]' <"$T_ROOT/deploy/chutes/$N/desired.json")" "v1 v2"
eq "only the kept versions stay on disk" "$(ls "$T_ROOT/deploy/chutes/$N/versions" | tr '\n' ' ')" "v1 v2 "

# the same change delivered twice runs once
before=$(starts)
check "deploy v4 as change web-42" chuted deploy --change-id web-42 "$T_DIR/v4"
out=$(chuted deploy --change-id web-42 "$T_DIR/v4" 2>&1); rc=$?
eq "the same change id again: exit 0" "$rc" 0
check "...reported as already applied ($out)" grep -q "already applied (done)" <<<"$out"
eq "...one start for the two deliveries" "$(starts)" "$((before + 1))"
eq "journal: web-42 once" "$(chuted changes --json | js "len([c for c in d if c['id']=='web-42'])")" 1

gen=$(js 'd["generation"]' <"$T_ROOT/deploy/chutes/$N/desired.json")
out=$(chuted deploy --generation "$gen" "$T_DIR/v2" 2>&1); rc=$?
check "a stale generation is refused ($out)" test $rc -ne 0 -a "$(grep -c "generation $gen is stale" <<<"$out")" = 1
eq "...v4 still runs" "$(ver)" v4
check "a newer generation is applied" chuted deploy --generation $((gen + 10)) "$T_DIR/v2"
eq "...v2 runs, at that generation" "$(ver)|$(js 'd["generation"]' <"$T_ROOT/deploy/chutes/$N/desired.json")" "v2|$((gen + 10))"

insp=$(chuted chute inspect "$N")
eq "chute inspect: version, plan's image, the manifest, its changes" \
  "$(js "d['chute']['version'], d['plan']['services'][0]['image'], 'version: \"v2\"' in d['manifest'], len(d['changes'])" <<<"$insp")" \
  "v2 dep:1 True 7"
check "chute stop" chuted chute stop "$N"
eq "chutes: desired and actual stopped" "$(row)" "[('v2', 'stopped', 'stopped', '-')]"
check "chute start" chuted chute start "$N"
eq "...running again" "$(row)" "[('v2', 'running', 'running', 'healthy')]"
check "chute restart" chuted chute restart "$N"
eq "...running" "$(row)" "[('v2', 'running', 'running', 'healthy')]"
check_fails "chute rollback of an unknown chute" chuted chute rollback nosuch
check "chute rm" chuted chute rm "$N"
eq "chutes: empty" "$(chuted chutes --json)" "[]"
check "desired state gone" test ! -e "$T_ROOT/deploy/chutes/$N"
eq "ps: no chute left" "$(chuted ps -a -q)" ""
eq "changes: every kind recorded, in order" "$(chuted changes --json | js "' '.join(c['kind'] for c in d)")" \
  "deploy update update update rollback update update stop start restart remove"
check "journal survives (ids numbered from a persisted counter)" test -s "$T_ROOT/deploy/journal/seq"

# net: none in the chute file is `run --net none`: the runtime's empty
# netns, nothing of chuted's network (no netns file, veth, lease)
NN=$N-nonet
printf 'name: %s\nimage: dep:1\nnet: none\nhealth: {grace: 1s}\n' "$NN" >"$T_DIR/nonet.yaml"
check "deploy a chute file with net: none" chuted deploy "$T_DIR/nonet.yaml"
eq "...recorded as --net none" "$(js "d['net'].get('mode')" <"$T_ROOT/chutes/$NN/chute.json")" none
eq "...only lo inside, no route" "$(chuted exec "$NN" ls /sys/class/net | tr '\n' ' ')|$(chuted exec "$NN" ip route | wc -l)" "lo |0"
check "...no netns or network record of its own" test ! -e "$T_RUNROOT/netns/$NN" -a ! -e "$T_RUNROOT/net/$NN"
eq "...no lease (so no veth)" "$(chuted network inspect | js "[l for l in d['leases'] if l['chute'] == '$NN']")" "[]"
check "...removed" chuted chute rm "$NN"

# a first deploy that fails leaves nothing behind
mk v5 'exit 7'
sed -i "s/^name: .*/name: $N-bad/" "$T_DIR/v5/chute.yaml"
out=$(chuted deploy "$T_DIR/v5" 2>&1); rc=$?
check "failing first deploy: non-zero, the reason ($(tail -1 <<<"$out"))" test $rc -ne 0 -a "$(grep -c "exited with code 7" <<<"$out")" -ge 1
eq "...no chute, no desired state" "$(chuted ps -a -q)|$(chuted chutes --json)" "|[]"

chuted network prune >/dev/null 2>&1
no_leftovers "deploy"
finish
