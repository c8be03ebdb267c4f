#!/usr/bin/env bash
# make check's short pass over every libFuzzer target (tests/fuzz/): each runs
# a few thousand inputs from its seed corpus and must not crash, leak or hang.
# `make fuzz` is the long run (>= 10 M execs). Skipped without clang's libFuzzer.
. "$(dirname "$0")/../lib.sh"

# the targets are their own ASan+UBSan build: the check's sanitizer pass over
# chuted's programs has nothing to add to them
case "$BIN" in
  *build-asan*) skip "fuzz targets already run with ASan+UBSan in the first pass"; finish ;;
esac
if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  skip "clang or its libFuzzer runtime is not installed (tools/install-deps.sh installs clang libclang-rt-14-dev)"
  finish
fi
if ! make -s -j2 -C "$TOP" fuzz-build >"$T_DIR/build.log" 2>&1; then
  fail "fuzz targets build ($(grep -m3 -E 'error|Error' "$T_DIR/build.log" | tr '\n' ' '))"
  finish
fi
n=0
while IFS= read -r line; do
  case $line in
    PASS:*) pass "${line#PASS: }"; n=$((n + 1)) ;;
    FAIL:*) fail "${line#FAIL: }"; n=$((n + 1)) ;;
  esac
done < <("$TOP/tests/fuzz/run.sh" --smoke 2>&1)
eq "every target ran" "$n" "$(ls "$TOP"/tests/fuzz/fuzz_*.c | wc -l)"
finish
