# Sourced by tests/integration/*.sh and tests/vm/*.sh.
# Each test file: `. "$(dirname "$0")/../lib.sh"`, then checks reported with
# pass/fail (one line each, counted by tests/check.sh), then `finish`.
#
# Environment: CHUTED_BIN (dir holding chuted, chuted-monitor, chuted-image;
# default build/), TEST_PREFIX (name prefix for everything a test makes).
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
CHUTED=$BIN/chuted
T_NAME=$(basename "$0" .sh)
T_FAILS=0
if [ ! -x "$CHUTED" ]; then
  echo "FAIL: $T_NAME: $CHUTED is not built"
  exit 1
fi

# Everything a test creates carries this prefix so a crashed run's leftovers
# can be found (tests/cleanup-leftovers.sh) and removed by the next run.
TEST_PREFIX=${TEST_PREFIX:-chuted-test}
T_DIR=$(mktemp -d "/tmp/$TEST_PREFIX-$T_NAME.XXXXXX")
T_ROOT=$T_DIR/root
T_RUNROOT=$T_DIR/run
T_CGPARENT="$TEST_PREFIX-$$"
mkdir -p "$T_ROOT" "$T_RUNROOT"
export CHUTED_ROOT=$T_ROOT CHUTED_RUN_ROOT=$T_RUNROOT CHUTED_CGROUP_PARENT=$T_CGPARENT
# a bridge's network state is shared by every root on the host
# (/var/lib/chuted-net): a test keeps its own, so it leaves none there
export CHUTED_NET_ROOT=$T_DIR/netroot

pass() { echo "PASS: $T_NAME: $*"; }
fail() { echo "FAIL: $T_NAME: $*"; T_FAILS=$((T_FAILS + 1)); }
skip() { echo "SKIP: $T_NAME: $*"; }
# check DESC CMD...: pass if CMD succeeds
check() { local d=$1; shift; if "$@" >"$T_DIR/check.out" 2>&1; then pass "$d"; else fail "$d ($(tail -c 300 "$T_DIR/check.out" | tr '\n' ' '))"; fi; }
# check_fails DESC CMD...: pass if CMD fails
check_fails() { local d=$1; shift; if "$@" >"$T_DIR/check.out" 2>&1; then fail "$d (succeeded: $(tail -c 200 "$T_DIR/check.out" | tr '\n' ' '))"; else pass "$d"; fi; }
# eq DESC GOT WANT
eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (got '$2', want '$3')"; fi; }

chuted() { "$CHUTED" "$@"; }

# A busybox rootfs, built once per test file from Debian's busybox-static.
make_rootfs() {
  local d=${1:-$T_DIR/rootfs}
  mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,root,var/www}
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$d/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> "$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$d/etc/group"
  echo "$d"
}

# Wait until CMD succeeds, up to N tenths of a second.
wait_for() { local n=$1; shift; while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }

# Leftover checks: nothing under the test's prefix may survive a failure path.
leftovers() {
  local out=""
  grep -q "$T_DIR" /proc/mounts && out="$out mounts:$(grep "$T_DIR" /proc/mounts | awk '{print $2}' | tr '\n' ' ')"
  local c; c=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$T_CGPARENT*" 2>/dev/null | while read -r d; do find "$d" -mindepth 1 -type d; done | head -3)
  [ -n "$c" ] && out="$out cgroups:$c"
  # a test with a bridge of its own (CHUTED_BRIDGE) removes it at its end
  # with `chuted network prune`; veths of its subnet (a /24) go with their netns
  if [ -n "${CHUTED_BRIDGE:-}" ]; then
    ip link show "$CHUTED_BRIDGE" >/dev/null 2>&1 && out="$out bridge:$CHUTED_BRIDGE"
    nft list table ip "chuted_$CHUTED_BRIDGE" >/dev/null 2>&1 && out="$out nft:chuted_$CHUTED_BRIDGE"
  fi
  if [ -n "${CHUTED_SUBNET:-}" ]; then
    local v; v=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 |
      grep "^$(printf 'chv-%02x%02x%02x' $(echo "${CHUTED_SUBNET%/*}" | cut -d. -f1-3 | tr . ' '))" | tr '\n' ' ')
    [ -n "$v" ] && out="$out veths:$v"
  fi
  echo "$out"
}
# The kernel destroys a removed chute's netns (and its veth) asynchronously:
# give it up to 2 s.
no_leftovers() {
  local l n=20
  while l=$(leftovers); [ -n "$l" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
  if [ -z "$l" ]; then pass "$1: nothing left behind"; else fail "$1: left behind:$l"; fi
}

t_cleanup() {
  # stop whatever the test left running in its own root, then remove it all
  if [ -x "$CHUTED" ] && [ -d "$T_ROOT" ]; then
    for c in $("$CHUTED" ps -a -q 2>/dev/null); do "$CHUTED" rm -f "$c" >/dev/null 2>&1; done
  fi
  grep " $T_DIR" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for h in /sys/fs/cgroup/*/"$T_CGPARENT" /sys/fs/cgroup/"$T_CGPARENT"; do
    [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$T_DIR"
}
trap t_cleanup EXIT

finish() { exit $((T_FAILS > 0)); }
