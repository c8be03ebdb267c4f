#!/usr/bin/env bash
# chuted run/ps/logs/exec/inspect/stop/start/rm with real chutes on this host.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)

# detached run, ps, exec, inspect
check "run -d" chuted run -d --name web --net none --rootfs "$R" -- /bin/sh -c 'echo hello-out; echo hello-err >&2; exec sleep 1000'
eq "ps shows it running" "$(chuted ps | awk '$1=="web"{print $2}')" running
ps_json=$(chuted ps --json)
pid=$(echo "$ps_json" | python3 -c 'import json,sys; print([c for c in json.load(sys.stdin) if c["name"]=="web"][0]["pid"])')
if [ "$pid" -gt 1 ] && kill -0 "$pid" 2>/dev/null; then pass "ps --json gives a live pid"; else fail "ps --json pid '$pid'"; fi
wait_for 30 sh -c "'$CHUTED' logs web | grep -q hello-err"
eq "logs: stdout" "$(chuted logs web 2>/dev/null)" hello-out
eq "logs: stderr" "$(chuted logs web 2>&1 >/dev/null)" hello-err
eq "exec: pid 1 is the chute's init" "$(chuted exec web -- /bin/sh -c 'cat /proc/1/cmdline | tr "\0" " "')" "sleep 1000 "
eq "exec: hostname" "$(chuted exec web -- hostname)" web
eq "exec: exit code" "$(chuted exec web -- sh -c 'exit 3'; echo $?)" 3
insp=$(chuted inspect web)
eq "inspect: running" "$(echo "$insp" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"]["running"])')" True
check "inspect: cgroup paths" sh -c "echo '$insp' | grep -q '$T_CGPARENT/web'"

# stop within the timeout (sleep ignores nothing: SIGTERM as pid 1 is ignored by default → SIGKILL after -t)
t0=$(date +%s%N)
check "stop -t 1" chuted stop -t 1 web
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
# what -t means, not a speed check: at least its 1 s before the SIGKILL, and
# under the default 10 s a stop that ignored -t would wait (a loaded VM under
# TCG has taken 5 s for this one)
if [ $ms -ge 900 ] && [ $ms -lt 9500 ]; then pass "stop: SIGKILL after the timeout (${ms} ms)"; else fail "stop took ${ms} ms"; fi
eq "ps -a: exited" "$(chuted ps -a | awk '$1=="web"{print $2}')" "exited(137)"
check "pid gone" sh -c "! kill -0 $pid 2>/dev/null"
check "start again" chuted start web
eq "running after start" "$(chuted ps | awk '$1=="web"{print $2}')" running
check_fails "rm refuses a running chute" chuted rm web
check "rm -f" chuted rm -f web
eq "gone from ps -a" "$(chuted ps -a -q)" ""

# attached run: exit code, output, --rm
out=$(chuted run --rm --net none --rootfs "$R" -- /bin/sh -c 'echo attached; exit 7'); rc=$?
eq "attached run: exit code" "$rc" 7
eq "attached run: output" "$out" attached
eq "--rm removed it" "$(chuted ps -a -q)" ""
out=$(echo piped-in | chuted run --rm -i --net none --rootfs "$R" -- /bin/cat)
eq "run -i: stdin reaches the chute" "$out" piped-in
out=$(chuted run --rm -e FOO=bar -w /tmp -u nobody --net none --rootfs "$R" -- /bin/sh -c 'echo $FOO $(pwd) $(id -u)')
eq "env, workdir, user" "$out" "bar /tmp 65534"

# -t: a pty inside the chute, attached to ours (script(1) gives us one)
out=$(CHUTED_ROOT=$T_ROOT script -qec "'$CHUTED' run --rm -t --net none --rootfs '$R' -- /bin/sh -c 'tty; exit 4'" /dev/null | tr -d '\r'); rc=$?
eq "run -t: the chute's stdio is its own pty" "$out" /dev/pts/0
out=$(printf 'echo typed-$((6*7))\rexit 3\r' | CHUTED_ROOT=$T_ROOT script -qec "'$CHUTED' run --rm -it --net none --rootfs '$R' -- /bin/sh" /dev/null | tr -d '\r')
if echo "$out" | grep -q typed-42; then pass "run -it: typed input reaches the chute's shell"; else fail "run -it: $out"; fi
eq "run -t: nothing kept" "$(chuted ps -a -q)" ""

# --rm in the foreground: the client removes the chute itself once it ended
# (the monitor leaves that to it); a client that dies just then leaves an
# exited --rm chute, which the next command's reaper removes
"$CHUTED" run --rm --name chuted-test-orphan --net none --rootfs "$R" -- /bin/sh -c 'sleep 1' & CLI=$!
wait_for 100 test -e "$T_RUNROOT/chutes/chuted-test-orphan/init.pid"
kill -STOP $CLI
wait_for 100 sh -c "'$CHUTED' ps -a | grep chuted-test-orphan | grep -q exited"
kill -9 $CLI; wait $CLI 2>/dev/null
eq "an exited --rm chute whose client died is reaped by the next command" "$(chuted ps -a -q)" ""
no_leftovers "reaped --rm chute"
# a client killed while its --rm chute runs: the monitor removes it at the end
"$CHUTED" run --rm --name chuted-test-orphan --net none --rootfs "$R" -- /bin/sh -c 'sleep 1' & CLI=$!
wait_for 100 test -e "$T_RUNROOT/chutes/chuted-test-orphan/init.pid"
kill -9 $CLI; wait $CLI 2>/dev/null
check "a --rm chute whose client was killed is removed by its monitor" \
  wait_for 100 sh -c "test -z \"\$('$CHUTED' ps -a -q)\""
no_leftovers "--rm chute of a killed client"

# errors reach the user
out=$(chuted run --net none --rootfs "$R" -- /nope 2>&1); rc=$?
eq "exec /nope: exit 127" "$rc" 127
eq "exec /nope: message" "$out" 'chuted: exec "/nope": No such file or directory'
eq "exec /nope: no chute kept" "$(chuted ps -a -q)" ""
no_leftovers "exec /nope"
out=$(chuted run --net none --rootfs "$R" -- /etc/passwd 2>&1); rc=$?
eq "exec non-executable: exit 126" "$rc" 126
out=$(chuted run --rootfs /does/not/exist -- /bin/true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q '/does/not/exist'; then pass "bad rootfs: one clear line"; else fail "bad rootfs: rc=$rc out=$out"; fi
out=$(chuted run --memory lots --rootfs "$R" -- /bin/true 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q -- '--memory'; then pass "bad --memory: one line naming it"; else fail "bad --memory: rc=$rc out=$out"; fi
out=$(chuted run --restart sometimes --rootfs "$R" -- /bin/true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'restart'; then pass "bad --restart rejected"; else fail "bad --restart: $out"; fi
check "duplicate name: first" chuted run -d --name dup --net none --rootfs "$R" -- sleep 100
out=$(chuted run -d --name dup --net none --rootfs "$R" -- sleep 100 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'already exists'; then pass "duplicate name refused"; else fail "duplicate name: $out"; fi
check "rm -f dup" chuted rm -f dup
no_leftovers "error cases"

# logs are capped and rotated
check "log rotation run" chuted run --name logger --net none --log-max 20k --rootfs "$R" -- /bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done'
d=$T_RUNROOT/chutes/logger
sz=$(stat -c %s "$d/ctr.log"); sz1=$(stat -c %s "$d/ctr.log.1" 2>/dev/null || echo 0)
if [ "$sz" -le 20480 ] && [ "$sz1" -gt 0 ] && [ "$sz1" -le 20480 ]; then pass "log capped at 20k and rotated ($sz, $sz1)"; else fail "log sizes $sz $sz1"; fi
eq "logs --tail 1" "$(chuted logs --tail 1 logger)" line-1999
check "rm logger" chuted rm logger

# restart policy: on-failure:2 → 3 runs in all; always; no
check "on-failure:2" chuted run -d --name flaky --net none --restart on-failure:2 --rootfs "$R" -- /bin/sh -c 'echo run; exit 3'
wait_for 100 sh -c "'$CHUTED' inspect flaky | grep -q '\"state\": \"exited\"'"
eq "on-failure:2 ran 3 times" "$(chuted logs flaky | grep -c run)" 3
eq "restarts recorded" "$(chuted inspect flaky | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["state"]; print(s["restarts"], s["exit_code"])')" "2 3"
check "rm flaky" chuted rm flaky
check "always" chuted run -d --name always --net none --restart always --rootfs "$R" -- /bin/sh -c 'echo run; exit 0'
wait_for 100 sh -c "[ \$('$CHUTED' logs always | grep -c run) -ge 3 ]"
check "always restarts on success too" sh -c "[ \$('$CHUTED' logs always | grep -c run) -ge 3 ]"
check "stop ends the always loop" chuted stop -t 1 always
n1=$(chuted logs always | grep -c run); sleep 1; n2=$(chuted logs always | grep -c run)
eq "no restart after stop" "$n2" "$n1"
check "rm always" chuted rm always

# the monitor survives the CLI and holds the chute
check "monitor run" chuted run -d --name held --net none --rootfs "$R" -- sleep 1000
mp=$(python3 -c 'import json; print(json.load(open("'"$T_RUNROOT"'/chutes/held/status.json"))["monitor_pid"])')
ip=$(python3 -c 'import json; print(json.load(open("'"$T_RUNROOT"'/chutes/held/status.json"))["pid"])')
eq "init is the monitor's child" "$(awk '{print $4}' /proc/$ip/stat)" "$mp"
# double-forked after setsid: a session of its own, not ours, and not a session leader
msid=$(ps -o sid= -p "$mp" | tr -d ' ')
if [ "$msid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] && [ "$msid" != "$mp" ]; then pass "monitor detached from our session"; else fail "monitor session $msid"; fi
check "rm -f held" chuted rm -f held

# concurrent commands never corrupt state
for i in 1 2 3 4 5 6; do chuted run -d --name "c$i" --net none --rootfs "$R" -- sleep 1000 >/dev/null 2>&1 & done; wait
eq "6 concurrent runs" "$(chuted ps -q | wc -l)" 6
for i in 1 2 3 4 5 6; do chuted rm -f "c$i" >/dev/null 2>&1 & done; wait
eq "6 concurrent rm" "$(chuted ps -a -q | wc -l)" 0
# names: one rule (mgmt/chute.c), checked by every command before it acts
out=$(chuted run --name 'a..b' --net none --rootfs "$R" -- true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q '`..` is not allowed'; then pass "name a..b refused by the name check"; else fail "name a..b: rc=$rc out=$out"; fi
out=$(chuted run --name "$(printf 'a\nb')" --net none --rootfs "$R" -- true 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -qF 'a\nb'; then pass "name with a newline: one line, escaped"; else fail "name with a newline: rc=$rc out=$out"; fi
# state planted outside the root (RUN_ROOT/chutes/../../x = T_DIR/x) naming a
# host process: kill and exec must refuse the name, never act on it
# (a bash named like a monitor: busybox's sleep, as in the VM, would take the
# name for an applet's and exit at once)
bash -c 'exec -a chuted-monitor bash -c "while :; do sleep 1; done"' & VICTIM=$!
sleep 0.2
mkdir -p "$T_DIR/x"
echo "{\"state\": \"running\", \"monitor_pid\": $VICTIM, \"pid\": $VICTIM}" > "$T_DIR/x/status.json"
echo "{\"ociVersion\": \"1.0.2\", \"id\": \"x\", \"bundle\": \"$T_DIR/x\", \"pid\": $VICTIM, \"chuted.startTime\": $(awk '{print $22}' /proc/$VICTIM/stat)}" > "$T_DIR/x/state.json"
for cmd in "kill ../../x" "kill -s TERM ../../x" "exec ../../x -- /bin/touch $T_DIR/pwned" "inspect ../../x" "logs ../../x" "stop ../../x" "rm -f ../../x" "update --memory 64M ../../x" "start ../../x"; do
  out=$(chuted $cmd 2>&1); rc=$?
  if [ $rc -ne 0 ] && echo "$out" | grep -q 'chute name `../../x`'; then pass "$cmd: refused by the name check"; else fail "$cmd: rc=$rc out=$out"; fi
done
if kill -0 $VICTIM 2>/dev/null; then pass "the planted state's process was not signalled"; else fail "kill ../../x killed a host process"; fi
check_fails "exec ../../x ran nothing" test -e "$T_DIR/pwned"
check "planted state untouched" test -f "$T_DIR/x/state.json"
kill $VICTIM 2>/dev/null; wait $VICTIM 2>/dev/null
rm -rf "$T_DIR/x"

# user ids: the whole range checked (4294967296 wrapped to 0: root)
out=$(chuted run --rm --net none -u 4294967296 --rootfs "$R" -- id -u 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'out of range'; then pass "-u 4294967296 refused"; else fail "-u 4294967296: rc=$rc out=$out"; fi
eq "-u 4294967296: no chute kept" "$(chuted ps -a -q)" ""
check "run uid" chuted run -d --name uid --net none --rootfs "$R" -- sleep 1000
out=$(chuted exec -u 4294967296 uid -- id -u 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'out of range'; then pass "exec -u 4294967296 refused"; else fail "exec -u 4294967296: rc=$rc out=$out"; fi
out=$(chuted exec -u 0:4294967296 uid -- id -g 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'out of range'; then pass "exec -u 0:4294967296 refused"; else fail "exec -u 0:4294967296: rc=$rc out=$out"; fi
eq "exec -u 65534 still works" "$(chuted exec -u 65534 uid -- id -u 2>&1)" 65534
check "rm -f uid" chuted rm -f uid
eq "-u 65534:65534 still runs" "$(chuted run --rm --net none -u 65534:65534 --rootfs "$R" -- id -u 2>&1)" 65534

# rootfs: a file is not a directory; a directory given as the image hints --rootfs
out=$(chuted run --rootfs /etc/passwd -- true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'Not a directory' && ! echo "$out" | grep -q 'No such file'; then pass "--rootfs FILE: not a directory"; else fail "--rootfs FILE: rc=$rc out=$out"; fi
out=$(cd "$(dirname "$R")" && "$CHUTED" run "./$(basename "$R")" true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q -- "give --rootfs ./$(basename "$R")"; then pass "run ./DIR hints --rootfs"; else fail "run ./DIR: rc=$rc out=$out"; fi
eq "bad rootfs: no chute kept" "$(chuted ps -a -q)" ""

# a start that fails and whose undoing fails too says both (it was silent)
RB=$T_RUNROOT/chutes/rb
mkdir -p "$RB/monitor.json/x" "$RB/bundle/sub"; touch "$RB/bundle/sub/f"
if command -v chattr >/dev/null && chattr +i "$RB/bundle/sub/f" 2>/dev/null; then
  out=$(chuted run -d --name rb --net none --rootfs "$R" -- /bin/true 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q 'monitor.json.*(and undoing the start failed: .*Operation not permitted)'; then
    pass "a failed rollback is reported"; else fail "failed rollback: rc=$rc out=$out"; fi
  chattr -i "$RB/bundle/sub/f"
else skip "failed rollback: no chattr +i here"; fi
rm -rf "$RB/monitor.json"
chuted rm -f rb >/dev/null 2>&1; rm -rf "$RB"
eq "failed rollback: cleaned up" "$(chuted ps -a -q)" ""

# chuted's own state is 0700
rm -rf "$T_DIR/fresh"
CHUTED_ROOT=$T_DIR/fresh/root "$CHUTED" images >/dev/null 2>&1
eq "a root the image store makes is 0700" "$(stat -c %a "$T_DIR/fresh/root") $(stat -c %a "$T_DIR/fresh/root/images")" "700 700"
rm -rf "$T_DIR/fresh"
CHUTED_ROOT=$T_DIR/fresh/root CHUTED_RUN_ROOT=$T_DIR/fresh/run "$CHUTED" run --rm --net none --rootfs "$R" -- true >/dev/null 2>&1
eq "a root and run root chuted run makes are 0700" "$(stat -c %a "$T_DIR/fresh/root") $(stat -c %a "$T_DIR/fresh/run")" "700 700"
rm -rf "$T_DIR/fresh"

# the compiled seccomp filter is kept under the root, not the run root (a
# tmpfs on an AP): after a reboot the chutes' starts find it
F=$T_DIR/fresh
CHUTED_ROOT=$F/root CHUTED_RUN_ROOT=$F/run "$CHUTED" run --rm --net none --rootfs "$R" -- true >/dev/null 2>&1
bpf=$(ls "$F"/root/cache/seccomp/*.bpf 2>/dev/null)
eq "seccomp: one compiled filter kept under the root" "$(echo "$bpf" | grep -c .)" 1
eq "...beside its profile, root only" "$(ls "$F"/root/cache/seccomp/*.json 2>/dev/null | wc -l) $(stat -c %a "$F/root/cache/seccomp")" "1 700"
eq "...none in the run root" "$(find "$F/run" -name '*.bpf' | wc -l)" 0
rm -rf "$F/run"; before=$(stat -c %Y.%i "$bpf")
CHUTED_ROOT=$F/root CHUTED_RUN_ROOT=$F/run "$CHUTED" run --rm --net none --rootfs "$R" -- true >/dev/null 2>&1
eq "...a run after the run root is gone uses it, not a new one" "$(stat -c %Y.%i "$bpf") $(ls "$F"/root/cache/seccomp/*.bpf | wc -l)" "$before 1"
refused_line=$("$CHUTED" oci create --seccomp-cache rel/dir --bundle "$F" chuted-test-sc 2>&1)
check "oci create --seccomp-cache RELATIVE refused" grep -q "seccomp-cache \`rel/dir\`: not an absolute path" <<<"$refused_line"
rm -rf "$F"
no_leftovers "lifecycle"
finish
