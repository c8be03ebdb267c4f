#!/usr/bin/env bash
# Runs every test this host can run and ends with "N passed, N failed".
# Phases: unit tests (cmocka, TAP), integration tests (real chutes as root),
# both again against the ASan+UBSan build, and the QEMU VM suite; the VM and
# the two integration passes run side by side (see below).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
LOG=$(mktemp -d /tmp/chuted-check.XXXXXX)
passed=0 failed=0

count() { # file
  local p f
  # cmocka writes a skipped test as "not ok N # SKIP": not a failure
  p=$(grep -c '^PASS: \|^ok ' "$1"); f=$(grep '^FAIL: \|^not ok ' "$1" | grep -vc '# SKIP')
  passed=$((passed + p)); failed=$((failed + f))
}

run_unit() { # builddir label
  for t in "$1"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $2 $(basename "$t")"
    CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" > "$LOG/u.out" 2>&1
    rc=$?
    grep -E '^(ok|not ok|#)' "$LOG/u.out" | grep -v '^# ' | sed "s/^/  /;s/^  //"
    if [ $rc -ne 0 ] && ! grep -q '^not ok' "$LOG/u.out"; then echo "not ok - $(basename "$t") crashed (rc=$rc)"; tail -20 "$LOG/u.out"; echo "not ok" >> "$LOG/u.out"; fi
    count "$LOG/u.out"
  done
}

# Files that read or set the host's ip_forward (shared by every bridge of
# every root): they run alone, after the parallel passes.
SERIAL_FILES="30_net.sh 31_net_shared.sh 32_ports.sh"

run_files() { # builddir label files...: each file's output and wall time into $LOG/<label>.out
  local b=$1 l=$2 t rc t0 out
  shift 2
  for t in "$@"; do
    out=$LOG/$l.$(basename "$t").out
    t0=$SECONDS
    # one file at a time across passes: a file's bridge, subnet and names are its own
    CHUTED_BIN=$TOP/$b flock "$LOG/lock.$(basename "$t")" timeout 600 bash "$t" > "$out" 2>&1
    rc=$?
    { echo "== $l $(basename "$t") ($((SECONDS - t0)) s)"
      grep -E '^(PASS|FAIL|SKIP): ' "$out"
      if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$out"; then
        echo "FAIL: $(basename "$t" .sh): exited $rc"; tail -20 "$out" | sed 's/^/  | /'
      fi
    } >> "$LOG/$l.out"
    echo "   $l $(basename "$t"): $((SECONDS - t0)) s"
  done
}

report() { # label
  cat "$LOG/$1.out"
  count "$LOG/$1.out"
}

# The VM suite (QEMU under TCG: CPU-bound) runs alongside the host suites,
# which mostly wait on chutes (a tenth of their wall time is CPU): the
# whole check takes the longer of the two instead of their sum. niced, so
# the host tests' timing stays theirs.
vm_pid=""
if [ -x tests/vm/run.sh ] && [ "${CHUTED_SKIP_VM:-0}" != 1 ]; then
  vm_t0=$SECONDS
  nice -n 10 tests/vm/run.sh > "$LOG/vm.out" 2>&1 &
  vm_pid=$!
fi

run_unit build unit
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_unit build-asan unit-asan
unset ASAN_OPTIONS UBSAN_OPTIONS

# The integration suites under the plain and the ASan+UBSan builds run side
# by side: they mostly wait on chutes. ASAN_OPTIONS keeps leak checks on.
tests/cleanup-leftovers.sh >/dev/null 2>&1
parallel=() serial=()
for t in tests/integration/*.sh; do
  case " $SERIAL_FILES " in *" $(basename "$t") "*) serial+=("$t") ;; *) parallel+=("$t") ;; esac
done
run_files build integration "${parallel[@]}" &
p1=$!
( export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_files build-asan integration-asan "${parallel[@]}" ) &
p2=$!
wait $p1 $p2
run_files build integration "${serial[@]}"
( export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_files build-asan integration-asan "${serial[@]}" )
report integration
report integration-asan

if [ -n "$vm_pid" ]; then
  wait "$vm_pid"
  rc=$?
  echo "== vm ($((SECONDS - vm_t0)) s, alongside the host suites)"
  grep -E '^(PASS|FAIL|SKIP): ' "$LOG/vm.out"
  if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$LOG/vm.out"; then echo "FAIL: vm: exited $rc"; tail -30 "$LOG/vm.out"; echo "FAIL: " >> "$LOG/vm.out"; fi
  count "$LOG/vm.out"
fi
rm -rf "$LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
