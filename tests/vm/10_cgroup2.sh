#!/usr/bin/env bash
# Inside the VM (a pure cgroup v2 host): the hierarchy chuted relies on, then
# every limit of `chuted run` / `chuted oci` written as cgroup v2 files and
# enforced for real: memory.max + swap, pids.max, cpu.weight (shares), cpu.max
# measured, io.weight, io.max measured on a loop device. The OOM / fork /
# 512:1024 split checks of tests/integration/41_limits.sh run here too.
. "$(dirname "$0")/../lib.sh"
CG=/sys/fs/cgroup

eq "only cgroup2 is mounted" "$(awk '$3 ~ /^cgroup/ {print $3}' /proc/mounts | sort -u | tr '\n' ' ')" "cgroup2 "
for c in cpu memory pids io; do
  check "controller $c available at the root" grep -qw "$c" $CG/cgroup.controllers
  check "controller $c delegated to children" grep -qw "$c" $CG/cgroup.subtree_control
done
if [ ! -x "$CHUTED" ]; then skip "no $CHUTED in the image: chute limits not tested"; finish; fi

R=$(make_rootfs)
[ -L "$R/bin/busybox" ] && rm "$R/bin/busybox" && cp /bin/busybox "$R/bin/busybox"
cgdir() { echo "$CG/$T_CGPARENT/$1"; }
cgfile() { cat "$(cgdir "$1")/$2" 2>/dev/null; }
trap 'chuted rm -f lim cpuq >/dev/null 2>&1; t_cleanup' EXIT

# --- the limits `chuted run` sets, as v2 files -------------------------------
check "run with memory/swap/pids/shares/blkio-weight" \
  chuted run -d --name lim --net none --memory 32M --memory-swap 48M --pids 16 --cpu-shares 512 \
  --blkio-weight 500 --rootfs "$R" -- sleep 1000
insp=$(chuted inspect lim 2>/dev/null)
eq "inspect: the one cgroup is the unified one" \
  "$(echo "$insp" | jq -r '.[0].cgroup.paths | join(" ")')" "unified:$(cgdir lim)"
eq "memory.max = --memory" "$(cgfile lim memory.max)" 33554432
eq "memory.swap.max = --memory-swap minus --memory" "$(cgfile lim memory.swap.max)" 16777216
eq "pids.max = --pids" "$(cgfile lim pids.max)" 16
# runtime-spec conversion (as crun): weight = 1 + (shares - 2) * 9999 / 262142
eq "cpu.weight from --cpu-shares 512" "$(cgfile lim cpu.weight)" $((1 + (512 - 2) * 9999 / 262142))
# io.weight = 1 + (blkio - 10) * 9999 / 990 (io.bfq.weight keeps 500 under BFQ)
iow=$(cgfile lim io.weight | awk '/^default/ {print $2}')
[ -n "$iow" ] || iow=$(cgfile lim io.bfq.weight | awk '/^default/ {print $2}')
case "$iow" in $((1 + (500 - 10) * 9999 / 990)) | 500) pass "io weight from --blkio-weight 500 ($iow)" ;; *) fail "io weight from --blkio-weight 500 (got '$iow')" ;; esac
eq "inspect: stats see the limits" "$(echo "$insp" | jq -c '.[0].cgroup.stats | [.memory_limit, .pids_limit]')" "[33554432,16]"
pid=$(echo "$insp" | jq -r '.[0].state.pid // empty')
check "the chute's init is in that cgroup" grep -qx "0::/$T_CGPARENT/lim" "/proc/$pid/cgroup"
check "rm -f" chuted rm -f lim
check "its cgroup is gone" test ! -d "$(cgdir lim)"

# --- cpu.max enforced: --cpus 0.25 gives a busy loop ~25% of one CPU --------
check "run --cpus 0.25" chuted run -d --name cpuq --net none --cpus 0.25 --rootfs "$R" -- sh -c 'while :; do :; done'
eq "cpu.max = quota period" "$(cgfile cpuq cpu.max)" "25000 100000"
u0=$(awk '/^usage_usec/ {print $2}' "$(cgdir cpuq)/cpu.stat"); t0=${EPOCHREALTIME/./}
sleep 5
u1=$(awk '/^usage_usec/ {print $2}' "$(cgdir cpuq)/cpu.stat"); t1=${EPOCHREALTIME/./}
pct=$(( (u1 - u0) * 1000 / (t1 - t0) )) # tenths of a percent of one CPU
if [ "$pct" -ge 150 ] && [ "$pct" -le 350 ]; then pass "cpu.max holds a busy loop at $((pct / 10)).$((pct % 10))% of a CPU (want 25 ±10)"
else fail "cpu.max: busy loop got $((pct / 10)).$((pct % 10))% of a CPU (want 25 ±10)"; fi
chuted rm -f cpuq >/dev/null

# --- io.max from an OCI config, measured on a loop device --------------------
L=$T_DIR/disk
dd if=/dev/zero of="$L.img" bs=1M count=48 2>/dev/null
loop=$(losetup -f --show "$L.img" 2>/dev/null)
if [ -z "$loop" ]; then fail "losetup: no loop device"; finish; fi
trap 'umount "$L" 2>/dev/null; losetup -d "$loop" 2>/dev/null; t_cleanup' EXIT
mkdir -p "$L"
mke2fs -q -t ext4 "$loop" && mount "$loop" "$L"
mm=$(cat "/sys/block/${loop#/dev/}/dev")
B=$T_DIR/bundle
mkdir -p "$B"
cp -a "$R" "$B/rootfs"
chuted oci spec --bundle "$B"
# 8 MiB written with O_DIRECT under wbps=2 MiB/s: about 4 s, never under 3.
jq --arg maj "${mm%:*}" --arg min "${mm#*:}" '
  .process.args = ["sh", "-c", "s=$(date +%s); dd if=/dev/zero of=/data/f bs=1M count=8 oflag=direct 2>/dev/null; echo took $(( $(date +%s) - s ))"]
  | .process.terminal = false | .root.readonly = false
  | .mounts += [{"destination": "/data", "type": "bind", "source": "'"$L"'", "options": ["rbind", "rw"]}]
  | .linux.resources.blockIO = {"throttleWriteBpsDevice": [{"major": ($maj|tonumber), "minor": ($min|tonumber), "rate": 2097152}]}
' "$B/config.json" > "$B/c.json" && mv "$B/c.json" "$B/config.json"
timeout 60 "$CHUTED" oci run --bundle "$B" chuted-test-io > "$T_DIR/io.out" 2>&1 &
rpid=$!
wait_for 100 test -f "$(cgdir chuted-test-io)/io.max"
eq "io.max = throttleWriteBpsDevice" "$(cgfile chuted-test-io io.max | awk '{print $1, $3}')" "$mm wbps=2097152"
wait $rpid
took=$(sed -n 's/^took //p' "$T_DIR/io.out")
if [ -n "$took" ] && [ "$took" -ge 3 ]; then pass "io.max throttles direct writes (8 MiB at 2 MiB/s took ${took}s)"
else fail "io.max: 8 MiB at 2 MiB/s took '${took}'s ($(tr '\n' ' ' < "$T_DIR/io.out"))"; fi
umount "$L"
losetup -d "$loop"
no_leftovers "cgroup v2 limits"
finish
