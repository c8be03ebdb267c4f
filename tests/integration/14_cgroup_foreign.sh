#!/usr/bin/env bash
# An OCI cgroupsPath naming a cgroup chuted did not make: one holding
# processes is refused, and in an empty one a failed create or a
# `delete --force` kills only the container's own init and removes only the
# directories chuted made. The foreign cgroup is made in the pids hierarchy
# (v1) or the unified one (v2); chuted makes the rest.
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
F=$T_CGPARENT/foreign
if [ -d /sys/fs/cgroup/pids ]; then H=/sys/fs/cgroup/pids; OTHER=/sys/fs/cgroup/memory; else H=/sys/fs/cgroup; OTHER=; fi
if [ -n "$OTHER" ] && [ ! -d "$OTHER" ]; then OTHER=; fi
cfg() { jq --arg p "/$F/$1" ".linux.cgroupsPath = \$p | .process.args = [\"sleep\", \"1000\"] ${2:+| $2}" "$T_DIR/config.orig" > "$B/config.json"; }
SLEEPS=""
foreign_sleep() { # DIR: P = a process of the test's own, in that cgroup
  sleep 1000 </dev/null >/dev/null 2>&1 &
  P=$!
  SLEEPS="$SLEEPS $P"
  echo "$P" > "$1/cgroup.procs"
}
alive() { kill -0 "$1" 2>/dev/null; }

# --- a cgroup that holds a process: refused, the process untouched
mkdir -p "$H/$F/busy"
foreign_sleep "$H/$F/busy"; P1=$P
cfg busy
out=$("$CHUTED" oci create --bundle "$B" chuted-test-f1 2>&1 </dev/null >/dev/null); rc=$?
check_fails "create into a busy cgroup fails" test "$rc" -eq 0
case "$out" in *"cgroup is not empty"*) pass "the message says why" ;; *) fail "message: $out" ;; esac
check "the foreign process survives" alive "$P1"
check "the foreign cgroup stays" test -d "$H/$F/busy"
check "it still holds the process" grep -qx "$P1" "$H/$F/busy/cgroup.procs"
[ -n "$OTHER" ] && check_fails "what chuted made elsewhere is gone" test -d "$OTHER/$F/busy"
check_fails "no state left" sh -c "'$CHUTED' oci state chuted-test-f1 >/dev/null 2>&1"

# --- an empty foreign cgroup and a create that fails after making it
mkdir -p "$H/$F/empty"
cfg empty '.mounts += [{"destination": "/x", "type": "bind", "source": "/nonexistent-chuted-test", "options": ["bind"]}]'
check_fails "a create with a bad mount fails" sh -c "'$CHUTED' oci create --bundle '$B' chuted-test-f2 </dev/null >/dev/null 2>&1"
check "the empty foreign cgroup stays" test -d "$H/$F/empty"
[ -n "$OTHER" ] && check_fails "the dir chuted made for it elsewhere is gone" test -d "$OTHER/$F/empty"

# --- created in it; a foreign process joins; delete --force kills only the init
cfg empty
check "create into the empty foreign cgroup" sh -c "'$CHUTED' oci create --bundle '$B' chuted-test-f3 </dev/null >/dev/null 2>'$T_DIR/err'"
INIT=$("$CHUTED" oci state chuted-test-f3 2>/dev/null | jq -r .pid)
check "the init is in it" grep -qx "$INIT" "$H/$F/empty/cgroup.procs"
foreign_sleep "$H/$F/empty"; P2=$P
check "kill --all reaches only the init" sh -c "'$CHUTED' oci kill --all chuted-test-f3 KILL"
for _ in $(seq 50); do alive "$INIT" || break; sleep 0.1; done
check "the foreign process survives kill --all" alive "$P2"
check "delete --force" chuted oci delete --force chuted-test-f3
check "the foreign process survives delete --force" alive "$P2"
check_fails "the init is gone" alive "$INIT"
check "the foreign cgroup stays" test -d "$H/$F/empty"
[ -n "$OTHER" ] && check_fails "the dir chuted made elsewhere is gone" test -d "$OTHER/$F/empty"

# --- chuted's own cgroup: delete --force still kills everything in it
jq '.process.args = ["sleep", "1000"]' "$T_DIR/config.orig" > "$B/config.json"
check "create in a cgroup of its own" sh -c "'$CHUTED' oci create --bundle '$B' chuted-test-f4 </dev/null >/dev/null 2>&1"
check "delete --force" chuted oci delete --force chuted-test-f4

for p in $SLEEPS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
for d in busy empty; do rmdir "$H/$F/$d"; done
rmdir "$H/$F"
no_leftovers "foreign cgroups"
finish
