#!/usr/bin/env bash
# make bench: every side-by-side benchmark. Each writes its section of
# docs/BENCHMARKS.md (between its markers) and prints it. Benchmarks
# measure; they assert nothing (tests do that). BENCH_ONLY=runtime: only
# the runtime part.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
export CHUTED_BIN=${CHUTED_BIN:-$TOP/build}
out=$(mktemp)
{
  echo "<!-- runtime-bench:start -->"
  echo "## Runtime: chuted oci run vs crun run vs runc run (tests/bench/runtime.py, $(date -u +%F), $(nproc) CPUs, $(uname -r))"
  echo
  echo "Command: \`make bench\` (or \`unshare -m sh -c 'umount /sys/fs/cgroup/unified; python3 tests/bench/runtime.py'\`)."
  echo "All three run in a mount namespace without the hybrid layout's empty cgroup2 mount, which crun refuses;"
  echo "crun and runc move the init with a \`cgroup.procs\` write (on v1 the first one after a quiet spell waits for an"
  echo "RCU grace period); chuted's init joins each v1 hierarchy itself through \`tasks\`, which takes no such lock."
  echo
  # crun refuses this host's hybrid layout: run all three where the empty
  # cgroup2 mount is gone, so they see the same v1 hierarchy.
  unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; python3 tests/bench/runtime.py'
  echo
  tests/bench/monitor_rss.sh
  echo
  echo "Targets: chuted <= 0.9 x crun wall; runtime peak RSS <= 2 MB; monitor RSS <= 1 MB."
  echo "<!-- runtime-bench:end -->"
} > "$out"
cat "$out"
python3 tests/bench/put_section.py runtime-bench < "$out"
rm -f "$out"
[ "${BENCH_ONLY:-}" = runtime ] && exit 0
for b in tests/bench/image*.sh tests/bench/build.sh tests/bench/net*.sh tests/bench/daemon.sh tests/bench/deploy.sh tests/bench/cloud.sh tests/bench/fleet.sh tests/vm/bench_restore.sh; do
  [ -x "$b" ] || continue
  echo
  "$b"
done
