#!/usr/bin/env bash
# `chuted reconcile` after anything: `chuted deploy` killed (-9) at 30 random
# points of an update, then reconcile: one version runs, alive, the store is
# consistent, nothing leaked. Also: a first deploy killed, `chute stop|start|
# restart|rollback|rm` killed, a monitor killed, a reboot (run root gone;
# `start --all`, the boot unit's, reconciles), a chute desired stopped stays
# stopped, reconcile twice does nothing the second time, and it waits for a
# deploy under way.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtrec0 CHUTED_SUBNET=10.231.152.0/24
N=chuted-test-rec
N2=chuted-test-rec2
TRIALS=${RECONCILE_TRIALS:-30}
# the ASan pass looks for memory errors on the same paths: fewer trials
[ "$BIN" = "$TOP/build-asan" ] && TRIALS=${RECONCILE_TRIALS:-10}

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag rec:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"

# chute NAME at version V: says its version, ends on SIGTERM; a 1 s health
# grace keeps a trial short
mk() {
  mkdir -p "$T_DIR/$2"
  printf 'name: %s\nversion: "%s"\nimage: rec:1\ncommand: "%s"\nhealth: {grace: 1s}\n' "$1" "$3" \
    "echo $3 > /tmp/ver; trap exit TERM; sleep 1000 & wait" >"$T_DIR/$2/chute.yaml"
}
mk "$N" v1 v1
mk "$N" v2 v2
mk "$N2" n2 v1
echo 'restart: always' >>"$T_DIR/n2/chute.yaml"
ver() { chuted exec "$1" cat /tmp/ver 2>/dev/null; }
desired() { jq -r '"\(.version) \(.running)"' "$T_ROOT/deploy/chutes/$1/desired.json" 2>&1; }
row() { chuted chutes --json | jq -r --arg n "$1" '.[] | select(.name == $n) | "\(.version) \(.desired) \(.actual)"'; }
open_changes() { chuted changes --json | jq '[.[] | select(.result == null)] | length'; }
# what one running chute holds: mounts under the test's dirs, cgroups
# under its parent, veths of its subnet
holds() {
  local v
  # shellcheck disable=SC2046,SC2183 # three octets, split on purpose (as lib.sh)
  v=$(printf 'chv-%02x%02x%02x' $(echo "${CHUTED_SUBNET%/*}" | cut -d. -f1-3 | tr . ' '))
  echo "mounts=$(grep -c "$T_DIR" /proc/mounts)" \
    "cgroups=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$T_CGPARENT" 2>/dev/null | while read -r d; do find "$d" -type d; done | wc -l)" \
    "veths=$(ip -o link show | grep -c " $v")"
}

check "deploy v1" chuted deploy "$T_DIR/v1"
base=$(holds)
eq "reconcile with nothing to do: silent" "$(chuted reconcile 2>&1)" ""

# the update's length, for delays across all of it (fetch, stop old, start
# new, health wait)
t0=$(date +%s%N)
check "update v1 -> v2" chuted deploy "$T_DIR/v2"
span=$((($(date +%s%N) - t0) / 1000000))

bad=0
t0=$(date +%s%N)
for i in $(seq 1 "$TRIALS"); do
  cur=$(jq -r .version "$T_ROOT/deploy/chutes/$N/desired.json")
  next=v1; [ "$cur" = v1 ] && next=v2
  # half the trials in the update's first 120 ms (its steps before the
  # health wait), half anywhere in it
  if [ $((i % 2)) = 1 ]; then d=$((RANDOM % 120)); else d=$((RANDOM % (span + 50))); fi
  "$CHUTED" deploy "$T_DIR/$next" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' "$d")"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  out=$(chuted reconcile 2>&1); rc=$?
  v=$(ver "$N")
  problems=""
  [ "$rc" = 0 ] || problems="$problems reconcile-exit=$rc($out)"
  [ "$(chuted ps -q)" = "$N" ] || problems="$problems ps=$(chuted ps -q | tr '\n' ,)"
  case "$v" in v1 | v2) ;; *) problems="$problems version=$v" ;; esac
  [ "$(desired "$N")" = "$v true" ] || problems="$problems desired=$(desired "$N")"
  [ "$(row "$N")" = "$v running running" ] || problems="$problems row=$(row "$N")"
  [ "$(open_changes)" = 0 ] || problems="$problems open-changes=$(open_changes)"
  [ -z "$(find "$T_ROOT/deploy" -name '*.tmp.*')" ] || problems="$problems tmp-files"
  [ "$(holds)" = "$base" ] || problems="$problems holds:$(holds)"
  if [ -n "$problems" ]; then
    fail "trial $i (kill at ${d} ms, $cur -> $next):$problems"
    bad=$((bad + 1))
  fi
done
took=$((($(date +%s%N) - t0) / 1000000))
# where the kills landed (the phase each cut change was in) and how they ended
phases=$(chuted changes --json | jq -r '[.[] | .reason // "" | select(startswith("interrupted at")) | split("`")[1]] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')
results=$(chuted changes --json | jq -r '[.[] | select(.kind == "update") | .result] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')
eq "$TRIALS kill -9 trials: one version running, store consistent, nothing leaked (${took} ms; update ${span} ms; cut at: $phases; $results)" "$bad" 0

# a first deploy killed: afterwards the chute runs, or is not there at all
bad=0
for i in 1 2 3; do
  "$CHUTED" deploy "$T_DIR/n2" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $((RANDOM % 100)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  chuted reconcile >/dev/null 2>&1 || bad=$((bad + 1))
  if [ -e "$T_ROOT/deploy/chutes/$N2" ]; then
    [ "$(ver "$N2")|$(desired "$N2")" = "v1|v1 true" ] || bad=$((bad + 1))
    chuted chute rm "$N2" >/dev/null || bad=$((bad + 1))
  else
    [ -z "$(chuted ps -a -q | grep -x "$N2")" ] || bad=$((bad + 1))
  fi
done
eq "first deploy killed then reconcile: running or absent, never half" "$bad|$(open_changes)|$(holds)" "0|0|$base"

# `chuted chute stop|start|restart|rollback` killed at a random point: the
# chute ends as its desired state says, running (one version) or stopped
bad=""
for op in restart stop start rollback stop restart; do
  "$CHUTED" chute "$op" "$N" >/dev/null 2>&1 &
  pid=$!
  d=$((RANDOM % 300))
  sleep "$(printf '0.%03d' "$d")"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  chuted reconcile >/dev/null 2>&1 || bad="$bad $op@${d}ms:reconcile-failed"
  want=$(desired "$N")
  case "$want" in
    "v1 true" | "v2 true") [ "$(ver "$N") $(row "$N")" = "${want% *} ${want% *} running running" ] || bad="$bad $op@${d}ms:$want/$(row "$N")" ;;
    *" false") [ "$(row "$N")" = "${want% *} stopped stopped" ] || bad="$bad $op@${d}ms:$want/$(row "$N")" ;;
    *) bad="$bad $op@${d}ms:desired=$want" ;;
  esac
  [ "$(open_changes)" = 0 ] || bad="$bad $op@${d}ms:open-changes"
done
chuted chute start "$N" >/dev/null 2>&1
cut=$(chuted changes --json | jq '[.[] | select((.kind | test("^(stop|start|restart|rollback)$")) and ((.reason // "") | startswith("interrupted")))] | length')
eq "chute stop/start/restart/rollback killed 6 times ($cut cut short), then reconcile: as desired" "$bad|$(holds)" "|$base"

# an update to a version that dies after 0.5 s, killed in its health wait:
# reconcile finds it failing too and rolls back to the version before
v=$(jq -r .version "$T_ROOT/deploy/chutes/$N/desired.json")
mkdir -p "$T_DIR/v3"
printf 'name: %s\nversion: "v3"\nimage: rec:1\ncommand: "echo v3 > /tmp/ver; sleep 0.5; exit 3"\nhealth: {grace: 1s}\n' "$N" \
  >"$T_DIR/v3/chute.yaml"
"$CHUTED" deploy "$T_DIR/v3" >/dev/null 2>&1 &
pid=$!
wait_for 50 sh -c "\"$CHUTED\" changes --json | jq -e '.[-1].phase == \"waiting for health\"'"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
out=$(chuted reconcile 2>&1); rc=$?
eq "failing update killed, reconcile: exit 0, the version before runs again" "$rc $(ver "$N") $(row "$N")" "0 $v $v running running"
eq "...the change is rolled_back, the reason says why" \
  "$(chuted changes --json | jq -r '.[-1] | "\(.kind) \(.version) \(.result) \(.reason | test("not alive") and test("interrupted at"))"')" \
  "update v3 rolled_back true"

# reconcile waits for a change under way (the engine's lock)
cur=$(jq -r .version "$T_ROOT/deploy/chutes/$N/desired.json")
next=v1; [ "$cur" = v1 ] && next=v2
"$CHUTED" deploy "$T_DIR/$next" >/dev/null 2>&1 &
pid=$!
wait_for 50 sh -c "\"$CHUTED\" changes --json | grep -q 'waiting for health'"
chuted reconcile >/dev/null 2>&1
wait "$pid"; rc=$?
eq "a deploy under way is not raced: it ends done, alone" "$rc $(chuted changes --json | jq -r '.[-1] | "\(.kind) \(.result) \(.reason)"')" "0 update done null"

# a monitor killed: reconcile brings the chute back
v=$(ver "$N")
kill -9 "$(cat "$T_RUNROOT/chutes/$N/monitor.pid")"
wait_for 50 sh -c "! kill -0 $(cat "$T_RUNROOT/chutes/$N/monitor.pid") 2>/dev/null"
out=$(chuted reconcile 2>&1); rc=$?
eq "monitor killed, reconcile: exit 0, says it started it" "$rc $(grep -c 'not running' <<<"$out")" "0 1"
eq "...running again, same version" "$(ver "$N") $(row "$N")" "$v $v running running"

# a reboot: every process dies, cgroups and mounts go, the run root is
# empty again; ROOT (desired state, journal) is kept, bar what was not
# fsync'd
check "deploy a second chute" chuted deploy "$T_DIR/n2"
check "...and stop it" chuted chute stop "$N2"
reboot_into() {
  local old=$CHUTED_RUN_ROOT f d
  for f in "$old"/chutes/*/monitor.pid; do
    [ -e "$f" ] || continue
    kill -9 "$(cat "$f")" 2>/dev/null
    f=${f%/monitor.pid}/init.pid
    [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  for d in /sys/fs/cgroup/*/"$T_CGPARENT" /sys/fs/cgroup/"$T_CGPARENT"; do
    [ -d "$d" ] && wait_for 50 sh -c "find '$d' -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null; [ -z \"\$(find '$d' -mindepth 1 -type d)\" ]"
  done
  grep " $old" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$old"
  # a chute's record is not fsync'd: a power cut can leave it empty
  : >"$T_ROOT/chutes/$N/chute.json"
  : >"$T_ROOT/chutes/$N2/chute.json"
  mkdir -p "$1"
  export CHUTED_RUN_ROOT=$1 T_RUNROOT=$1
}
reboot_into "$T_DIR/run-b"
eq "after the reboot nothing runs" "$(chuted ps -q)" ""
# the boot unit's `start --all` reconciles the deployed chutes
out=$(chuted start --all 2>&1); rc=$?
eq "start --all after the reboot: exit 0, one deployed chute started" "$rc $(grep -c ': done' <<<"$out")" "0 1"
eq "...the deployed chute runs its version again" "$(ver "$N") $(row "$N")" "$v $v running running"
eq "...the one desired stopped stays stopped, restart: always or not (its emptied record gone)" "$(row "$N2")" "v1 stopped absent"
n=$(chuted changes --json | jq length)
eq "reconcile again: nothing to do, nothing journaled" "$(chuted reconcile 2>&1)|$(chuted changes --json | jq length)" "|$n"
check "chute start of the one whose record went" chuted chute start "$N2"
eq "...it runs, made again from its version's file" "$(ver "$N2") $(row "$N2")" "v1 v1 running running"

# `chute rm` killed: afterwards the chute is wholly there or wholly gone
"$CHUTED" chute rm "$N" >/dev/null 2>&1 &
pid=$!
sleep "$(printf '0.%03d' $((RANDOM % 100)))"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "chute rm killed: reconcile" chuted reconcile
if [ -e "$T_ROOT/deploy/chutes/$N/desired.json" ]; then
  eq "...the chute is still wholly there" "$(row "$N")" "$v running running"
  check "...rm it" chuted chute rm "$N"
else
  eq "...the chute is wholly gone" "$(chuted ps -a -q | grep -cx "$N")|$(open_changes)" "0|0"
fi
check "rm the other chute" chuted chute rm "$N2"
eq "no chute left" "$(chuted ps -a -q)" ""
chuted network prune >/dev/null 2>&1
no_leftovers "reconcile"
finish
