#!/usr/bin/env bash
# OCI runtime CLI (`chuted oci`): lifecycle, exit codes, isolation, the
# process settings of config.json, user namespaces, bad configs, leftovers.
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
chmod 755 "$T_DIR" # a user-namespaced init must reach the rootfs
check "oci spec writes config.json" chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
check_fails "oci spec refuses to overwrite" chuted oci spec --bundle "$B"

# cfg JQ: config.json = pristine spec with JQ applied
cfg() { jq "$1" "$T_DIR/config.orig" > "$B/config.json"; }
args() { cfg ".process.args = $1 ${2:+| $2}"; }
STATE=$T_RUNROOT/oci
N=0
# run_c ARGS_JSON [JQ]: run in the foreground, output in $OUT, exit code in $RC
run_c() {
  N=$((N + 1)); args "$1" "${2:-}"
  OUT=$(timeout 20 "$CHUTED" oci run --bundle "$B" "chuted-test-r$N" 2>&1); RC=$?
}
state_of() { "$CHUTED" oci state "$1" 2>/dev/null | jq -r .status; }

# --- lifecycle
args '["sleep", "60"]'
check "create" sh -c "'$CHUTED' oci create --bundle '$B' --pid-file '$T_DIR/pid' chuted-test-a >/dev/null 2>'$T_DIR/create.err'"
eq "state after create" "$(state_of chuted-test-a)" created
PID=$(cat "$T_DIR/pid" 2>/dev/null)
eq "pid file = state pid" "$PID" "$("$CHUTED" oci state chuted-test-a | jq -r .pid)"
eq "init in its cgroup" "$(grep -c "$T_CGPARENT/chuted-test-a" "/proc/$PID/cgroup" 2>/dev/null | awk '$1>0{print "yes"}')" yes
OUT=$("$CHUTED" oci create --bundle "$B" chuted-test-a 2>&1 </dev/null >/dev/null)
eq "create of an existing id fails" "$OUT" 'chuted: container `chuted-test-a` already exists: File exists'
eq "and leaves the existing one alone" "$(state_of chuted-test-a)" created
OUT=$("$CHUTED" oci delete chuted-test-a 2>&1); RC=$?
eq "delete of a created container without --force fails (runtime.md: not stopped)" "$RC:$OUT" \
  '1:chuted: container `chuted-test-a` is created, not stopped: kill it first or use --force'
eq "and has no effect on it" "$(state_of chuted-test-a)" created
check_fails "start of an unknown id fails" chuted oci start chuted-test-none
check "start" chuted oci start chuted-test-a
eq "state after start" "$(state_of chuted-test-a)" running
check_fails "start twice fails" chuted oci start chuted-test-a
check_fails "delete of a running container without --force fails" chuted oci delete chuted-test-a
check "kill KILL" chuted oci kill chuted-test-a KILL
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-a | jq -r .status)\" = stopped ]"
eq "state after kill" "$(state_of chuted-test-a)" stopped
check "delete" chuted oci delete chuted-test-a
check_fails "state dir removed" test -e "$STATE/chuted-test-a"
no_leftovers "lifecycle"

# delete --force of a running one, kill --all
args '["sh", "-c", "sleep 60 & sleep 60"]'
"$CHUTED" oci create --bundle "$B" chuted-test-b >/dev/null 2>&1
chuted oci start chuted-test-b
check "kill --all" chuted oci kill --all chuted-test-b KILL
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-b | jq -r .status)\" = stopped ]"
eq "kill --all stops the init" "$(state_of chuted-test-b)" stopped
chuted oci delete chuted-test-b
args '["sleep", "60"]'
"$CHUTED" oci create --bundle "$B" chuted-test-c >/dev/null 2>&1
chuted oci start chuted-test-c
check "delete --force of a running container" chuted oci delete --force chuted-test-c
check_fails "forced delete removes the state" test -e "$STATE/chuted-test-c"
no_leftovers "delete --force"

# --- exit codes and error lines
run_c '["/bin/true"]'; eq "run /bin/true exits 0" "$RC" 0
run_c '["sh", "-c", "exit 7"]'; eq "run exit 7" "$RC" 7
args '["sh", "-c", "trap \"exit 42\" TERM; sleep 60 & wait"]'
"$CHUTED" oci run --bundle "$B" chuted-test-sig >/dev/null 2>&1 & RUNPID=$!
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-sig | jq -r .status)\" = running ]"
sleep 0.2
kill -TERM $RUNPID
wait $RUNPID; eq "run forwards SIGTERM to the container" "$?" 42
args '["sleep", "60"]'
( timeout 20 "$CHUTED" oci run --bundle "$B" chuted-test-k >/dev/null 2>&1; echo $? > "$T_DIR/k.rc" ) &
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-k | jq -r .status)\" = running ]"
chuted oci kill chuted-test-k KILL
wait
eq "killed init: run exits 128+9" "$(cat "$T_DIR/k.rc")" 137
run_c '["/nope"]'; eq "missing program exits 127" "$RC" 127
eq "missing program message" "$OUT" 'chuted: exec "/nope": No such file or directory'
run_c '["/etc/passwd"]'; eq "non-executable exits 126" "$RC" 126
eq "non-executable message" "$OUT" 'chuted: exec "/etc/passwd": Permission denied'
run_c '["nope-in-path"]'; eq "PATH lookup miss exits 127" "$RC" 127
check_fails "no state left by failed runs" sh -c "ls '$STATE' | grep -q ."
no_leftovers "exec failures"

# --- isolation
run_c '["sh", "-c", "echo $$"]'; eq "init is pid 1" "$OUT" 1
run_c '["hostname"]' '.hostname = "chuted-test-host"'; eq "own hostname" "$OUT" chuted-test-host
run_c '["cat", "/proc/mounts"]'
if echo "$OUT" | grep -qE " /work| /tmp| /run| /var| $T_DIR"; then fail "host mounts visible: $(echo "$OUT" | head -3)"; else pass "host mounts not visible"; fi
eq "rootfs is / inside" "$(echo "$OUT" | awk '$2 == "/" {print "yes"}' | head -1)" yes
run_c '["sh", "-c", "echo /proc/[0-9]*"]'; eq "only our process in /proc" "$OUT" /proc/1
run_c '["ls", "/sys/class/net"]'; eq "own network namespace (lo only)" "$OUT" lo
run_c '["sh", "-c", "ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/shm /dev/mqueue /dev/pts /dev/fd/ >/dev/null && echo ok"]'
eq "/dev populated" "$OUT" ok
run_c '["sh", "-c", "touch /x 2>&1; echo $?"]'
eq "readonly root" "$(echo "$OUT" | tail -1)" 1

# --- process settings
run_c '["sh", "-c", "ulimit -n; cat /proc/self/oom_score_adj; cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/shmmni; echo $FOO; pwd; id -u; id -g; id -G; umask"]' \
  '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888}] | .process.oomScoreAdj = 345 | .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"} | .process.env += ["FOO=bar baz"] | .process.cwd = "/tmp" | .process.user = {"uid": 65534, "gid": 65534, "additionalGids": [12], "umask": 63}'
set -- $OUT
eq "rlimit applied" "${1:-}" 777
eq "oom_score_adj applied" "${2:-}" 345
eq "net sysctl applied" "${3:-}" 1
eq "ipc sysctl applied" "${4:-}" 1234
eq "env applied" "${5:-} ${6:-}" "bar baz"
eq "cwd applied" "${7:-}" /tmp
eq "uid applied" "${8:-}" 65534
eq "gid applied" "${9:-}" 65534
eq "additional gids applied" "${10:-} ${11:-}" "65534 12"
eq "umask applied" "${12:-}" 0077
run_c '["sh", "-c", "echo $HOME"]' '.process.user = {"uid": 65534, "gid": 65534}'
eq "HOME from the rootfs's /etc/passwd" "$OUT" /
run_c '["true"]' '.linux.sysctl = {"kernel.panic": "1"}'
eq "host-wide sysctl refused" "$RC $(echo "$OUT" | grep -c 'not namespaced')" "1 1"

# --- masked and readonly paths
run_c '["sh", "-c", "cat /proc/keys 2>/dev/null | wc -c; ls /sys/firmware | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null; echo $?"]'
set -- $OUT
eq "/proc/keys masked" "${1:-}" 0
eq "/sys/firmware masked" "${2:-}" 0
eq "/proc/sys read-only" "${3:-}" 1

# --- user namespace
MAP=$((200000 + RANDOM))
USERNS='.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": '$MAP', "size": 65536}] | .linux.gidMappings = [{"containerID": 0, "hostID": '$MAP', "size": 65536}]'
run_c '["sh", "-c", "id -u; cat /proc/self/uid_map"]' "$USERNS"
set -- $OUT
eq "user ns: uid 0 inside" "${1:-}" 0
eq "user ns: mapped to $MAP" "${3:-}" "$MAP"
args '["sleep", "60"]' "$USERNS"
"$CHUTED" oci create --bundle "$B" --pid-file "$T_DIR/pid2" chuted-test-u >/dev/null 2>&1
P2=$(cat "$T_DIR/pid2" 2>/dev/null)
eq "user ns: unprivileged uid outside" "$(awk '/^Uid:/ {print $2}' "/proc/$P2/status" 2>/dev/null)" "$MAP"
chuted oci delete --force chuted-test-u
no_leftovers "user namespace"

# --- joined network namespace (the chute case)
NS=chuted-test-ns$$
ip netns add "$NS"
ip -n "$NS" link add chuted-test-d0 type veth peer name chuted-test-d1
run_c '["ls", "/sys/class/net"]' '(.linux.namespaces[] | select(.type == "network")) |= {"type": "network", "path": "/run/netns/'$NS'"}'
eq "joined netns is used" "$(echo "$OUT" | tr '\n' ' ')" "chuted-test-d0 chuted-test-d1 lo "
ip netns del "$NS"

# --- exec
args '["sleep", "60"]'
"$CHUTED" oci create --bundle "$B" chuted-test-e >/dev/null 2>&1
chuted oci start chuted-test-e
OUT=$(chuted oci exec --env FOO=x --cwd /tmp --user 65534 chuted-test-e -- sh -c 'echo $FOO $(pwd) $(id -u) $$; exit 3' 2>&1); RC=$?
eq "exec: env cwd user, inside the pid ns" "$OUT" "x /tmp 65534 2"
eq "exec: exit code" "$RC" 3
OUT=$(chuted oci exec chuted-test-e -- /nope 2>&1); RC=$?
eq "exec: missing program" "$RC $OUT" '127 chuted: exec "/nope": No such file or directory'
chuted oci delete --force chuted-test-e
no_leftovers "exec"

# --- cgroup resources from linux.resources
args '["sleep", "60"]' '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
"$CHUTED" oci create --bundle "$B" chuted-test-cg >/dev/null 2>&1
CG=$(find /sys/fs/cgroup/memory /sys/fs/cgroup -maxdepth 3 -type d -path "*$T_CGPARENT/chuted-test-cg" 2>/dev/null | head -1)
MEM=$(cat /sys/fs/cgroup/memory/$T_CGPARENT/chuted-test-cg/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/$T_CGPARENT/chuted-test-cg/memory.max 2>/dev/null)
eq "memory limit applied to the cgroup" "$MEM" 67108864
PIDS=$(cat /sys/fs/cgroup/pids/$T_CGPARENT/chuted-test-cg/pids.max 2>/dev/null || cat /sys/fs/cgroup/$T_CGPARENT/chuted-test-cg/pids.max 2>/dev/null)
eq "pids limit applied to the cgroup" "$PIDS" 42
chuted oci delete --force chuted-test-cg
check_fails "cgroup removed by delete" test -d "$CG"

# --- the monitor's flags: --clone-parent, --err-fd, --cgroup-parent
args '["/nope"]'
sh -c "'$CHUTED' --run-root '$T_RUNROOT' oci create --bundle '$B' --clone-parent --err-fd 3 --cgroup-parent $T_CGPARENT-mon chuted-test-m 3>'$T_DIR/errfd' >/dev/null 2>&1"
# the init's report comes first; the creator may add its own after it
eq "--err-fd gets \"error CODE MESSAGE\"" "$(head -1 "$T_DIR/errfd")" 'error 127 exec "/nope": No such file or directory'
args '["sleep", "60"]'
sh -c "'$CHUTED' oci create --bundle '$B' --clone-parent --err-fd 3 --pid-file '$T_DIR/mpid' --cgroup-parent $T_CGPARENT-mon chuted-test-m 3>'$T_DIR/errfd' >/dev/null 2>&1; echo \$\$ > '$T_DIR/shpid'; sleep 1" &
wait_for 50 test -s "$T_DIR/shpid"
MP=$(cat "$T_DIR/mpid" 2>/dev/null)
eq "--clone-parent: the init is the caller's parent's child" "$(awk '/^PPid:/ {print $2}' "/proc/$MP/status" 2>/dev/null)" "$(cat "$T_DIR/shpid")"
eq "--cgroup-parent used" "$(grep -c "$T_CGPARENT-mon/chuted-test-m" "/proc/$MP/cgroup" 2>/dev/null | awk '$1>0{print "yes"}')" yes
wait
chuted oci delete --force chuted-test-m
no_leftovers "monitor flags"
for h in /sys/fs/cgroup/*/"$T_CGPARENT-mon" /sys/fs/cgroup/"$T_CGPARENT-mon"; do [ -d "$h" ] && rmdir "$h"; done

# --- terminal: the pty master arrives over the console socket
# console_server SOCK OUT: accept one console-socket connection, take the
# pty master (SCM_RIGHTS), copy what it carries to OUT until the pty closes.
console_server() {
  rm -f "$1"
  python3 - "$1" > "$2" 2>&1 <<'PY' &
import array, os, socket, sys
# listening before the name appears: a client never meets a bound, not yet listening socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1] + ".new"); s.listen(1)
os.rename(sys.argv[1] + ".new", sys.argv[1])
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(256, socket.CMSG_SPACE(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode().replace("\r", ""))
PY
  PY=$!
  wait_for 50 test -S "$1"
}
if command -v python3 >/dev/null; then
  SOCK=$T_DIR/console.sock
  console_server "$SOCK" "$T_DIR/console.out"
  args '["sh", "-c", "tty; echo on-the-pty"]' '.process.terminal = true'
  "$CHUTED" oci create --bundle "$B" --console-socket "$SOCK" chuted-test-t >/dev/null 2>&1
  chuted oci start chuted-test-t
  wait $PY
  eq "terminal: the init's stdio is a pty in its devpts" "$(head -1 "$T_DIR/console.out")" /dev/pts/0
  eq "terminal: output reaches the console socket holder" "$(sed -n 2p "$T_DIR/console.out")" on-the-pty
  wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-t | jq -r .status)\" = stopped ]"
  chuted oci delete chuted-test-t
  OUT=$("$CHUTED" oci run --bundle "$B" chuted-test-t2 2>&1)
  eq "terminal without a console socket: refused" "$OUT" "chuted: process.terminal is set but there is no console socket to send the terminal to"
  args '["sleep", "60"]'
  "$CHUTED" oci create --bundle "$B" chuted-test-t3 >/dev/null 2>&1
  chuted oci start chuted-test-t3
  console_server "$SOCK" "$T_DIR/console2.out"
  "$CHUTED" oci exec --tty --console-socket "$SOCK" chuted-test-t3 -- sh -c 'tty; echo exec-pty; exit 5'; RC=$?
  wait $PY
  eq "exec --tty: exit code" "$RC" 5
  eq "exec --tty: a pty of the container, output to the console socket" "$(tr '\n' ' ' < "$T_DIR/console2.out")" "/dev/pts/0 exec-pty "
  chuted oci delete --force chuted-test-t3
else
  skip "terminal: no python3 for the console socket"
fi

# --- rootless spec runs as is (user namespace, no network namespace)
mkdir -p "$T_DIR/rl" && ln -s "$B/rootfs" "$T_DIR/rl/rootfs"
check "oci spec --rootless" chuted oci spec --rootless --bundle "$T_DIR/rl"
jq '.process.args = ["id", "-u"] | .root.path = "'"$B/rootfs"'"' "$T_DIR/rl/config.json" > "$T_DIR/rl/c" && mv "$T_DIR/rl/c" "$T_DIR/rl/config.json"
OUT=$("$CHUTED" oci run --bundle "$T_DIR/rl" chuted-test-rl 2>&1)
eq "rootless spec runs" "$OUT" 0
no_leftovers "terminal and rootless"

# --- bad configs: one line naming the key, non-zero exit, nothing left
bad() { # DESC JQ WANT
  N=$((N + 1)); cfg "$2"
  OUT=$("$CHUTED" oci run --bundle "$B" "chuted-test-bad$N" 2>&1); RC=$?
  if [ "$RC" -ne 0 ] && [ "$OUT" = "chuted: $3" ]; then pass "bad config: $1"; else fail "bad config: $1 (rc $RC, got '$OUT', want 'chuted: $3')"; fi
  [ -e "$STATE/chuted-test-bad$N" ] && fail "bad config: $1: state dir left"
}
bad "unknown namespace" '.linux.namespaces[2].type = "foo"' 'config.json: linux.namespaces[2].type: unknown namespace "foo"'
bad "unknown rlimit" '.process.rlimits[0].type = "RLIMIT_FOO"' 'config.json: process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`'
bad "relative cwd" '.process.cwd = "tmp"' 'config.json: process.cwd: must be an absolute path, not `tmp`'
bad "wrong type" '.process.args = "sh"' 'config.json: process.args: must be an array, not a string'
bad "wrong type in array" '.process.env = ["A=1", 2]' 'config.json: process.env[1]: must be a string, not an integer'
bad "missing root" 'del(.root)' 'config.json: root: missing'
bad "unknown seccomp action" '.linux.seccomp.syscalls[0].action = "SCMP_ACT_FOO"' 'config.json: linux.seccomp.syscalls[0].action: unknown action `SCMP_ACT_FOO`'
bad "oomScoreAdj range" '.process.oomScoreAdj = 5000' 'config.json: process.oomScoreAdj: 5000 is outside -1000..1000'
bad "bad mount source (init-side failure)" '.process.args = ["true"] | .mounts += [{"destination": "/mnt", "type": "bind", "source": "/nonexistent-chuted-test", "options": ["rbind"]}]' 'mounts[7]: bind source `/nonexistent-chuted-test`: No such file or directory'
no_leftovers "bad configs"
check_fails "no state dirs left at all" sh -c "ls '$STATE' | grep -q ."
finish
