#!/usr/bin/env bash
# Power cuts in the QEMU APU (`make vm-powercut`; not part of `make check`:
# minutes under TCG). The VM boots from the usual image (tools/vm/) plus a
# persistent data disk (build/vm/powercut.ext4, /dev/vdb, the chuted root);
# /run, the run root, is a tmpfs as on the AP. Each boot runs the boot path
# (`chuted start --all`, which reconciles), reports which version of the
# deployed chute runs, then starts an update to the other version; the host
# kills qemu (-9: the power cut) at a random point of that update and boots
# again from the same data disk. After every cut: the old or the new version
# runs, never none, and no change is left open in the journal.
#
# Host: tests/vm/powercut.sh   (CHUTED_POWERCUT_TRIALS, default 10)
# Guest: run by /sbin/chuted-vm-init when the kernel line has chuted.powercut=1.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
M='@@CHVM@@'
N=chuted-pc

# --- inside the VM ------------------------------------------------------------
guest() {
  local data=/data C=/chuted/build/chuted out rc t0 boot_ms v want open cur next
  mkdir -p $data
  # an unclean ext4 is replayed from its journal here, as on the AP
  mount -t ext4 /dev/vdb $data || { echo "$M FATAL cannot mount the data disk /dev/vdb"; return 1; }
  export CHUTED_ROOT=$data/root CHUTED_RUN_ROOT=/run/chuted CHUTED_CGROUP_PARENT=chuted-pc CHUTED_NET_ROOT=$data/net
  export CHUTED_BRIDGE=chtpc0 CHUTED_SUBNET=10.231.153.0/24
  t0=$(date +%s%N)
  out=$($C start --all 2>&1); rc=$?
  boot_ms=$((($(date +%s%N) - t0) / 1000000))
  [ -n "$out" ] && printf '%s\n' "$out" | sed "s/^/$M | /"
  v=$($C exec $N cat /tmp/ver 2>/dev/null) || v=none
  want=$(jq -r .version "$CHUTED_ROOT/deploy/chutes/$N/desired.json" 2>/dev/null) || want=none
  open=$($C changes --json 2>/dev/null | jq '[.[] | select(.result == null)] | length' 2>/dev/null) || open=none
  echo "$M STATE running=${v:-none} desired=$want open=$open start_all_rc=$rc start_all_ms=$boot_ms"
  if [ "$want" = none ]; then
    # the first boot: the image and version 1, then one whole update timed
    $C load "oci-archive:$data/img.tar" >/dev/null || { echo "$M FATAL load"; return 1; }
    $C deploy $data/v1 >/dev/null || { echo "$M FATAL deploy v1"; return 1; }
    t0=$(date +%s%N)
    $C deploy $data/v2 >/dev/null || { echo "$M FATAL deploy v2"; return 1; }
    echo "$M SPAN $((($(date +%s%N) - t0) / 1000000))"
    sync
  fi
  cur=$(jq -r .version "$CHUTED_ROOT/deploy/chutes/$N/desired.json")
  next=v1
  [ "$cur" = v1 ] && next=v2
  echo "$M GO $cur $next"
  $C deploy $data/$next >/dev/null 2>&1
  echo "$M DEPLOYED rc=$?"
  sync
  sleep 1000 # the power is cut before this ends
}

if [ "${1:-}" = guest ]; then
  guest
  exit
fi

# --- the host -----------------------------------------------------------------
. "$TOP/tests/vm/data_disk.sh"
OUT=$TOP/build/vm
TRIALS=${CHUTED_POWERCUT_TRIALS:-10}
WORK=$(mktemp -d /tmp/chuted-test-powercut.XXXXXX)
DATA=$OUT/powercut.ext4
LOG=$WORK/serial.log
QPID=
cleanup() {
  [ -n "$QPID" ] && kill -9 "$QPID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

tools_ok=1
for t in qemu-system-x86_64 mke2fs jq; do command -v $t >/dev/null || { echo "FAIL: vm-powercut: $t missing"; tools_ok=0; }; done
[ $tools_ok = 1 ] || exit 1
"$TOP/tools/vm/build-image.sh" || { echo "FAIL: vm-powercut: image build failed (tools/vm/build-image.sh)"; exit 1; }

# the data disk: the image and the two versions' chute files, nothing else
seed=$WORK/seed
R=$WORK/rootfs
mkdir -p "$seed"
vm_busybox_rootfs "$R"
"$TOP/tools/mkimage" "$R" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag pc:1 -o "$seed/img.tar" ||
  { echo "FAIL: vm-powercut: mkimage"; exit 1; }
for v in v1 v2; do
  mkdir -p "$seed/$v"
  printf 'name: %s\nversion: "%s"\nimage: pc:1\ncommand: "%s"\nhealth: {grace: 1s}\n' "$N" "$v" \
    "echo $v > /tmp/ver; trap exit TERM; sleep 1000 & wait" >"$seed/$v/chute.yaml"
done
vm_data_disk "$seed" "$DATA" || { echo "FAIL: vm-powercut: mke2fs"; exit 1; }

vm_qemu_cmd "$DATA" chuted.powercut=1
ACCEL=$VM_ACCEL

boot() {
  : >"$LOG"
  "${VM_QEMU[@]}" </dev/null >"$LOG" 2>&1 &
  QPID=$!
}
# wait_line PATTERN SECONDS: the first console line starting with "$M PATTERN"
wait_line() {
  local n=$(($2 * 20)) l
  while [ $n -gt 0 ]; do
    l=$(tr -d '\r' <"$LOG" | grep -a -m1 "^$M $1") && { echo "${l#"$M "}"; return 0; }
    kill -0 "$QPID" 2>/dev/null || break
    sleep 0.05
    n=$((n - 1))
  done
  return 1
}
cut() {
  kill -9 "$QPID" 2>/dev/null
  wait "$QPID" 2>/dev/null
  QPID=
}

echo "vm-powercut: $TRIALS power cuts ($ACCEL); data disk $DATA"
start=$SECONDS
span=0 old=0 new=0 none=0 bad=0
prev_cur="" prev_next=""
for i in $(seq 0 "$TRIALS"); do
  boot
  if ! st=$(wait_line STATE 300); then
    echo "FAIL: vm-powercut: boot $i reached no STATE line"
    tr -d '\r' <"$LOG" | tail -20 | sed 's/^/  | /'
    bad=$((bad + 1))
    cut
    break
  fi
  tr -d '\r' <"$LOG" | grep -a "^$M | " | sed "s/^$M /  /"
  running=$(sed -n 's/.*running=\([^ ]*\).*/\1/p' <<<"$st")
  open=$(sed -n 's/.* open=\([^ ]*\).*/\1/p' <<<"$st")
  if [ "$i" -gt 0 ]; then
    if [ "$running" = "$prev_cur" ]; then old=$((old + 1)); outcome=old
    elif [ "$running" = "$prev_next" ]; then new=$((new + 1)); outcome=new
    else none=$((none + 1)); outcome=NONE; fi
    [ "$open" = 0 ] || { outcome="$outcome, $open change(s) left open"; bad=$((bad + 1)); }
    echo "vm-powercut: cut $i ($prev_cur -> $prev_next at ${delay} ms of ~${span} ms): $outcome after boot; $st"
  else
    echo "vm-powercut: first boot: $st"
  fi
  if [ "$i" = "$TRIALS" ]; then
    cut
    break
  fi
  if [ "$span" = 0 ]; then
    s=$(wait_line SPAN 300) || { echo "FAIL: vm-powercut: no update timed on the first boot"; tr -d '\r' <"$LOG" | tail -20; bad=$((bad + 1)); cut; break; }
    span=${s#SPAN }
  fi
  if ! g=$(wait_line GO 300); then
    echo "FAIL: vm-powercut: boot $i started no update"
    bad=$((bad + 1))
    cut
    break
  fi
  read -r _ prev_cur prev_next <<<"$g"
  # anywhere in the update, and now and then just after it
  delay=$((RANDOM % (span + span / 8 + 1)))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  cut
done
took=$((SECONDS - start))
cuts=$((old + new + none))
if [ "$cuts" = "$TRIALS" ] && [ "$none" = 0 ] && [ "$bad" = 0 ]; then
  echo "PASS: vm-powercut: $TRIALS power cuts during an update: old version running after boot $old, new $new, none 0 (${took} s; update ${span} ms in the VM)"
else
  echo "FAIL: vm-powercut: $cuts of $TRIALS cuts checked: old $old, new $new, none $none, other problems $bad (${took} s)"
  exit 1
fi
