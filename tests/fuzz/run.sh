#!/usr/bin/env bash
# Runs every libFuzzer target (build-fuzz/fuzz_*) from its seed corpus (copied,
# so the tree stays clean).
#   run.sh          make fuzz: each target for its exec budget below (>= 10 M
#                   in all), then the total; exit != 0 on any crash/leak/timeout
#   run.sh --smoke  make check: each target a few thousand execs, one PASS:/FAIL: line each
# A crash's input is kept (the path is printed) for `build-fuzz/fuzz_X FILE`.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SMOKE=0
[ "${1:-}" = --smoke ] && SMOKE=1

# execs per target: the in-memory parsers run at 10-100 k/s, the targets that
# write files (import, unpack) at a few hundred/s
budget() {
  case $1 in
    fuzz_auth) echo 4000000 ;;
    fuzz_ref) echo 2500000 ;;
    fuzz_config) echo 2200000 ;;
    fuzz_manifest) echo 700000 ;;
    fuzz_index) echo 500000 ;;
    fuzz_spec) echo 250000 ;;
    fuzz_cloud) echo 600000 ;;
    fuzz_api) echo 300000 ;;
    fuzz_unpack) echo 30000 ;;
    fuzz_import) echo 20000 ;;
    *) echo 100000 ;;
  esac
}

rc=0 total=0
for bin in "$TOP"/build-fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  runs=$(budget "$name")
  [ $SMOKE = 1 ] && runs=2000
  work=$(mktemp -d "/tmp/chuted-test-fuzz-$name.XXXXXX")
  [ -d "$TOP/tests/fuzz/corpus/$name" ] && cp "$TOP/tests/fuzz/corpus/$name"/* "$work/" 2>/dev/null
  [ $SMOKE = 1 ] || echo "== $name ($runs execs)"
  out=$(cd "$work" && "$bin" -runs="$runs" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 "$work" 2>&1)
  frc=$?
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' <<<"$out")
  total=$((total + ${n:-0}))
  if [ $frc != 0 ] || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
    tail -20 <<<"$out"
    echo "FAIL: $name: fuzzer failed after ${n:-0} execs, inputs kept in $work"
    rc=1
    continue
  fi
  if [ $SMOKE = 1 ]; then echo "PASS: $name: ${n:-0} execs from the seed corpus, no crash"; else echo "$name: ${n:-0} execs, no crash"; fi
  rm -rf "$work"
done
[ $SMOKE = 1 ] || echo "fuzz: $total execs in all, $([ $rc = 0 ] && echo 0 crashes || echo 'CRASHES (see FAIL lines)')"
exit $rc
