#!/usr/bin/env bash
# The deploy engine's health probes with real chutes: http (busybox httpd in
# the chute, probed inside its netns), an http probe that keeps failing rolls
# the update back with the reason, tcp, exec passing once the chute is ready
# and exec failing with its output in the reason.
. "$(dirname "$0")/../lib.sh"
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

# a port of the probe that nothing listens on: refused, said so
mk v6 hlt:1 'sleep 1000' '{tcp: 9001, interval: 1s, timeout: 1s, grace: 1s}'
out=$(chuted deploy "$T_DIR/v6" 2>&1)
eq "tcp probe to a closed port: connection refused" "$(last)" "v6 rolled_back health: tcp 9001: connection refused after 1s"

check "chute rm" chuted chute rm "$N"
chuted network prune >/dev/null 2>&1
no_leftovers "health"
finish
