#!/usr/bin/env bash
# make fuzz: run every libFuzzer target for FUZZ_TIME seconds (default 30)
# from the seed corpus (copied, so the tree stays clean). Exit != 0 on a crash.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
T=${1:-30}
rc=0
for bin in "$TOP"/build-fuzz/fuzz_*; do
  name=$(basename "$bin")
  work=$(mktemp -d "/tmp/chuted-test-fuzz-$name.XXXXXX")
  [ -d "$TOP/tests/fuzz/corpus/$name" ] && cp "$TOP/tests/fuzz/corpus/$name"/* "$work/" 2>/dev/null
  echo "== $name ($T s)"
  (cd "$work" && "$bin" -max_total_time="$T" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 "$work" 2>&1 | tail -5) || rc=1
  ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null && { echo "FAIL: $name: crash kept in $work"; rc=1; continue; }
  rm -rf "$work"
done
exit $rc
