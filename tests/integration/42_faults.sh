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

finish
