#!/usr/bin/env bash
# The deploy engine's health probes with real chutes: http (busybox httpd in
# the chute, probed inside its netns), an http probe that keeps failing rolls
# the update back with the reason, tcp, exec passing once the chute is ready
# and exec failing with its output in the reason. Then an update whose image
# comes from a loopback registry (Debian's docker-registry): it is fetched,
# with bytes/total as progress, while the old version keeps running (blob
# GETs held by a gate until the test saw that), and a fetch that fails
# leaves the old version running and untouched.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/registry.sh"
trap 'stop_registry; [ -n "${GATE:-}" ] && kill $GATE 2>/dev/null; t_cleanup' EXIT
export CHUTED_BRIDGE=chthlt0 CHUTED_SUBNET=10.231.163.0/24
MKIMAGE="$TOP/tools/mkimage"
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-hlt

make_rootfs "$T_DIR/rootfs" >/dev/null
"$MKIMAGE" "$T_DIR/rootfs" --cmd '["/bin/sleep","1000"]' --tag hlt:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"

# chute file of version V: image IMG, COMMAND (a shell line; pid 1, sh, exits
# on SIGTERM, so a stop takes no timeout), HEALTH (a flow mapping)
mk() {
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: %s\ncommand: "trap '"'exit 0'"' TERM; %s & wait"\nhealth: %s\n' \
    "$N" "$1" "$2" "$3" "$4" \
    >"$T_DIR/$1/chute.yaml"
}
web='mkdir -p /www; echo ok > /www/ping; httpd -f -p 8080 -h /www'
mk v1 hlt:1 "$web" '{http: "8080/ping", interval: 1s, timeout: 5s, grace: 1s}'
mk v2 hlt:1 'httpd -f -p 8080 -h /tmp' '{http: "8080/ping", interval: 1s, timeout: 2s, grace: 1s}'
mk v3 hlt:1 'httpd -f -p 9000 -h /tmp' '{tcp: 9000, interval: 1s, timeout: 5s, grace: 1s}'
mk v4 hlt:1 'sleep 1; touch /tmp/ready; sleep 1000' '{exec: [test, -f, /tmp/ready], interval: 1s, timeout: 5s, grace: 1s}'
mk v5 hlt:1 'sleep 1000' '{exec: [sh, -c, "echo not ready yet; exit 4"], interval: 1s, timeout: 2s, grace: 1s}'
last() { chuted changes --json | js "d[-1]['version'], d[-1]['result'], d[-1]['reason']"; }
running() { chuted chutes --json | js "[ (c['version'], c['actual']) for c in d if c['name']=='$N' ]"; }

out=$(chuted deploy "$T_DIR/v1" 2>&1); rc=$?
eq "http probe: deploy v1 done ($(tail -1 <<<"$out"))" "$rc $(last)" "0 v1 done None"
eq "...httpd answers inside the chute" "$(chuted exec "$N" wget -q -O - http://127.0.0.1:8080/ping 2>&1)" ok

out=$(chuted deploy "$T_DIR/v2" 2>&1); rc=$?
check "http probe answered 404: update fails" test $rc -ne 0
eq "...rolled back, the reason recorded" "$(last)" "v2 rolled_back health: http 8080/ping: answered 404 after 2s"
check "...the reason printed ($(tail -1 <<<"$out"))" grep -q "answered 404 after 2s: rolled back to version v1" <<<"$out"
eq "...v1 runs again" "$(running)" "[('v1', 'running')]"

out=$(chuted deploy "$T_DIR/v3" 2>&1); rc=$?
eq "tcp probe: update to v3 done ($(tail -1 <<<"$out"))" "$rc $(last)" "0 v3 done None"

out=$(chuted deploy "$T_DIR/v4" 2>&1); rc=$?
eq "exec probe passing once the chute is ready: v4 done ($(tail -1 <<<"$out"))" "$rc $(last)" "0 v4 done None"

out=$(chuted deploy "$T_DIR/v5" 2>&1); rc=$?
check "exec probe exiting 4: update fails" test $rc -ne 0
eq "...rolled back with the probe's exit and output" "$(last)" \
  'v5 rolled_back health: exec ["sh","-c","echo not ready yet; exit 4"]: exited with code 4: not ready yet after 2s'
eq "...v4 runs again" "$(running)" "[('v4', 'running')]"

# an exec probe that does not end within the timeout
mk v9 hlt:1 'sleep 1000' '{exec: [sleep, "77"], interval: 1s, timeout: 1s, grace: 1s}'
chuted deploy "$T_DIR/v9" >/dev/null 2>&1
eq "exec probe out of time" "$(last)" 'v9 rolled_back health: exec ["sleep","77"]: no result in time after 1s'

# a port of the probe that nothing listens on: refused, said so
mk v6 hlt:1 'sleep 1000' '{tcp: 9001, interval: 1s, timeout: 1s, grace: 1s}'
out=$(chuted deploy "$T_DIR/v6" 2>&1)
eq "tcp probe to a closed port: connection refused" "$(last)" "v6 rolled_back health: tcp 9001: connection refused after 1s"

# an archive is read once, by the start's mount: no fetching phase ahead of it
mk v10 "oci-archive:$T_DIR/img.tar" 'sleep 1000' '{grace: 1s}'
out=$(chuted deploy "$T_DIR/v10" 2>&1); rc=$?
eq "update to an archive's image done ($(tail -1 <<<"$out"))" "$rc $(last)" "0 v10 done None"
check_fails "...without a fetching phase" grep -q ": fetching" <<<"$out"

# --- an update from a registry: fetched before the old version stops
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
  skip "docker-registry or skopeo missing (tools/install-deps.sh)"
elif ! start_registry; then
  fail "docker-registry did not start"
else
  mkdir -p "$T_DIR/big"; head -c 8M /dev/urandom > "$T_DIR/big/blob"
  "$MKIMAGE" "$T_DIR/rootfs" "$T_DIR/big" --cmd '["/bin/sleep","1000"]' --tag reg:2 -o "$T_DIR/reg.tar"
  push_image "$T_DIR/reg.tar" hlt:2
  # a proxy that holds every blob GET until $T_DIR/go exists
  cat > "$T_DIR/gate.py" <<'PY'
import os, socket, sys, threading, time
listen, upstream, gate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
def handle(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(65536)
        if not d or not (head + d)[:1].isalpha():
            c.close()  # not HTTP: the pull's TLS try first, refused at once as a plain registry does
            return
        head += d
    hdr, rest = head.split(b"\r\n\r\n", 1)
    lines = [l for l in hdr.split(b"\r\n") if not l.lower().startswith(b"connection:")]
    if b"/blobs/" in lines[0]:
        while not os.path.exists(gate):
            time.sleep(0.05)
    # one request a connection: each is seen here
    u = socket.create_connection(("127.0.0.1", upstream))
    u.sendall(b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + rest)
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    pipe(u, c)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen)); s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
  GP=$(free_port)
  /usr/bin/python3 "$T_DIR/gate.py" "$GP" "$REG_PORT" "$T_DIR/go" & GATE=$!
  wait_for 50 curl -s -o /dev/null "http://127.0.0.1:$GP/v2/"
  mk v7 "127.0.0.1:$GP/hlt:2" "$web" '{http: "8080/ping", interval: 1s, timeout: 5s, grace: 1s}'
  chuted deploy "$T_DIR/v7" > "$T_DIR/v7.out" 2>&1 & DEP=$!
  # the blobs held: what has come of them so far, of how much
  wait_for 100 grep -Eq ': fetching: 0.0 MB / [0-9.]+ MB$' "$T_DIR/v7.out"
  check "fetching: bytes/total reported ($(grep -m1 MB "$T_DIR/v7.out"))" grep -Eq ': fetching: 0.0 MB / [0-9.]+ MB$' "$T_DIR/v7.out"
  eq "...the old version runs during the fetch" "$(running)" "[('v10', 'running')]"
  check_fails "...and was not told to stop" grep -q "stopping old" "$T_DIR/v7.out"
  touch "$T_DIR/go"
  wait $DEP; rc=$?
  eq "update from the registry done" "$rc $(last)" "0 v7 done None"
  check "...the fetch ended at all its bytes, before the old one stopped" python3 - "$T_DIR/v7.out" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
stop = next(i for i, l in enumerate(lines) if l.endswith(": stopping old"))
done = [i for i, l in enumerate(lines)
        if (m := re.search(r": fetching: ([0-9.]+) MB / ([0-9.]+) MB$", l)) and m[1] == m[2] and float(m[1]) >= 8]
sys.exit(0 if done and done[-1] < stop else 1)
PY
  eq "...the new version answers" "$(chuted exec "$N" wget -q -O - http://127.0.0.1:8080/ping 2>&1)" ok

  mk v8 "127.0.0.1:$REG_PORT/nope:1" "$web" '{http: "8080/ping", interval: 1s, timeout: 5s, grace: 1s}'
  out=$(chuted deploy "$T_DIR/v8" 2>&1); rc=$?
  check "update whose image cannot be fetched fails ($(tail -1 <<<"$out"))" test $rc -ne 0 -a "$(grep -c 'registry answered 404' <<<"$out")" -ge 1
  eq "...recorded failed" "$(last | cut -d' ' -f1-2)" "v8 failed"
  check_fails "...the old version was not stopped" grep -q "stopping old" <<<"$out"
  eq "...and still runs, still desired" "$(running) $(js 'd["version"]' <"$T_ROOT/deploy/chutes/$N/desired.json")" "[('v7', 'running')] v7"
fi

check "chute rm" chuted chute rm "$N"
chuted network prune >/dev/null 2>&1
no_leftovers "health"
finish
