#!/usr/bin/env bash
# Remove what a crashed test run left on this host: everything tests make
# carries the chuted-test prefix (dirs, cgroups) or a test bridge/veth name
# (cht*, chuted-t*; bridges and their nftables tables outlive the last chute,
# a test removes them with `chuted network prune` unless it crashed).
for m in $(grep -E '/tmp/chuted-test-' /proc/mounts | awk '{print $2}' | sort -r); do umount -l "$m" 2>/dev/null; done
for d in /sys/fs/cgroup/*/chuted-test-* /sys/fs/cgroup/chuted-test-* /sys/fs/cgroup/*/chuted-demo /sys/fs/cgroup/unified/chuted-test-*; do
  [ -d "$d" ] || continue
  for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done
for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(cht|chv-|chtest|ctst|chuted-t)'); do ip link del "$l" 2>/dev/null; done
for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^chuted-test'); do ip netns del "$n" 2>/dev/null; done
for t in $(nft list tables 2>/dev/null | awk '{print $2" "$3}' | grep -E 'chuted_(cht|chtest|chuted-t)' | tr ' ' '|'); do nft delete table ${t%%|*} ${t##*|} 2>/dev/null; done
# test monitors, by pid: a chuted-monitor whose run dir is under /tmp/chuted-test-
for c in /proc/[0-9]*/cmdline; do
  IFS= read -r -d '' exe < "$c" 2>/dev/null || continue
  [ "${exe##*/}" = chuted-monitor ] || continue
  arg=$(tr '\0' '\n' < "$c" 2>/dev/null | sed -n 2p)
  case $arg in /tmp/chuted-test-*) p=${c#/proc/}; kill -9 "${p%/cmdline}" 2>/dev/null ;; esac
done
rm -rf /tmp/chuted-test-* 2>/dev/null
exit 0
