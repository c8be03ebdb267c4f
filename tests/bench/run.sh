#!/usr/bin/env bash
# make bench: every side-by-side benchmark, results as Markdown on stdout.
# Benchmarks measure; they assert nothing (tests do that).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
export CHUTED_BIN=${CHUTED_BIN:-$TOP/build}
echo "## Runtime: chuted oci run vs crun vs runc ($(date -u +%F), $(nproc) cores, $(uname -r))"
echo
# crun refuses this host's hybrid layout: run all three where the empty
# cgroup2 mount is gone, so they see the same v1 hierarchy.
unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; python3 tests/bench/runtime.py'
echo
tests/bench/monitor_rss.sh
for b in tests/bench/image*.sh tests/bench/net*.sh; do
  [ -x "$b" ] || continue
  echo
  "$b"
done
