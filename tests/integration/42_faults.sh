#!/usr/bin/env bash
# Faults that used to lose or wedge a chute: its monitor killed, a client that
# stops reading, `chuted run` killed mid-start, a log flood, hostile config files.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)
st() { python3 -c "import json,sys; print(json.load(open('$T_RUNROOT/chutes/$1/status.json')).get('$2'))"; }
# alive PID: a process, not a zombie waiting for whoever inherited it
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
status_of() { chuted ps -a | awk -v n="$1" '$1==n{print $2}'; }

# --- kill -9 of a chute's monitor -------------------------------------------
check "run -d (restart no)" chuted run -d --name chuted-test-m1 --net none --rootfs "$R" -- /bin/sleep 1000
check "run -d (restart always)" chuted run -d --name chuted-test-m2 --restart always --net none --rootfs "$R" -- /bin/sleep 1000
p1=$(st chuted-test-m1 pid); m1=$(st chuted-test-m1 monitor_pid)
p2=$(st chuted-test-m2 pid); m2=$(st chuted-test-m2 monitor_pid)
kill -9 "$m1" "$m2"
wait_for 50 sh -c "! kill -0 $m1 && ! kill -0 $m2"
eq "ps after the monitor died: the chute without a restart policy exited (killed)" "$(status_of chuted-test-m1)" "exited(137)"
if alive "$p1"; then fail "its init was left running"; else pass "its init was killed, not left running"; fi
eq "its state says why" "$(st chuted-test-m1 reason)" "the monitor died; the chute was killed"
eq "the --restart always chute runs again" "$(status_of chuted-test-m2)" running
p2b=$(st chuted-test-m2 pid)
if [ "$p2b" != "$p2" ] && ! alive "$p2" && alive "$p2b"; then pass "under a new init"; else fail "under a new init ($p2 -> $p2b)"; fi
eq "its state says why and counts the restart" "$(st chuted-test-m2 reason) $(st chuted-test-m2 restarts)" \
  "the monitor died; the chute was killed and restarted 1"
eq "exec reaches the restarted chute" "$(chuted exec chuted-test-m2 -- echo alive)" alive
check "stop -t 1 stops it" chuted stop -t 1 chuted-test-m2
eq "stopped: stays stopped" "$(status_of chuted-test-m2)" "exited(137)"
check "rm -f both" chuted rm -f chuted-test-m1 chuted-test-m2
no_leftovers "monitor killed"

# --- a foreground client that stops reading ---------------------------------
# its stdout is a pipe nobody reads: the client stalls, then its socket; the
# monitor drops it rather than stall with it, so stop and rm still work
{ "$CHUTED" run --name chuted-test-slow --net none --rootfs "$R" -- /bin/yes; echo $? > "$T_DIR/slow.rc"; } | sleep 1000 &
READER=$!
wait_for 100 test -e "$T_RUNROOT/chutes/chuted-test-slow/init.pid"
wait_for 100 grep -q "reads too slowly" "$T_RUNROOT/chutes/chuted-test-slow/monitor.err"
check "the monitor dropped the stalled client" grep -q "reads too slowly" "$T_RUNROOT/chutes/chuted-test-slow/monitor.err"
check "stop -t 2 with a client that stopped reading" chuted stop -t 2 chuted-test-slow
check "rm -f" chuted rm -f chuted-test-slow
kill "$READER"; wait "$READER" 2>/dev/null
wait_for 50 test -s "$T_DIR/slow.rc"
if [ "$(cat "$T_DIR/slow.rc" 2>/dev/null)" != 0 ]; then pass "the dropped client exits non-zero"; else fail "the dropped client exited 0"; fi
no_leftovers "stalled client"
# a chute that never reads the stdin its client pours in: the monitor keeps
# the data pending instead of blocking in write(2)
head -c 20000000 /dev/zero | "$CHUTED" run -i --name chuted-test-deaf --net none --rootfs "$R" -- /bin/sleep 1000 >/dev/null 2>&1 &
DEAF=$!
wait_for 100 test -e "$T_RUNROOT/chutes/chuted-test-deaf/init.pid"
check "stop -t 1 a chute that does not read its stdin" chuted stop -t 1 chuted-test-deaf
wait "$DEAF" 2>/dev/null
check "rm -f" chuted rm -f chuted-test-deaf
no_leftovers "deaf chute"

# --- a log flood ---------------------------------------------------------------
check "run -d: 5 MB of yes, then a 100 KB line" chuted run -d --name chuted-test-flood --log-max 200k --net none --rootfs "$R" -- \
  /bin/sh -c 'yes | head -c 5000000; head -c 100000 /dev/zero | tr "\0" a; echo; touch /tmp/done; exec sleep 1000'
wait_for 600 test -e "$R/tmp/done"
wait_for 100 sh -c "'$CHUTED' logs chuted-test-flood | tail -1 | grep -q aaaa"
L=$T_RUNROOT/chutes/chuted-test-flood/ctr.log
sz() { stat -c %s "$1" 2>/dev/null || echo 0; }
if [ "$(sz "$L")" -le 204800 ] && [ "$(sz "$L.1")" -le 204800 ] && [ "$(sz "$L.1")" -gt 0 ]; then
  pass "the log is capped and rotated"; else fail "log sizes $(sz "$L") $(sz "$L.1")"; fi
eq "every line is a whole record" "$(cat "$L.1" "$L" | grep -cvE '^[0-9T:.Z-]+ std(out|err) [FP] ')" 0
eq "the long line is one record, whole" "$(chuted logs chuted-test-flood | tail -1 | wc -c)" 100001
eq "what came before it is the flood" "$(chuted logs chuted-test-flood | tail -2 | head -1)" y
check "rm -f" chuted rm -f chuted-test-flood
out=$(chuted run -d --log-max 0 --net none --rootfs "$R" -- /bin/true 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "at least 4k"; then pass "--log-max 0 is refused"; else fail "--log-max 0: rc $rc: $out"; fi
eq "...and nothing is kept" "$(chuted ps -a -q)" ""

# --- a config.json that is a FIFO or a device ------------------------------------
B=$T_DIR/fifo-bundle; mkdir -p "$B"; ln -s "$R" "$B/rootfs"; mkfifo "$B/config.json"
out=$(timeout 20 "$CHUTED" oci create --bundle "$B" chuted-test-fifo 2>&1); rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep -q "not a regular file"; then pass "a FIFO config.json is refused at once"; else fail "FIFO config.json: rc $rc: $out"; fi
rm -f "$B/config.json"; ln -s /dev/zero "$B/config.json"
out=$(timeout 20 "$CHUTED" oci create --bundle "$B" chuted-test-fifo 2>&1); rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep -q "not a regular file"; then pass "a config.json linked to /dev/zero is refused"; else fail "/dev/zero config.json: rc $rc: $out"; fi

# --- kill -9 of `chuted run -d` at random points of its start ---------------
# The next command's reaper finishes nothing and guesses nothing: a start
# whose CLI died either went through (its monitor runs the chute) or is
# undone to a clean `created` chute (like podman's), never half-made.
export CHUTED_BRIDGE=chtflt0 CHUTED_SUBNET=10.231.120.0/24
veths() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -c '^chv-0ae778'; }
t0=$(date +%s%N)
check "run -d on a bridge" chuted run -d --name chuted-test-k0 --rootfs "$R" -- /bin/sleep 1000
span=$(( ($(date +%s%N) - t0) / 1000000 + 20 ))
chuted rm -f chuted-test-k0 >/dev/null
for i in $(seq 1 30); do
  "$CHUTED" run -d --name chuted-test-k$i --rootfs "$R" -- /bin/sleep 1000 >/dev/null 2>&1 &
  KP=$!
  sleep "$(awk -v r=$RANDOM -v s=$span 'BEGIN{printf "%.3f", r % s / 1000}')"
  kill -9 $KP 2>/dev/null; wait $KP 2>/dev/null
done
chuted ps -a >/dev/null
bad=""; running=0
for i in $(seq 1 30); do
  n=chuted-test-k$i; s=$(status_of $n)
  case "$s" in
    running) running=$((running + 1))
      [ "$(chuted exec $n -- echo ok 2>/dev/null)" = ok ] || bad="$bad $n:running-but-no-exec" ;;
    created|"")
      grep -q "$T_RUNROOT/netns/$n " /proc/mounts && bad="$bad $n:netns"
      [ -n "$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*$T_CGPARENT*/$n" 2>/dev/null)" ] && bad="$bad $n:cgroup"
      [ -e "$T_RUNROOT/oci/$n" ] && bad="$bad $n:oci-state" ;;
    *) bad="$bad $n:$s" ;;
  esac
done
eq "30 killed starts: each chute runs or is cleanly created" "$bad" ""
eq "one veth per running chute, none for the others" "$(veths)" "$running"
for i in $(seq 1 30); do chuted rm -f chuted-test-k$i >/dev/null 2>&1; done
eq "all removable" "$(chuted ps -a -q)" ""
check "network prune" chuted network prune
no_leftovers "killed starts"
unset CHUTED_BRIDGE CHUTED_SUBNET

finish
