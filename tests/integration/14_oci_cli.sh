#!/usr/bin/env bash
# chuted-runtime as runc's CLI, the way podman, conmon and containerd call
# it: global --root/--log/--log-format/--systemd-cgroup, exec --process
# --pid-file --detach, pause/resume, update (--resources and flags), ps,
# features, create's runc flags.
. "$(dirname "$0")/../lib.sh"

RT=$BIN/chuted-runtime
B=$T_DIR/bundle
S=$T_DIR/state
mkdir -p "$B" "$S"
make_rootfs "$B/rootfs" >/dev/null
"$RT" spec --bundle "$B"
jq '.process.args = ["sleep", "60"] | .process.terminal = false' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
rt() { "$RT" --root "$S" "$@"; }
status_of() { rt state "$1" 2>/dev/null | jq -r .status; }

# --- global options
check "--root DIR: create" rt create --bundle "$B" --pid-file "$T_DIR/pid" --no-pivot --no-new-keyring chuted-test-c1
check "state lives in ROOT/ID" test -f "$S/chuted-test-c1/state.json"
check "--root=DIR is the same root" "$RT" --root="$S" start chuted-test-c1
eq "running" "$(status_of chuted-test-c1)" running
PID=$(cat "$T_DIR/pid")
OUT=$("$RT" --root "$S" --log "$T_DIR/log.json" --log-format json start chuted-test-nope 2>/dev/null); RC=$?
eq "an error exits non-zero" "$RC" 1
eq "--log-format json: one JSON line {level,msg,time}" \
  "$(jq -c '[.level, (.msg | test("chuted-test-nope")), (.time | test("^[0-9]{4}-"))]' "$T_DIR/log.json")" '["error",true,true]'
eq "json log has one line" "$(wc -l < "$T_DIR/log.json")" 1
"$RT" --root "$S" --log "$T_DIR/log.txt" --log-format text start chuted-test-nope 2>/dev/null
check "--log-format text: logrus's line" grep -q '^time="[0-9T:.Z-]*" level=error msg=".*chuted-test-nope' "$T_DIR/log.txt"
check_fails "--log-format xml is refused" "$RT" --log-format xml state chuted-test-c1
OUT=$("$RT" --root "$S" --systemd-cgroup create --bundle "$B" chuted-test-sd 2>&1); RC=$?
if [ $RC -ne 0 ] && echo "$OUT" | grep -q "systemd-cgroup.*cgroupfs"; then pass "--systemd-cgroup create: refused in one line"; else fail "--systemd-cgroup create (rc $RC: $OUT)"; fi
check_fails "and leaves no state" test -e "$S/chuted-test-sd"
check "--systemd-cgroup does not stop state" "$RT" --root "$S" --systemd-cgroup state chuted-test-c1
check_fails "--preserve-fds 2 is refused" rt create --bundle "$B" --preserve-fds 2 chuted-test-pf

# --- exec --process (conmon's form)
jq -n '{args: ["sh", "-c", "echo $FOO; id -u; id -G; pwd"], env: ["FOO=bar", "PATH=/bin"], cwd: "/tmp",
        user: {uid: 65534, gid: 65534, additionalGids: [10]}, terminal: false,
        capabilities: {bounding: [], effective: [], permitted: []}, noNewPrivileges: true}' > "$T_DIR/p.json"
OUT=$(rt exec --process "$T_DIR/p.json" --pid-file "$T_DIR/epid" chuted-test-c1 2>&1); RC=$?
eq "exec --process: exit 0" "$RC" 0
eq "exec --process: env, user, groups, cwd" "$(echo "$OUT" | tr '\n' ' ')" "bar 65534 65534 10 /tmp "
check "exec --pid-file written" grep -qE '^[0-9]+$' "$T_DIR/epid"
jq '.args = ["sleep", "30"]' "$T_DIR/p.json" > "$T_DIR/p2.json"
check "exec --process --detach" rt exec --process "$T_DIR/p2.json" --pid-file "$T_DIR/dpid" --detach chuted-test-c1
DPID=$(cat "$T_DIR/dpid" 2>/dev/null)
eq "the detached process runs, in the container's pid ns" "$(cat /proc/"$DPID"/cmdline 2>/dev/null | tr '\0' ' ')" "sleep 30 "
eq "its pid file holds the host pid" "$(readlink /proc/"$DPID"/ns/pid)" "$(readlink /proc/"$PID"/ns/pid)"
jq '.args = ["/nope"]' "$T_DIR/p.json" > "$T_DIR/p3.json"
OUT=$(rt --log "$T_DIR/elog" --log-format json exec --process "$T_DIR/p3.json" chuted-test-c1 2>&1); RC=$?
eq "exec --process of a missing program exits 127" "$RC" 127
check "and says so in the log" sh -c "jq -r .msg '$T_DIR/elog' | grep -qi 'no such file'"
jq '.args = ["sh", "-c", "grep CapBnd /proc/self/status"] | .capabilities.bounding = ["CAP_TEST", "CAP_CHOWN"]' "$T_DIR/p.json" > "$T_DIR/p5.json"
OUT=$(rt exec --process "$T_DIR/p5.json" chuted-test-c1 2>&1); RC=$?
eq "exec --process with an unknown capability: warned about, skipped" "$RC:$OUT" \
  "0:chuted: warning: process.capabilities: skipping CAP_TEST (unknown)
CapBnd:	0000000000000001"
jq '.args = 5' "$T_DIR/p.json" > "$T_DIR/p4.json"
OUT=$(rt exec --process "$T_DIR/p4.json" chuted-test-c1 2>&1)
eq "a bad --process names the key" "$OUT" "chuted: --process: config.json: process.args: must be an array, not an integer"
check_fails "--process and a command line: refused" rt exec --process "$T_DIR/p.json" chuted-test-c1 true
echo preserved > "$T_DIR/fd3"
eq "exec --preserve-fds 1: fd 3 reaches the process" "$(rt exec --preserve-fds 1 chuted-test-c1 -- sh -c 'cat <&3' 3<"$T_DIR/fd3" 2>&1)" preserved
eq "without it fd 3 does not" "$(rt exec chuted-test-c1 -- sh -c 'test -e /proc/self/fd/3 && echo leaked || echo closed' 3<"$T_DIR/fd3" 2>&1)" closed
jq '.terminal = true' "$T_DIR/p.json" > "$T_DIR/p5.json"
OUT=$(rt exec --process "$T_DIR/p5.json" --detach chuted-test-c1 2>&1); RC=$?
eq "a terminal without --console-socket: refused in one line" "$RC:$OUT" "1:chuted: oci exec: a terminal needs --console-socket"

# --- ps, pause, resume
eq "ps --format json lists the init" "$(rt ps --format json chuted-test-c1 | jq --argjson p "$PID" 'index($p) != null')" true
eq "ps --format json lists the exec'd process" "$(rt ps --format json chuted-test-c1 | jq --argjson p "$DPID" 'index($p) != null')" true
OUT=$(rt ps chuted-test-c1)
eq "ps: header and the init's line" "$(echo "$OUT" | awk -v p="$PID" 'NR==1 && /PID/ {h=1} $2==p {l=1} END {print h+0, l+0}')" "1 1"
CG=$(jq -r '."chuted.cgroupPath"' "$S/chuted-test-c1/state.json")
frozen() {
  if [ -f "/sys/fs/cgroup/freezer/$CG/freezer.state" ]; then cat "/sys/fs/cgroup/freezer/$CG/freezer.state"
  else case "$(cat "/sys/fs/cgroup/$CG/cgroup.freeze")" in 1) echo FROZEN ;; *) echo THAWED ;; esac; fi
}
check "pause" rt pause chuted-test-c1
eq "paused: the cgroup is frozen" "$(frozen)" FROZEN
eq "state says paused" "$(status_of chuted-test-c1)" paused
check "list --root shows it paused" sh -c "'$RT' --root '$S' list | grep -q 'chuted-test-c1 .* paused '"
check "resume" rt resume chuted-test-c1
eq "resumed: thawed" "$(frozen)" THAWED
eq "state says running again" "$(status_of chuted-test-c1)" running
check_fails "pause of an unknown id fails" rt pause chuted-test-nope

# --- update
memlimit() {
  if [ -f "/sys/fs/cgroup/memory/$CG/memory.limit_in_bytes" ]; then cat "/sys/fs/cgroup/memory/$CG/memory.limit_in_bytes"
  else cat "/sys/fs/cgroup/$CG/memory.max"; fi
}
pidslimit() {
  if [ -f "/sys/fs/cgroup/pids/$CG/pids.max" ]; then cat "/sys/fs/cgroup/pids/$CG/pids.max"; else cat "/sys/fs/cgroup/$CG/pids.max"; fi
}
echo '{"memory": {"limit": 67108864}, "pids": {"limit": 99}}' > "$T_DIR/res.json"
check "update --resources FILE" rt update --resources "$T_DIR/res.json" chuted-test-c1
eq "memory limit applied" "$(memlimit)" 67108864
eq "pids limit applied" "$(pidslimit)" 99
check "update --memory 32m --pids-limit 50 (runc's flags)" rt update --memory 32m --pids-limit 50 chuted-test-c1
eq "flag memory limit applied" "$(memlimit)" 33554432
eq "flag pids limit applied" "$(pidslimit)" 50
check "update --resources - (stdin)" sh -c "echo '{\"pids\": {\"limit\": 77}}' | '$RT' --root '$S' update -r - chuted-test-c1"
eq "stdin pids limit applied" "$(pidslimit)" 77
OUT=$(rt update --cpu-share 1 chuted-test-c1 2>&1)
eq "an out-of-range value names the key" "$OUT" 'chuted: update `chuted-test-c1`: config.json: linux.resources.cpu.shares: 1 is outside 2..262144'
check_fails "--resources with flags: refused" rt update --resources "$T_DIR/res.json" --memory 1g chuted-test-c1

# --- features
OUT=$("$RT" features)
eq "features: runtime-spec fields" "$(echo "$OUT" | jq -c '[.ociVersionMin, (.linux.namespaces | index("pid") != null), (.linux.capabilities | index("CAP_SYS_ADMIN") != null), .linux.seccomp.enabled, (.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null), (.mountOptions | index("rbind") != null), .linux.cgroup.systemd]')" \
  '["1.0.0",true,true,true,true,true,false]'

# --- kill --all, delete --force
check "kill --all KILL" rt kill --all chuted-test-c1 KILL
wait_for 50 sh -c "[ \"\$('$RT' --root '$S' state chuted-test-c1 | jq -r .status)\" = stopped ]"
eq "stopped" "$(status_of chuted-test-c1)" stopped
check_fails "the exec'd process went too" test -e "/proc/$DPID/cmdline"
check "delete" rt delete chuted-test-c1
rt create --bundle "$B" chuted-test-c2 >/dev/null 2>&1
check "delete --force of a created container" rt delete --force chuted-test-c2

# --- process is OPTIONAL at create, REQUIRED at start (runtime-tools' validation/start)
jq 'del(.process)' "$B/config.json" > "$T_DIR/np.json" && cp "$B/config.json" "$T_DIR/with-process.json" && mv "$T_DIR/np.json" "$B/config.json"
check "create without process" rt create --bundle "$B" chuted-test-np
eq "it is created" "$(status_of chuted-test-np)" created
OUT=$(rt start chuted-test-np 2>&1); RC=$?
eq "start fails, saying process is required" "$RC:$(echo "$OUT" | grep -c 'no process: process is REQUIRED when start is called')" 1:1
eq "and it stays created" "$(status_of chuted-test-np)" created
check "delete --force of it" rt delete --force chuted-test-np
cp "$T_DIR/with-process.json" "$B/config.json"
check_fails "no state left" sh -c "ls '$S' | grep -q ."
no_leftovers "oci cli"
finish
