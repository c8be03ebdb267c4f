#!/bin/bash
# The opencontainers runtime-tools validation suite
# (tests/conformance/runtime-tools.sh) against this build's chuted-runtime:
# PASS/FAIL per validation test; a test crun fails on this host too is SKIP.
# crun's results are computed once per crun version and kept under
# build/conformance/. SKIP as a whole without Go or the suite's source
# (tools/install-deps.sh --conformance; RUNTIME_TOOLS_GIT, see the script).
. "$(dirname "$0")/../lib.sh"

conf=$TOP/tests/conformance/runtime-tools.sh
crun_status() { awk -F'\t' -v t="$1" '$1 == t { print $2 }' "$crun_out/results/crun/summary.tsv"; }
if ! command -v go >/dev/null 2>&1 || ! command -v crun >/dev/null 2>&1; then
  skip "runtime-tools: go or crun missing (tools/install-deps.sh --conformance)"
  finish
fi
crun_out=$TOP/build/conformance/crun-$(crun --version | sed -n 's/^crun version //p' | tr -c 'A-Za-z0-9.\n' _)
if [ ! -s "$crun_out/results/crun/summary.tsv" ]; then
  if ! CONFORMANCE_OUT=$crun_out "$conf" crun >"$T_DIR/crun.tap" 2>"$T_DIR/crun.err"; then
    skip "runtime-tools: the suite could not be built or run ($(tail -c 200 "$T_DIR/crun.err" | tr '\n' ' '))"
    finish
  fi
fi
if ! CONFORMANCE_OUT=$T_DIR/conf "$conf" "$BIN/chuted-runtime" >"$T_DIR/chuted.tap" 2>"$T_DIR/chuted.err" ||
  [ ! -s "$T_DIR/conf/results/chuted-runtime/summary.tsv" ]; then
  fail "runtime-tools: no result for chuted-runtime ($(tail -c 200 "$T_DIR/chuted.err" | tr '\n' ' '))"
  finish
fi

# a few validation tests race the container's process (kill signals, hook
# order): one that fails where crun passed gets a second run
retry=()
while IFS=$'\t' read -r t status _; do
  [ "$status" = fail ] && [ "$(crun_status "$t")" = pass ] && retry+=(-t "$t")
done <"$T_DIR/conf/results/chuted-runtime/summary.tsv"
if [ ${#retry[@]} -gt 0 ]; then
  CONFORMANCE_OUT=$T_DIR/conf2 "$conf" "${retry[@]}" "$BIN/chuted-runtime" >"$T_DIR/chuted2.tap" 2>&1
fi
second() { awk -F'\t' -v t="$1" '$1 == t { print $2 }' "$T_DIR/conf2/results/chuted-runtime/summary.tsv" 2>/dev/null; }

while IFS=$'\t' read -r t status ok plan rc; do
  want=$(crun_status "$t")
  [ "$status" = fail ] && [ "$(second "$t")" = pass ] && status=pass
  case $status in
    pass | skip) pass "runtime-tools $t ($ok/$plan)" ;;
    *)
      if [ "$want" != pass ]; then
        skip "runtime-tools $t: crun fails it too on this host"
      else
        fail "runtime-tools $t ($ok/$plan, exit $rc): $(awk -v t="$t" '$0 == "== " t ":" || index($0, "== " t ": ") == 1 { on = 1; next }
          /^== / { on = 0 } on' "$T_DIR/conf/results/chuted-runtime/failures.txt" | head -3 | tr -s ' \n' '  ' | cut -c 1-300)"
      fi
      ;;
  esac
done <"$T_DIR/conf/results/chuted-runtime/summary.tsv"
echo "# runtime-tools points: chuted-runtime $(cut -f2 "$T_DIR/conf/results/chuted-runtime/score.tsv"), crun $(cut -f2 "$crun_out/results/crun/score.tsv")"
finish
