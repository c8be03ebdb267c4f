#!/usr/bin/env bash
# config.json features beyond the basics: the init's order under a seccomp
# profile, hooks and their failure rules, rootfs propagation, inherited and
# joined namespaces, namespaced settings refused in the host's namespaces,
# tmpcopyup, supplementary groups, fields this host cannot apply.
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
if [ -x "$BIN/chuted-sys-probe" ]; then
  cp "$BIN/chuted-sys-probe" "$B/rootfs/bin/sys_probe"
else
  fail "chuted-sys-probe is not built (make unit)"; finish
fi
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
cfg() { jq "$1" "$T_DIR/config.orig" > "$B/config.json"; }
N=0
# run_c ARGS_JSON [JQ]: `oci run` in the foreground, output in $OUT, exit code in $RC
run_c() {
  N=$((N + 1)); cfg ".process.args = $1 ${2:+| $2}"
  OUT=$(timeout 20 "$CHUTED" oci run --bundle "$B" "chuted-test-p$N" 2>&1); RC=$?
}
val() { echo "$OUT" | sed -n "s/^$1=//p"; }
state_of() { "$CHUTED" oci state "$1" 2>/dev/null | jq -r .status; }

# --- seccomp: the profile governs the container's process, not the init's setup
ALLOW_BUT() { # SYSCALL...: allow everything except these (EPERM)
  local names; names=$(printf '"%s",' "$@"); names=${names%,}
  echo ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [$names], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}"
}
for nnp in false true; do
  run_c '["sys_probe", "close_range", "inet"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = $nnp"
  eq "no close_range in the profile, noNewPrivileges $nnp: starts" "$RC" 0
  eq "and the profile applies to the process (nnp $nnp)" "$(val close_range)" EPERM
  run_c '["sh", "-c", "cd /tmp && pwd"]' "$(ALLOW_BUT getcwd) | .process.noNewPrivileges = $nnp"
  eq "getcwd blocked, noNewPrivileges $nnp: starts" "$RC:$OUT" "0:/tmp"
done
run_c '["sys_probe", "close_range"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = false | .process.user = {uid: 65534, gid: 65534}"
eq "noNewPrivileges false, non-root user: the filter loads while still privileged" "$RC:$(val close_range)" 0:EPERM
run_c '["sh", "-c", "ls /proc/self/fd | wc -l"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = false"
eq "fds still closed on exec without close_range (0-2 and ls's own)" "$OUT" 4

# --- default profile: io_uring is refused (Docker's profile dropped it)
run_c '["sys_probe", "io_uring"]'
case "$(val io_uring)" in EPERM|ENOSYS) pass "io_uring_setup refused in a default chute ($(val io_uring))" ;; *) fail "io_uring_setup: $(val io_uring) $OUT" ;; esac
no_leftovers "seccomp order"
finish
