#!/usr/bin/env bash
# Runs inside the VM (started by /init): every tests/vm/NN_*.sh, then every
# tests/integration/*.sh, with a per-test timeout. Each PASS/FAIL/SKIP line is
# relabelled "vm/<test>" and printed behind the marker so the host-side runner
# (tests/vm/run.sh) counts only these lines and not kernel or test chatter.
# A failing test's last output lines follow as "@@CHVM@@ | ...", and a test's
# "INFO: ..." lines (measurements) are passed on as "@@CHVM@@ INFO: ...".
# With CHUTED_VM_VERBOSE=1 every test's whole output follows it that way.
# The last line is the sentinel "@@CHVM@@ DONE passed=N failed=N skipped=N".
set -u
M='@@CHVM@@'
FILTER=${1:-*}
PER_TEST=${CHUTED_VM_TEST_TIMEOUT:-240}
VERBOSE=${CHUTED_VM_VERBOSE:-0}
LOGS=/tmp/chuted-vm-suite
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0

echo "$M BEGIN kernel $(uname -r), $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB, $(nproc) cpus, cgroup2: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

result() { # KIND LABEL REST — one counted line
  echo "$M $1: $2${3:+: $3}"
  case "$1" in PASS) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; SKIP) skipped=$((skipped + 1)) ;; esac
}

run_one() { # file label-prefix
  local t=$1 name label out rc line kind rest nfail=0
  name=$(basename "$t" .sh)
  label=$2$name
  # shellcheck disable=SC2053
  [[ $label == $FILTER ]] || return 0
  out=$LOGS/${label//\//_}.out
  [ -x /chuted/tests/cleanup-leftovers.sh ] && /chuted/tests/cleanup-leftovers.sh >/dev/null 2>&1
  echo "$M RUN $label"
  local start=$SECONDS
  while IFS= read -r line; do
    echo "$line" >> "$out"
    case "$line" in
      PASS:\ *|FAIL:\ *|SKIP:\ *)
        kind=${line%%: *}; rest=${line#*: }
        # "PASS: name: desc" from tests/lib.sh: keep desc, relabel name
        [ "${rest#"$name": }" != "$rest" ] && rest=${rest#"$name": }
        [ "$kind" = FAIL ] && nfail=$((nfail + 1))
        result "$kind" "vm/$label" "$rest" ;;
      INFO:\ *) echo "$M $line" ;; # measurements a test reports
    esac
  done < <(timeout "$PER_TEST" bash "$t" 2>&1; echo "__rc=$?")
  rc=$(sed -n 's/^__rc=//p' "$out" | tail -1)
  if [ "${rc:-1}" != 0 ] && [ $nfail = 0 ]; then
    if [ "$rc" = 124 ] || [ "$rc" = 143 ]; then result FAIL "vm/$label" "timed out after ${PER_TEST}s"
    else result FAIL "vm/$label" "exited $rc"; fi
    nfail=1
  fi
  if [ $nfail != 0 ] || [ "$VERBOSE" = 1 ]; then
    grep -v '^__rc=' "$out" | tail -n "$([ "$VERBOSE" = 1 ] && echo 400 || echo 15)" | sed "s/^/$M | /"
  fi
  echo "$M TIME $label $((SECONDS - start))s"
}

for t in /chuted/tests/vm/[0-9]*.sh; do [ -f "$t" ] && run_one "$t" ""; done
mapfile -t inc < <(grep -v '^#' /chuted/tools/vm/integration.list | grep .)
for t in /chuted/tests/integration/*.sh; do
  [ -f "$t" ] || continue
  for g in "${inc[@]}"; do
    # shellcheck disable=SC2053
    if [[ $(basename "$t") == $g ]]; then run_one "$t" integration/; break; fi
  done
done

# Whatever a test made under its prefix must be gone once it finished.
left=$( { grep ' /tmp/chuted-test' /proc/mounts | awk '{print $2}'
          ls /run/netns 2>/dev/null | grep '^chuted-test'
          find /sys/fs/cgroup -maxdepth 1 -name 'chuted-test*'
          ip -o link 2>/dev/null | awk -F': ' '{print $2}' | grep -i 'chuted-test\|^ct-' ; } | tr '\n' ' ')
if [ -z "$left" ]; then result PASS vm/suite "nothing left behind after all tests"
else result FAIL vm/suite "left behind: $left"; fi

echo "$M DONE passed=$passed failed=$failed skipped=$skipped"
