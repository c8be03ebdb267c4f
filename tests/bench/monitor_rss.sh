#!/usr/bin/env bash
# RSS of a chute's monitor while a `sleep` chute runs (target <= 1 MB).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${CHUTED_BIN:-$TOP/build}
D=$(mktemp -d /tmp/chuted-test-bench-mon.XXXXXX)
export CHUTED_ROOT=$D/root CHUTED_RUN_ROOT=$D/run CHUTED_CGROUP_PARENT=chuted-test-bench CHUTED_NET_ROOT=$D/netroot
R=$D/rootfs; mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc}; cp /bin/busybox "$R/bin/"; ln -s busybox "$R/bin/sleep"
"$B/chuted" run -d --name idle --net none --rootfs "$R" -- /bin/sleep 1000 >/dev/null
sleep 0.5
mp=$(python3 -c "import json; print(json.load(open('$D/run/chutes/idle/status.json'))['monitor_pid'])")
rss=$(awk '/VmRSS/{print $2}' /proc/$mp/status); anon=$(awk '/RssAnon/{print $2}' /proc/$mp/status)
echo "### Monitor memory"
echo
echo "| process | VmRSS (KiB) | RssAnon (KiB) |"
echo "|---|---|---|"
echo "| chuted-monitor (idle sleep chute) | $rss | $anon |"
"$B/chuted" rm -f idle >/dev/null
# the cgroup parent chuted made for it goes too
rmdir /sys/fs/cgroup/*/chuted-test-bench /sys/fs/cgroup/chuted-test-bench 2>/dev/null
rm -rf "$D"
