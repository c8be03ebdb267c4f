#!/usr/bin/env bash
# Host side of the VM suite (`make vm-check`, called by tests/check.sh):
# builds the image if an input changed (tools/vm/build-image.sh), boots it in
# QEMU (256 MB, 2 CPUs; KVM if a trial boot works, else TCG), streams the
# PASS/FAIL/SKIP lines the guest prints behind its marker, and exits non-zero
# on any FAIL, a hang (bounded by CHUTED_VM_TIMEOUT seconds), a kernel panic,
# or a suite that did not reach its end sentinel.
#
# Environment: CHUTED_VM_TIMEOUT (whole run, default 1700 s: niced beside the host suites), CHUTED_VM_TESTS
# (glob on NN_x for tests/vm or integration/NN_x, default all), CHUTED_VM_ACCEL
# (kvm|tcg, default: probe), CHUTED_VM_TEST_TIMEOUT (per test inside, default
# 240 s), CHUTED_VM_VERBOSE=1 (every test's whole output, "  | " lines).
#
# A tests/vm script with a host side (a line "# vm: host side") is run here
# as `SCRIPT host-start DIR` before the boot (its servers on the host's
# 127.0.0.1, which the guest reaches as 10.0.2.2 through QEMU's user
# network; DIR/guest handed to the guest as fw_cfg opt/chuted/host.tar,
# holding NAME/guest/) and `SCRIPT host-stop DIR` after. Without one, the VM
# has no network card.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/vm
M='@@CHVM@@'
TIMEOUT=${CHUTED_VM_TIMEOUT:-1700}
SERIAL=$OUT/serial.log

if ! "$TOP/tools/vm/build-image.sh"; then
  echo "FAIL: vm: image build failed (tools/vm/build-image.sh)"
  exit 1
fi
command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: vm: qemu-system-x86_64 missing (package qemu-system-x86)"; exit 1; }

qemu() { # ACCEL_ARGS TIMEOUT EXTRA_CMDLINE [NET_ARGS]
  local bios=()
  # qboot + the uncompressed kernel's PVH entry: ~3 s to /init instead of ~8 s.
  [ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
  # shellcheck disable=SC2086
  timeout -k 5 "$2" qemu-system-x86_64 -M pc "${bios[@]}" $1 -m 256 -smp 2 \
    -kernel "$OUT/vmlinux" -initrd "$OUT/initramfs.cpio" \
    -drive "file=$OUT/root.ext4,format=raw,if=virtio,snapshot=on" \
    -append "console=ttyS0 panic=-1 quiet loglevel=1 cgroup_no_v1=all $3" \
    -display none -monitor none -serial stdio ${4:--nic none} -no-reboot </dev/null
}

KVM_ARGS="-accel kvm -cpu host"
TCG_ARGS="-accel tcg,thread=multi -cpu max"

# /dev/kvm may open yet be unable to run a guest (nested paravirtual KVM stalls
# with "emulation failure"): only a trial boot tells. Cached per host boot.
pick_accel() {
  case "${CHUTED_VM_ACCEL:-}" in kvm) echo "$KVM_ARGS"; return ;; tcg) echo "$TCG_ARGS"; return ;; esac
  local cache
  cache=$OUT/accel.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
  if [ -f "$cache" ]; then cat "$cache"; return; fi
  local a=$TCG_ARGS
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && qemu "$KVM_ARGS" 15 chuted.vm=probe 2>/dev/null | grep -q "$M PROBE-OK"; then
    a=$KVM_ARGS
  fi
  rm -f "$OUT"/accel.*
  echo "$a" > "$cache"
  echo "$a"
}
ACCEL=$(pick_accel)

HOST=$OUT/host
host_rc=0
host_sides=()
stop_host_sides() {
  local t
  for t in "${host_sides[@]}"; do bash "$t" host-stop "$HOST/$(basename "$t" .sh)"; done
  host_sides=()
}
trap stop_host_sides EXIT
rm -rf "$HOST"
for t in "$TOP"/tests/vm/[0-9]*.sh; do
  n=$(basename "$t" .sh)
  # shellcheck disable=SC2053
  [[ $n == ${CHUTED_VM_TESTS:-*} ]] && grep -q '^# vm: host side' "$t" || continue
  mkdir -p "$HOST/$n/guest"
  if bash "$t" host-start "$HOST/$n" >"$HOST/$n.log" 2>&1; then
    host_sides+=("$t")
    echo "vm: host side of $n: $(tail -1 "$HOST/$n.log")"
  else
    echo "FAIL: vm/$n: host side did not start: $(tail -1 "$HOST/$n.log")"
    bash "$t" host-stop "$HOST/$n"
    host_rc=1
  fi
done
NET=""
if [ ${#host_sides[@]} -gt 0 ]; then
  (cd "$HOST" && tar -cf host.tar ./*/guest)
  NET="-nic user,model=virtio-net-pci -fw_cfg name=opt/chuted/host.tar,file=$HOST/host.tar"
fi
echo "vm: booting ($ACCEL, timeout ${TIMEOUT}s); full console log: $SERIAL"

start=$SECONDS
qemu "$ACCEL" "$TIMEOUT" "chuted.tests=${CHUTED_VM_TESTS:-*} chuted.verbose=${CHUTED_VM_VERBOSE:-0} chuted.test_timeout=${CHUTED_VM_TEST_TIMEOUT:-240}" "$NET" 2>&1 | tr -d '\r' | tee "$SERIAL" | while IFS= read -r line; do
  case "$line" in
    "$M PASS: "*|"$M FAIL: "*|"$M SKIP: "*) echo "${line#"$M "}" ;;
    "$M | "*) echo "  ${line#"$M "}" ;;
    "$M "*) echo "vm: ${line#"$M "}" ;;
    *"Kernel panic"*|*"BUG: "*|*"Oops"*|*"RIP: "*) echo "vm: kernel: $line" ;;
  esac
done
qrc=${PIPESTATUS[0]}
echo "vm: qemu exited $qrc after $((SECONDS - start))s"
stop_host_sides

rc=$host_rc
done_line=$(grep -a "^$M DONE " "$SERIAL" | tail -1)
if grep -aq 'Kernel panic' "$SERIAL"; then
  echo "FAIL: vm: kernel panic"; grep -a -A20 'Kernel panic' "$SERIAL" | head -25 | sed 's/^/  | /'; rc=1
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  echo "FAIL: vm: hung, killed after ${TIMEOUT}s"; tail -20 "$SERIAL" | sed 's/^/  | /'; rc=1
elif [ -z "$done_line" ]; then
  echo "FAIL: vm: the suite did not reach its end (qemu exit $qrc)"; tail -20 "$SERIAL" | sed 's/^/  | /'; rc=1
else
  # The guest's own tally must match what crossed the console.
  want_p=$(echo "$done_line" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
  want_f=$(echo "$done_line" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
  got_p=$(grep -ac "^$M PASS: " "$SERIAL"); got_f=$(grep -ac "^$M FAIL: " "$SERIAL")
  if [ "$want_p" != "$got_p" ] || [ "$want_f" != "$got_f" ]; then
    echo "FAIL: vm: result lines lost on the console (guest counted $want_p/$want_f, host saw $got_p/$got_f)"; rc=1
  fi
  [ "$want_f" = 0 ] || rc=1
  [ "$want_p" -gt 0 ] || { echo "FAIL: vm: no test passed"; rc=1; }
fi
exit $rc
