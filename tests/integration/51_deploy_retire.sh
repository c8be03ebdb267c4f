#!/usr/bin/env bash
# An update's old version (mgmt/chute_retire.c): stopped and released before
# the new one starts, its files moved out of the name's way (`.NAME.old`)
# and removed once the new one runs; the new one starts on a fresh writable
# layer; an update killed before the removal leaves them to the reaper
# (reconcile, any later command), which unmounts and removes them. A stopped
# old version and one with its own disk image (removed in place) update too.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtret0 CHUTED_SUBNET=10.231.157.0/24
N=chuted-test-ret

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag ret:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"

# version V of the chute: leaves a mark in its writable layer, ends on SIGTERM
mk() {
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: ret:1\ncommand: "%s"\nhealth: {grace: 1s}\n' "$N" "$1" \
    "touch /mark-$1; echo $1 > /tmp/ver; trap 'exit 0' TERM; sleep 1000 & wait" >"$T_DIR/$1/chute.yaml"
}
mk v1
mk v2
mk v3
printf 'name: %s\nversion: "v4"\nimage: ret:1\ncommand: "exit 3"\n' "$N" >"$T_DIR/v4.yaml"
ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
# what is left of retired versions: their directories, their mounts
old() {
  echo "$(ls -A "$T_ROOT/chutes" "$T_RUNROOT/chutes" | grep -c "^\.$N\.old$")" \
    "$(grep -c "/\.$N\.old/" /proc/mounts)"
}

check "deploy v1" chuted deploy "$T_DIR/v1"
check "update v1 -> v2" chuted deploy "$T_DIR/v2"
eq "v2 runs" "$(ver)" "v2"
check "...on a fresh writable layer (v1's mark is not in it)" chuted exec "$N" sh -c 'test -e /mark-v2 && test ! -e /mark-v1'
eq "...v1's directories and rootfs mount gone after the update" "$(old)" "0 0"

# killed in the health gate: the new version runs, the old one's files are
# moved aside (not yet removed) and its rootfs is still mounted there
"$CHUTED" deploy "$T_DIR/v3" >"$T_DIR/killed.out" 2>&1 &
pid=$!
wait_for 100 grep -q "waiting for health" "$T_DIR/killed.out"
kill -9 "$pid"
wait "$pid" 2>/dev/null
eq "update killed in its health gate: v2's directories moved aside, its rootfs mounted there" "$(old)" "2 1"
check "...reconcile finishes the update" chuted reconcile
eq "...v3 runs" "$(ver)" "v3"
eq "...and the reaper removed what v2 left" "$(old)" "0 0"

# an update whose new version dies: rolled back, nothing of either left aside
out=$(chuted deploy "$T_DIR/v4.yaml" 2>&1)
check "update to a version that exits at once: rolled back ($(tail -1 <<<"$out"))" grep -q "rolled back to version v3" <<<"$out"
eq "...v3 runs again" "$(ver)" "v3"
eq "...nothing left aside" "$(old)" "0 0"

# a stopped old version: nothing to signal, released and moved aside all the same
check "chute stop" chuted chute stop "$N"
check "update of the stopped chute to v1" chuted deploy "$T_DIR/v1"
eq "...v1 runs, nothing left aside" "$(ver) $(old)" "v1 0 0"

# a writable layer on the chute's own disk image cannot be renamed off it:
# removed in place, as a plain removal does
if command -v mkfs.ext4 >/dev/null || [ -x /sbin/mkfs.ext4 ]; then
  for v in d1 d2; do mk "$v"; sed -i 's/^health:.*/&\nresource: {disk: 32M}/' "$T_DIR/$v/chute.yaml"; done
  check "deploy d1 (its layer on a disk image of 32M)" chuted deploy "$T_DIR/d1"
  check "...its disk image is there" test -s "$T_ROOT/chutes/$N/disk.img"
  check "update d1 -> d2" chuted deploy "$T_DIR/d2"
  eq "...d2 runs on a fresh layer, nothing left aside" \
    "$(ver) $(chuted exec "$N" sh -c 'test -e /mark-d1 && echo d1-mark') $(old)" "d2  0 0"
else
  skip "chute with its own disk: no mkfs.ext4"
fi

check "chute rm" chuted chute rm "$N"
eq "...no directory, lock file or mount of it left" "$(ls -A "$T_ROOT/chutes" "$T_RUNROOT/chutes" | grep -c "$N") $(old)" "0 0 0"
# a first deploy that fails: no lock file left by the retired files' removal either
printf 'name: %s-bad\nversion: "1"\nimage: ret:1\ncommand: "exit 3"\n' "$N" >"$T_DIR/bad.yaml"
check_fails "a first deploy that fails" chuted deploy "$T_DIR/bad.yaml"
eq "...nothing of it in the run root" "$(ls -A "$T_RUNROOT/chutes" | grep -c "$N-bad")" "0"
chuted network prune >/dev/null 2>&1
no_leftovers "retire"
finish
