#!/usr/bin/env bash
# CPU seconds of a chute's monitor vs the chute itself while the chute prints
# 200 MB of `yes` (the log is capped by --log-max, rotated once).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${CHUTED_BIN:-$TOP/build}
MB=${FLOOD_MB:-200}
D=$(mktemp -d /tmp/chuted-test-bench-flood.XXXXXX)
export CHUTED_ROOT=$D/root CHUTED_RUN_ROOT=$D/run CHUTED_CGROUP_PARENT=chuted-test-bench-flood CHUTED_NET_ROOT=$D/netroot
R=$D/rootfs; mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc}; cp /bin/busybox "$R/bin/"
for a in sh yes head sleep touch; do ln -s busybox "$R/bin/$a"; done
tck=$(getconf CLK_TCK)
t0=$(date +%s%N)
"$B/chuted" run -d --name flood --net none --rootfs "$R" -- /bin/sh -c \
  "yes | head -c $((MB * 1000000)); touch /tmp/done; exec sleep 1000" >/dev/null
mp=$(python3 -c "import json; print(json.load(open('$D/run/chutes/flood/status.json'))['monitor_pid'])")
while [ ! -e "$R/tmp/done" ]; do sleep 0.1; done
# the monitor may still be draining the pipe: wait until its CPU time settles
prev=-1
while :; do
  cpu=$(awk '{print $14 + $15}' /proc/$mp/stat)
  [ "$cpu" = "$prev" ] && break
  prev=$cpu; sleep 0.3
done
t1=$(date +%s%N)
cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*chuted-test-bench-flood*/flood" | head -1)
chute_us=$(awk '/^usage_usec/{print $2}' "$cg/cpu.stat" 2>/dev/null || echo 0)
rss=$(awk '/VmRSS/{print $2}' /proc/$mp/status)
log=$(( $(stat -c %s "$D/run/chutes/flood/ctr.log") + $(stat -c %s "$D/run/chutes/flood/ctr.log.1" 2>/dev/null || echo 0) ))
printf '| %d MB of yes | %.2f s | %.2f s | %.1f s | %d KiB | %d KiB |\n' "$MB" \
  "$(echo "$cpu / $tck" | bc -l)" "$(echo "$chute_us / 1000000" | bc -l)" \
  "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$rss" "$((log / 1024))"
"$B/chuted" rm -f flood >/dev/null
rm -rf "$D"
