#!/usr/bin/env bash
# Reconcile (the boot restore) brings independent chutes back at once, each
# in a child of its own (mgmt/engine_reconcile.c): with the first chute's
# lock held by someone else (a `chuted` command at work on it), the others
# are started meanwhile, and the first once its lock is free; every start
# is its own `reconcile` change, ended `done`; a pod's services come back
# with it.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtrcj0 CHUTED_SUBNET=10.231.171.0/24
P=chuted-test-rj
HOLDER= RPID=
trap '[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; t_cleanup' EXIT

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","trap exit TERM; sleep 1000 & wait"]' --tag rj:1 \
  -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"
for c in a b c; do
  mkdir -p "$T_DIR/$c"
  printf 'name: %s-%s\nversion: "1"\nimage: rj:1\nhealth: {grace: 1s}\n' "$P" "$c" >"$T_DIR/$c/chute.yaml"
done
# a pod: its services start in their order, by one child
mkdir -p "$T_DIR/pod"
printf 'name: %s-pod\nversion: "1"\nhealth: {grace: 1s}\nservices:\n  db: {image: rj:1}\n  web: {image: rj:1}\n' "$P" \
  >"$T_DIR/pod/chute.yaml"
for c in a b c pod; do check "deploy $c" chuted deploy "$T_DIR/$c"; done

# every monitor killed (the chutes' processes with them): all four deployed
# chutes are down, desired running
for f in "$T_RUNROOT"/chutes/$P-*/monitor.pid; do
  m=$(cat "$f"); kill -9 "$m"
  wait_for 50 sh -c "! kill -0 $m 2>/dev/null"
done
running() { chuted ps | awk -v n="$1" '$1 == n && $2 == "running"' | grep -q .; }
check "all down" sh -c "! chuted ps | grep -q running"

# chute a (the first reconcile meets) locked, as a command at work on it holds it
exec 9>"$T_RUNROOT/chutes/$P-a.lock"
flock 9
sleep 1000 & HOLDER=$!
exec 9>&-
out=$T_DIR/reconcile.out
chuted reconcile >"$out" 2>&1 & RPID=$!
up() { for c in "$@"; do running "$P-$c" || return 1; done; }
check "with a's lock held, reconcile starts b and c meanwhile" wait_for 300 up b c
check "...and the pod's services" wait_for 300 up pod+db pod+web
check_fails "...while a waits for its lock" up a
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
wait "$RPID"; rc=$?; RPID=
eq "a's lock free: reconcile ends, exit 0, four chutes started" "$rc $(grep -c ': done' "$out")" "0 4"
for c in a b c pod+db pod+web; do
  check "$c runs" running "$P-$c"
done
ids=$(chuted changes --json | jq -r '[.[] | select(.kind == "reconcile" and .result == "done")] | length')
eq "four reconcile changes, each done, each its own id" "$ids $(chuted changes --json | jq -r '[.[].id] | unique | length == length')" "4 true"
eq "reconcile again: nothing to do" "$(chuted reconcile 2>&1)" ""

for c in a b c pod; do chuted chute rm "$P-$c" >/dev/null 2>&1; done
chuted network prune >/dev/null 2>&1
no_leftovers "reconcile jobs"
finish
