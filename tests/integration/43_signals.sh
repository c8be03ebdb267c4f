#!/usr/bin/env bash
# Signals to a foreground `chuted run` reach the chute (sig-proxy), detach
# keys and `chuted attach`, --init (reaper, signal forwarder), --stop-signal,
# --stop-timeout, and stop's line when it had to SIGKILL.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)
# job control: a background job of a script otherwise starts with SIGINT
# ignored, and an ignored signal never reaches the client to be proxied
set -m

TRAPS='trap "echo got TERM; exit 43" TERM; trap "echo got HUP; exit 44" HUP; trap "echo got INT; exit 45" INT
echo ready; while :; do sleep 1 & wait $!; done'

# sig_run SIG WANT_RC DESC RUN_OPTS...: a foreground run of the trapping
# script; SIG to the client; the chute must say so and its code be the client's
sig_run() {
  local sig=$1 want=$2 desc=$3 out=$T_DIR/sig.out rc; shift 3
  : > "$out"
  "$CHUTED" run --rm --net none "$@" --rootfs "$R" sh -c "$TRAPS" > "$out" 2>&1 < /dev/null &
  local p=$!
  if ! wait_for 100 grep -q ready "$out"; then fail "$desc: chute did not start ($(cat "$out"))"; kill -9 $p; return; fi
  kill -"$sig" $p
  wait $p; rc=$?
  eq "$desc: the chute got SIG$sig" "$(grep got "$out" | tr -d '\r')" "got $sig"
  eq "$desc: the client's exit code is the chute's" "$rc" "$want"
}
sig_run TERM 43 "run, SIGTERM"
sig_run HUP 44 "run, SIGHUP"
sig_run INT 45 "run, SIGINT (Ctrl-C)"
sig_run TERM 43 "run -t, SIGTERM" -t
sig_run HUP 44 "run -t, SIGHUP" -t
eq "--rm foreground chutes are gone" "$(chuted ps -a -q)" ""

# --init: the command is not pid 1, so a signal it has no handler for still
# ends it (sleep as pid 1 would ignore SIGTERM)
out=$T_DIR/init.out
"$CHUTED" run --rm --net none --init --rootfs "$R" sh -c 'echo ready; exec sleep 1000' > "$out" 2>&1 < /dev/null &
p=$!
if wait_for 100 grep -q ready "$out"; then
  kill -TERM $p; wait $p; rc=$?
  eq "--init forwards SIGTERM: the command died of it" "$rc" 143
else
  fail "--init chute did not start ($(cat "$out"))"; kill -9 $p
fi
sig_run TERM 43 "run --init, SIGTERM to a trapping command" --init
eq "--init: pid 1 is chuted-init" \
  "$(chuted run --rm --net none --init --rootfs "$R" cat /proc/1/cmdline | tr '\0' ' ')" \
  "/dev/chuted-init -- cat /proc/1/cmdline "
eq "--init: exit code passed through" "$(chuted run --rm --net none --init --rootfs "$R" sh -c 'exit 9'; echo $?)" 9

# --init reaps orphans: without it, a pid 1 that never waits (sleep) keeps them as zombies
ORPHANS='for i in 1 2 3; do sh -c "sleep 0.2 & exit 0"; done; exec sleep 1000'
check "run -d --init (makes orphans)" chuted run -d --name reaped --net none --init --rootfs "$R" sh -c "$ORPHANS"
check "run -d without --init (makes orphans)" chuted run -d --name zomb --net none --rootfs "$R" sh -c "$ORPHANS"
if wait_for 100 sh -c "[ \$('$CHUTED' exec zomb ps -o stat | grep -c '^Z') -eq 3 ]"; then
  pass "without --init the orphans stay zombies"
else fail "without --init: $(chuted exec zomb ps -o pid,stat,args | tr '\n' ';')"; fi
# once the orphans are reaped, only `sleep 1000` is left of the sleeps
if wait_for 100 sh -c "[ \$('$CHUTED' exec reaped ps -o stat,comm | grep -c -e '^Z' -e ' sleep\$') -eq 1 ]"; then
  pass "--init reaps the orphans: no zombie"
else fail "--init left: $(chuted exec reaped ps -o pid,stat,args | tr '\n' ';')"; fi
check "rm -f the orphan chutes" chuted rm -f reaped zomb

# --stop-signal / --stop-timeout, persisted; stop says when it had to SIGKILL
check "run -d --stop-signal USR1" chuted run -d --name usr --net none --stop-signal SIGUSR1 --rootfs "$R" \
  sh -c 'trap "echo got USR1; exit 0" USR1; echo ready; while :; do sleep 1 & wait $!; done'
eq "chute.json records the stop signal" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stop_signal"])' "$T_ROOT/chutes/usr/chute.json")" 10
wait_for 100 sh -c "'$CHUTED' logs usr | grep -q ready"
chuted stop usr > /dev/null 2> "$T_DIR/stop.err"; rc=$?
eq "stop: exit 0" "$rc" 0
eq "stop: the chute got its stop signal" "$(chuted logs usr)" "ready
got USR1"
eq "stop: no SIGKILL line when it stopped in time" "$(cat "$T_DIR/stop.err")" ""
eq "ps -a: exited(0)" "$(chuted ps -a | awk '$1=="usr"{print $2}')" "exited(0)"

check "run -d --stop-timeout 1 (pid 1 ignores SIGTERM)" chuted run -d --name stubborn --net none --stop-timeout 1 \
  --rootfs "$R" sleep 1000
chuted stop stubborn > /dev/null 2> "$T_DIR/stop.err"
eq "stop: says it killed, after --stop-timeout" "$(cat "$T_DIR/stop.err")" \
  "chute stubborn did not stop within 1 s of SIGTERM: killed"
check "start again" chuted start stubborn
chuted stop -t 1 stubborn > /dev/null 2> "$T_DIR/stop.err"
eq "stop -t: says it killed" "$(cat "$T_DIR/stop.err")" "chute stubborn did not stop within 1 s of SIGTERM: killed"
check "rm" chuted rm -f usr stubborn

# start -a: attached from the chute's first byte, with its exit code
check "create" chuted create --name sa --net none --rootfs "$R" sh -c 'echo out-1; echo err-1 >&2; exit 6'
eq "start -a: the chute's output" "$(chuted start -a sa 2>/dev/null)" out-1
chuted start -a sa > /dev/null 2> "$T_DIR/sa.err"; rc=$?
eq "start -a: its stderr" "$(cat "$T_DIR/sa.err")" err-1
eq "start -a: its exit code" "$rc" 6
# a start while the chute's last monitor is still finishing (its lock held:
# here by a stand-in that lets go after 1 s) waits for it, not EBUSY
python3 - "$T_RUNROOT/chutes/sa" >"$T_DIR/holder" <<'PY' &
import fcntl, json, os, struct, sys, time
d = sys.argv[1]
fd = os.open(d + "/monitor.lock", os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
st = json.load(open(d + "/status.json"))
st["monitor_pid"] = os.getpid()
json.dump(st, open(d + "/status.json.tmp", "w")); os.rename(d + "/status.json.tmp", d + "/status.json")
print("held", flush=True)
time.sleep(1)
PY
HOLDER=$!
wait_for 100 grep -q held "$T_DIR/holder"
out=$(chuted start sa 2>&1); rc=$?
wait $HOLDER
eq "start while the last monitor finishes: waits, then starts ($out)" "$rc" 0
check "rm" chuted rm -f sa

check_fails "--stop-signal FOO refused" chuted run --rm --stop-signal FOO --rootfs "$R" true
eq "... with the reason" "$(chuted create --stop-signal FOO --rootfs "$R" true 2>&1)" \
  "chuted: --stop-signal: unknown signal \`FOO\`"
check_fails "--stop-timeout -1 refused" chuted create --stop-timeout -1 --rootfs "$R" true
check_fails "--detach-keys ctrl-1 refused" chuted run --rm --detach-keys ctrl-1 --rootfs "$R" true
eq "nothing was created by refused runs" "$(chuted ps -a -q)" ""

# Detach keys and attach, driven through a pty as a terminal user would.
cat > "$T_DIR/drive_pty.py" <<'EOF'
import os, pty, select, sys, time

def session(argv, script):
    """Run ARGV on a new pty; for each (send, expect[, resend]) step write SEND
    and read until EXPECT shows (bounded), writing SEND again every RESEND
    seconds, then wait for the end: print its exit code."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    seen = b""
    for step in script:
        send, expect = step[0], step[1]
        resend = step[2] if len(step) > 2 else None
        if send:
            os.write(fd, send)
        deadline = time.monotonic() + 20
        while expect and expect not in seen:
            r, _, _ = select.select([fd], [], [], resend or 20)
            if not r and resend and time.monotonic() < deadline:
                os.write(fd, send)
                continue
            if not r:
                print("TIMEOUT waiting for %r, saw %r" % (expect, seen[-200:]))
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return
            try:
                b = os.read(fd, 4096)
            except OSError:
                b = b""
            if not b:
                break
            seen += b
    # the end is the client's exit (not the pty's EOF): bounded at 20 s
    deadline = time.monotonic() + 20
    while True:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            break
        if time.monotonic() > deadline:
            print("TIMEOUT waiting for the end, saw %r" % seen[-200:])
            os.kill(pid, 9)
            _, st = os.waitpid(pid, 0)
            break
        r, _, _ = select.select([fd], [], [], 0.1)
        try:
            if not r or not os.read(fd, 4096):
                time.sleep(0.05)
        except OSError:
            time.sleep(0.05) # the pty hung up: only the exit is awaited
    print(os.waitstatus_to_exitcode(st))

chuted, mode, name = sys.argv[1:4]
rootfs = sys.argv[4] if len(sys.argv) > 4 else None
if mode == "run":
    session([chuted, "run", "-it", "--name", name, "--net", "none", "--rootfs", rootfs, "sh"],
            [(b"", b"# "), (b"echo in-$((6*7))\r", b"in-42"), (b"\x10\x11", None)])
elif mode == "run-keys":
    session([chuted, "run", "-it", "--detach-keys", "ctrl-x,x", "--name", name, "--net", "none",
             "--rootfs", rootfs, "sh"],
            [(b"", b"# "), (b"\x10\x11echo in-$((6*7))\r", b"in-42"), (b"\x18x", None)])
elif mode == "run-init":
    # the terminal's ^C reaches the command through the pty: sleep dies of
    # it and the shell prompts again; exit is the client's code. A ^C that
    # lands while the shell is still forking sleep is only noted by ash, so
    # ^C is sent again until the prompt comes back (a loaded host, ASan)
    session([chuted, "run", "-it", "--rm", "--init", "--net", "none", "--rootfs", rootfs, "sh"],
            [(b"", b"# "), (b"echo go-$((6*7)); sleep 1000\r", b"go-42"),
             (b"\x03", b"^C\r\n/ # ", 2),
             (b"exit 3\r", None)])
elif mode == "attach-twice":
    # while one attach client is on, a second one is told why it cannot be
    import subprocess
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(chuted, [chuted, "attach", name])
    os.write(fd, b"echo first-$((6*7))\r")
    seen = b""
    while b"first-42" not in seen:
        r, _, _ = select.select([fd], [], [], 20)
        if not r:
            break
        seen += os.read(fd, 4096)
    second = subprocess.run([chuted, "attach", "--no-stdin", name], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=20)
    print(second.stderr.decode().strip())
    os.write(fd, b"\x10\x11")
    os.waitpid(pid, 0)
else:
    session([chuted, "attach", name], [(b"echo back-$((6*7))\r", b"back-42"), (b"exit 5\r", None)])
EOF
pty() { python3 "$T_DIR/drive_pty.py" "$CHUTED" "$@"; }
eq "run -it, then ctrl-p ctrl-q: the client leaves with 0" "$(pty run det "$R")" 0
eq "... and the chute runs on" "$(chuted ps | awk '$1=="det"{print $2}')" running
eq "a second client is refused while one is attached" "$(pty attach-twice det)" \
  "chuted: the chute's monitor hung up at once: another client is attached (one at a time), or the monitor died: see \`chuted ps\`"
eq "attach: input reaches the chute, its exit code is the client's" "$(pty attach det)" 5
wait_for 50 sh -c "'$CHUTED' ps -a | grep -q 'det *exited(5)'"
eq "... and the chute ended by it" "$(chuted ps -a | awk '$1=="det"{print $2}')" "exited(5)"
eq "run -it --detach-keys ctrl-x,x: ctrl-p ctrl-q is input, ctrl-x x leaves" "$(pty run-keys det2 "$R")" 0
eq "... and the chute runs on" "$(chuted ps | awk '$1=="det2"{print $2}')" running
eq "run -it --init: ^C through the pty ends the foreground command, exit code passed" "$(pty run-init x "$R")" 3
check_fails "attach to a stopped chute refused" chuted attach det
check "rm -f" chuted rm -f det det2

no_leftovers "signals"
finish
