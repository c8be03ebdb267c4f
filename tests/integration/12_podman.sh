#!/usr/bin/env bash
# podman (with conmon) driving chuted-runtime as its OCI runtime, the way a
# host with podman would use it: `podman --runtime chuted-runtime`. The same
# operations run first with runc, the reference: every one runc passes must
# pass with chuted-runtime (one it fails too is a SKIP). podman gets its own
# storage, run root and tmpdir in T_DIR, cgroupfs under the test's cgroup
# parent, no network (--network none), and an image imported offline from
# the test's busybox rootfs.
. "$(dirname "$0")/../lib.sh"

if ! command -v podman >/dev/null 2>&1; then
  skip "podman is not installed (tools/install-deps.sh installs it)"
  finish
fi
RUNC=$(command -v runc || true)
# Under podman the runtime runs with podman's environment only (PATH,
# XDG_RUNTIME_DIR): chuted-runtime keeps its state in /run/chuted/oci, runc
# in /run/runc, as each does for any podman.
CONF=$T_DIR/containers.conf
# podman's default ulimits raise RLIMIT_NOFILE/NPROC (to 1M/4M), which
# needs CAP_SYS_RESOURCE: a host (or sandbox) without it fails every start
# with runc and crun alike; the test asks for limits any caller can set.
cat > "$CONF" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime_supports_json = ["crun", "runc", "chuted-runtime"]
CONF
export CONTAINERS_CONF=$CONF
IMG=localhost/chuted-test-busybox:latest
CGP=/$T_CGPARENT

P() {
  timeout 60 podman --root "$T_DIR/storage" --runroot "$T_DIR/prun" --tmpdir "$T_DIR/ptmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime "$RUNTIME" "$@"
}
R() { P run --cgroup-parent "$CGP" --network none "$@"; } # every container runs under the test's cgroup parent

# podman's own cgroup for the conmons (cgroupfs: PARENT/conmon), which it
# never removes, with any runtime; the containers' cgroups are the runtime's
podman_cleanup() {
  for RUNTIME in "$BIN/chuted-runtime" ${RUNC:+"$RUNC"}; do P rm -af -t 0 >/dev/null 2>&1; done
  RUNTIME=$BIN/chuted-runtime P rmi -af >/dev/null 2>&1
  wait_for 50 sh -c 'for d in $(ls -d /sys/fs/cgroup/*/'"$T_CGPARENT"'/conmon /sys/fs/cgroup/'"$T_CGPARENT"'/conmon 2>/dev/null); do rmdir "$d" || exit 1; done'
}
trap 'podman_cleanup; t_cleanup' EXIT

make_rootfs "$T_DIR/rootfs" >/dev/null
tar -C "$T_DIR/rootfs" -cf "$T_DIR/rootfs.tar" .
RUNTIME=$BIN/chuted-runtime
if ! P import --change 'CMD ["sh"]' "$T_DIR/rootfs.tar" "$IMG" >"$T_DIR/import.out" 2>&1; then
  fail "podman import of the busybox rootfs ($(tail -c 300 "$T_DIR/import.out"))"
  finish
fi

# --- the operations: each returns 0 or prints why it failed
has() { grep -q -- "$2" <<<"$1" || { echo "want '$2' in: $1"; return 1; }; }
is() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
status() { P inspect -f '{{.State.Status}}' "$1"; }

op_run() { is "$(R --rm "$IMG" echo hello)" hello; }
op_run_exit_code() { R --rm "$IMG" sh -c 'exit 3'; is $? 3; }
op_run_missing() { R --rm "$IMG" /nope >/dev/null 2>&1; is $? 127; }
op_run_stdin() { is "$(echo piped | R --rm -i "$IMG" cat)" piped; }
op_run_tty() { has "$(R --rm -t "$IMG" tty | tr -d '\r')" /dev/pts/; }
op_run_env_workdir() { is "$(R --rm -e A=1 -w /tmp "$IMG" sh -c 'echo $A $(pwd)')" "1 /tmp"; }
op_run_hostname() { is "$(R --rm --hostname chutehost "$IMG" hostname)" chutehost; }
op_run_network_none() { is "$(R --rm "$IMG" sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "; }
op_run_user_groups() {
  local o; o=$(R --rm -u 65534 --group-add 10 "$IMG" sh -c 'id -u; id -g; id -G')
  is "$(echo "$o" | tr '\n' ' ')" "65534 65534 65534 10 " || is "$(echo "$o" | tr '\n' ' ')" "65534 65534 10 65534 "
}
op_run_memory() {
  R --rm -m 32m "$IMG" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' |
    { read -r v; is "$v" 33554432; }
}
op_run_rm() { R --rm --name chuted-test-rm "$IMG" true && ! P container exists chuted-test-rm; }
op_run_read_only() {
  R --rm --read-only "$IMG" sh -c 'touch /tmp/ok && ! touch /etc/x 2>/dev/null && echo fine'
}
op_run_detached() { R -d --name chuted-test-d "$IMG" sh -c 'echo logged; exec sleep 300' >/dev/null && is "$(status chuted-test-d)" running; }
op_logs() { sleep 0.2; has "$(P logs chuted-test-d)" logged; }
op_inspect() { local p; p=$(P inspect -f '{{.State.Pid}}' chuted-test-d) && [ "$p" -gt 0 ] && is "$(cat /proc/"$p"/comm)" sleep; }
op_exec() { is "$(P exec chuted-test-d echo inexec)" inexec; }
op_exec_exit_code() { P exec chuted-test-d sh -c 'exit 5'; is $? 5; }
op_exec_missing() { P exec chuted-test-d /nope >/dev/null 2>&1; is $? 127; }
op_exec_tty() { has "$(P exec -t chuted-test-d tty | tr -d '\r')" /dev/pts/; }
op_exec_user_env_workdir() { is "$(P exec -u 65534 -e FOO=bar -w /tmp chuted-test-d sh -c 'echo $(id -u) $FOO $(pwd)')" "65534 bar /tmp"; }
op_exec_stdin() { is "$(echo viastdin | P exec -i chuted-test-d cat)" viastdin; }
op_exec_preserve_fds() { is "$(P exec --preserve-fds 1 chuted-test-d sh -c 'cat <&3' 3<"$T_DIR/rootfs/etc/group" | head -1)" root:x:0:; }
op_exec_detach() { P exec -d chuted-test-d sleep 123 >/dev/null && sleep 0.3 && has "$(P top chuted-test-d args)" "sleep 123"; }
op_top() { has "$(P top chuted-test-d)" "sleep 300"; }
op_pause() { P pause chuted-test-d >/dev/null && is "$(status chuted-test-d)" paused; }
op_unpause() { P unpause chuted-test-d >/dev/null && is "$(status chuted-test-d)" running && is "$(P exec chuted-test-d echo alive)" alive; }
op_update() {
  P update --memory 64m chuted-test-d >/dev/null || return 1
  is "$(P exec chuted-test-d sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')" 67108864
}
op_kill() { P kill -s KILL chuted-test-d >/dev/null && P wait chuted-test-d >/dev/null && is "$(status chuted-test-d)" exited; }
op_start() { P start chuted-test-d >/dev/null && is "$(status chuted-test-d)" running; }
op_restart() {
  local a b; a=$(P inspect -f '{{.State.Pid}}' chuted-test-d)
  P restart -t 1 chuted-test-d >/dev/null && b=$(P inspect -f '{{.State.Pid}}' chuted-test-d) && [ "$a" != "$b" ] && is "$(status chuted-test-d)" running
}
op_stop() { P stop -t 1 chuted-test-d >/dev/null && is "$(status chuted-test-d)" exited; }
op_rm() { P rm chuted-test-d >/dev/null && ! P container exists chuted-test-d; }
op_create_start_attach() {
  P create --cgroup-parent "$CGP" --network none --name chuted-test-cs "$IMG" echo attached >/dev/null &&
    is "$(P start -a chuted-test-cs)" attached && P rm chuted-test-cs >/dev/null
}
op_wait_exit_code() {
  R -d --name chuted-test-w "$IMG" sh -c 'sleep 0.5; exit 7' >/dev/null && is "$(P wait chuted-test-w)" 7 && P rm chuted-test-w >/dev/null
}
op_rm_force_running() { R -d --name chuted-test-f "$IMG" sleep 300 >/dev/null && P rm -f -t 0 chuted-test-f >/dev/null && ! P container exists chuted-test-f; }
op_nothing_left() { is "$(P ps -aq | wc -l)" 0; }

OPS="run run_exit_code run_missing run_stdin run_tty run_env_workdir run_hostname run_network_none run_user_groups
run_memory run_rm run_read_only run_detached logs inspect exec exec_exit_code exec_missing exec_tty
exec_user_env_workdir exec_stdin exec_preserve_fds exec_detach top pause unpause update kill start restart stop rm
create_start_attach wait_exit_code rm_force_running nothing_left"

declare -A RESULT
score() { # RUNTIME LABEL: run every op, RESULT[LABEL:op] = ok or why
  local n=0 op
  RUNTIME=$1
  for op in $OPS; do
    if "op_$op" >"$T_DIR/op.out" 2>&1; then RESULT[$2:$op]=ok; n=$((n + 1))
    else RESULT[$2:$op]="$(tail -c 300 "$T_DIR/op.out" | tr '\n' ' ')"; fi
  done
  P rm -af -t 0 >/dev/null 2>&1
  SCORE=$n
}
TOTAL=$(echo $OPS | wc -w)
RUNC_N="-"
if [ -n "$RUNC" ]; then score "$RUNC" runc; RUNC_N=$SCORE; fi
score "$BIN/chuted-runtime" chuted; CHUTED_N=$SCORE
echo "podman 12_podman: runc passes $RUNC_N of $TOTAL, chuted-runtime $CHUTED_N of $TOTAL"
for op in $OPS; do
  r=${RESULT[chuted:$op]:-}
  if [ "$r" = ok ]; then pass "podman $op"
  elif [ "$op" = run_read_only ] && grep -q "tmpfs.*Invalid argument" <<<"$r"; then
    skip "podman $op: needs the tmpcopyup mount option ($r)"
  elif [ -n "$RUNC" ] && [ "${RESULT[runc:$op]:-}" != ok ]; then skip "podman $op: runc fails it too ($r)"
  else fail "podman $op: $r"; fi
done
check_fails "no chuted-runtime state left for podman's containers" sh -c "ls /run/chuted/oci 2>/dev/null | grep -qE '^[0-9a-f]{64}$'"
podman_cleanup
no_leftovers "podman"
finish
