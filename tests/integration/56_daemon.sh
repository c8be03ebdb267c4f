#!/usr/bin/env bash
# chuted daemon: a real daemon on a unix socket in the test's dir, curl as
# the client. Boot restore, every endpoint, a chute.yaml deploy streamed to
# `done`, an update as JSON {config} behind If-Match, logs (tail, follow),
# stats, Wi-Fi reads, the operations, a package upload, 400/404/405/409/413,
# TCP over TLS with a bearer token and a per-address limit, hostile HTTP, 10
# slow clients and 200 requests at once while a change runs, SIGTERM leaving
# the chutes up, kill -9 in the middle of a change (its child finishes it;
# the next daemon reads the journal), the CLI working beside it, and
# docs/openapi.yaml listing every path.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtdmn0 CHUTED_SUBNET=10.231.156.0/24
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-api
SOCK=$T_DIR/api.sock
DPID=
trap '[ -n "$DPID" ] && kill -9 $DPID 2>/dev/null; t_cleanup' EXIT

R=$(make_rootfs "$T_DIR/rootfs")
"$TOP/tools/mkimage" "$R" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag api:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"
# version V: ticks on stdout, exits at once on SIGTERM
mk() {
  printf 'name: %s\nversion: "%s"\nimage: api:1\nhealth: {grace: 1s}\ncommand: "trap '"'exit 0'"' TERM; echo %s up; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"\n' \
    "$N" "$1" "$1" >"$T_DIR/$1.yaml"
}
mk v1
mk v2

daemon() {
  "$CHUTED" daemon --api "unix:$SOCK" "$@" >>"$T_DIR/daemon.log" 2>&1 &
  DPID=$!
  wait_for 50 curl -sf --unix-socket "$SOCK" http://x/api/v1/info
}
api() { curl -s --unix-socket "$SOCK" "$@"; }
code() { curl -s -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
# SSE of change $1 until its end: the last event's name
stream_end() { api -N --max-time 30 "http://x/api/v1/changes/$1/stream" | sed -n 's/^event: //p' | tail -1; }
change() { js 'd["change_id"]' <"$T_DIR/body"; }

# boot restore: a stopped `--restart always` chute is back once the daemon serves
check "an always chute, stopped" sh -c "'$CHUTED' run -d --name $N-boot --restart always --net none --rootfs '$R' -- sleep 1000 >/dev/null && '$CHUTED' stop -t 0 $N-boot"
check "the daemon serves on its unix socket" daemon --max-package 1M
eq "the socket is 0600" "$(stat -c %a "$SOCK")" 600
# the cloud link's libraries are chuted-daemon-cloud's (--cloud) alone
eq "without --cloud: no libmosquitto, libssl nor libcrypto loaded" \
  "$(grep -cE 'libmosquitto|libssl|libcrypto' "/proc/$DPID/maps")" 0
eq "the daemon started the always chute (boot restore)" "$(chuted ps | awk -v n=$N-boot '$1==n{print $2}')" running
check "chuted rm -f the boot chute" chuted rm -f $N-boot

eq "GET /info: 200" "$(code http://x/api/v1/info)" 200
eq "...names kernel, cgroups, memory, the daemon's pid" "$(js 'bool(d["kernel"]["release"]), bool(d["cgroups"]), d["memory"]["available_bytes"] > 0, d["daemon"]["pid"]' <"$T_DIR/body")" "True True True $DPID"
eq "GET /chutes: none" "$(api http://x/api/v1/chutes | js 'len(d)')" 0

# deploy a chute.yaml, its progress streamed to done
eq "POST /chutes (chute.yaml): 202" "$(code -X POST --data-binary @"$T_DIR/v1.yaml" -H 'Content-Type: application/yaml' http://x/api/v1/chutes)" 202
C1=$(change)
eq "the change's stream ends with done" "$(stream_end "$C1")" done
eq "GET /changes/ID: done, its events kept" "$(api "http://x/api/v1/changes/$C1" | js 'd["result"], [e["phase"] for e in d["events"]][-3:]')" \
  "done ['waiting for health', 'done', 'done']"
eq "GET /chutes: v1 running, healthy" "$(api http://x/api/v1/chutes | js '[(c["name"], c["version"], c["actual"], c["health"]) for c in d]')" \
  "[('$N', 'v1', 'running', 'healthy')]"
check "the CLI sees the same chute (shared state)" sh -c "'$CHUTED' chutes | grep -q '^$N .*v1 .*running'"
etag=$(curl -s -D - -o "$T_DIR/body" --unix-socket "$SOCK" "http://x/api/v1/chutes/$N" | tr -d '\r' | sed -n 's/^ETag: //Ip')
eq "GET /chutes/NAME: ETag is the generation" "$etag" '"1"'
check "...with its manifest" grep -q 'v1 up' "$T_DIR/body"

# update behind If-Match
eq "PUT with a stale If-Match: 409" "$(code -X PUT -H 'If-Match: "7"' --data-binary @"$T_DIR/v2.yaml" "http://x/api/v1/chutes/$N")" 409
eq "...{error, detail}" "$(js 'd["error"], d["detail"]' <"$T_DIR/body")" "stale generation If-Match 7: chute \`$N\` is at generation 1"
eq "PUT to a chute not deployed: 404" "$(code -X PUT --data-binary @"$T_DIR/v2.yaml" "http://x/api/v1/chutes/$N-other")" 404
# v2 as JSON {config: the chute file as an object}, ParaDrop's form
python3 -c 'import json,sys,yaml; print(json.dumps({"config": yaml.safe_load(open(sys.argv[1]))}))' "$T_DIR/v2.yaml" >"$T_DIR/v2.json"
eq "PUT If-Match \"1\" (v2 as JSON {config}): 202" "$(code -X PUT -H "If-Match: $etag" -H 'Content-Type: application/json' --data-binary @"$T_DIR/v2.json" "http://x/api/v1/chutes/$N")" 202
eq "...streamed to done" "$(stream_end "$(change)")" done
eq "v2 runs, generation 2" "$(api "http://x/api/v1/chutes/$N" | js 'd["version"], d["actual"], d["generation"]')" "v2 running 2"

# bad input, each a clear 4xx, as {error, detail}
eq "bad chute file: 400" "$(code -X POST --data-binary $'name: x\nversion: 1\nimage: api:1\nbogus: 1\n' http://x/api/v1/chutes)" 400
check "...naming chute.yaml:line:col" grep -q 'chute.yaml:4:1' "$T_DIR/body"
eq "bad JSON: 400" "$(code -X POST -H 'Content-Type: application/json' --data-binary '{"config": ' http://x/api/v1/chutes)" 400
check "...naming where ($(js 'd["detail"]' <"$T_DIR/body"))" sh -c "grep -q '\"detail\": \"body:1:' '$T_DIR/body'"
eq "JSON {config} with a bad key: 400" "$(code -X POST -H 'Content-Type: application/json' --data-binary '{"config": {"name": "x", "image": "api:1", "nope": 2}}' http://x/api/v1/chutes)" 400
eq "JSON without config: 400" "$(code -X POST -H 'Content-Type: application/json' --data-binary '{}' http://x/api/v1/chutes)" 400
eq "empty body: 400" "$(code -X POST http://x/api/v1/chutes)" 400
eq "unknown chute: 404" "$(code http://x/api/v1/chutes/nope)" 404
eq "unknown change: 404" "$(code http://x/api/v1/changes/nope)" 404
eq "unknown path: 404" "$(code http://x/api/v2/chutes)" 404
eq "start of an unknown chute: 404" "$(code -X POST http://x/api/v1/chutes/nope/start)" 404
eq "DELETE /chutes: 405" "$(code -X DELETE http://x/api/v1/chutes)" 405
eq "GET .../start: 405" "$(code "http://x/api/v1/chutes/$N/start")" 405
eq "path traversal in a name (..%2f..%2fetc): 400" "$(code --path-as-is "http://x/api/v1/chutes/..%2f..%2fetc")" 400
eq "a name of .. : 400" "$(code "http://x/api/v1/chutes/a..b/stats")" 400
eq "a change id with a slash in it: 400 or 404" "$(code "http://x/api/v1/changes/a%2Fb" | grep -c '^40[04]$')" 1
eq "JSON over 1 MiB: 413" "$(head -c 2000000 /dev/zero | code -X POST -H 'Content-Type: application/json' --data-binary @- http://x/api/v1/chutes)" 413
eq "a package over --max-package: 413" "$(head -c 2000000 /dev/zero | code -X POST -H 'Content-Type: application/x-tar' --data-binary @- http://x/api/v1/chutes)" 413
eq "...nothing kept of it" "$(ls "$T_ROOT/deploy/uploads" | wc -l)" 0
# a package is streamed to disk and handed to the deploy of packages
tar -C "$T_DIR" -cf "$T_DIR/pkg.tar" v1.yaml
eq "POST a chute package: 202" "$(code -X POST -H 'Content-Type: application/x-tar' --data-binary @"$T_DIR/pkg.tar" http://x/api/v1/chutes)" 202
P1=$(change)
check "...its change ends ($(stream_end "$P1"))" sh -c "api() { curl -s --unix-socket '$SOCK' \"\$@\"; }; api http://x/api/v1/changes/$P1 | grep -q '\"state\": \"final\"'"
eq "...and its upload is gone" "$(ls "$T_ROOT/deploy/uploads" | wc -l)" 0

# logs and stats
eq "logs?tail=2: two records" "$(api "http://x/api/v1/chutes/$N/logs?tail=2" | js 'len(d), d[-1]["stream"], d[-1]["message"].startswith("tick")')" "2 stdout True"
eq "logs?tail=x: 400" "$(code "http://x/api/v1/chutes/$N/logs?tail=x")" 400
n=$(api -N --max-time 1.5 "http://x/api/v1/chutes/$N/logs?tail=1&follow=1" | grep -c '^event: log')
check "logs?follow=1: new lines stream as SSE ($n events in 1.5 s)" test "$n" -ge 3
eq "stats: cpu, memory, pids from the cgroup; the veth's counters" \
  "$(api "http://x/api/v1/chutes/$N/stats" | js 'd["running"], d["cgroup"]["pids_current"] >= 1, d["cgroup"]["memory_current"] > 0, d["cgroup"]["memory_limit"], "rx_bytes" in d["net"], d["veth"].startswith("chv-")')" \
  "True True True None True True"

# Wi-Fi (a network of its own, its stations kicked and renamed: tests/vm/50_api_wifi.sh)
W="http://x/api/v1/chutes/$N/networks"
eq "networks of a chute without Wi-Fi: []" "$(api "$W" | js 'd')" "[]"
eq "networks/wlan0 it has not: 404" "$(code "$W/wlan0/stations")" 404
eq "networks of no chute: 404" "$(code "http://x/api/v1/chutes/nope/networks")" 404
eq "DELETE all stations: 405" "$(code -X DELETE "$W/wlan0/stations")" 405
eq "kick a station by a bad MAC: 400 {error, detail}" "$(code -X DELETE "$W/wlan0/stations/02:00:00:00:00")" 400
eq "...naming it" "$(js 'd["error"], "02:00:00:00:00" in d["detail"]' <"$T_DIR/body")" "bad station True"
eq "kick on a network the chute has not: 404" "$(code -X DELETE "$W/wlan0/stations/02:00:00:00:00:01")" 404
eq "PUT a 33-byte SSID: 400" "$(code -X PUT -d '{"ssid": "123456789012345678901234567890123"}' "$W/wlan0/ssid")" 400
eq "...saying so" "$(js '"1 to 32 bytes" in d["detail"]' <"$T_DIR/body")" True
eq "PUT an SSID with a comma: 400" "$(code -X PUT -d '{"ssid": "a,b"}' "$W/wlan0/ssid")" 400
eq "PUT an SSID with a line break: 400" "$(code -X PUT -d '{"ssid": "a\nb"}' "$W/wlan0/ssid")" 400
eq "PUT {ssid} plus another field: 400" "$(code -X PUT -d '{"ssid": "ok", "hide": true}' "$W/wlan0/ssid")" 400
eq "PUT not JSON: 400" "$(code -X PUT -d 'ssid=ok' "$W/wlan0/ssid")" 400
eq "PUT a good SSID on a network the chute has not: 404" "$(code -X PUT -d '{"ssid": "ok"}' "$W/wlan0/ssid")" 404
eq "POST .../ssid: 405" "$(code -X POST -d '{"ssid": "ok"}' "$W/wlan0/ssid")" 405

# the operations, each a change with its own stream
for op in stop start restart; do
  eq "POST .../$op: 202" "$(code -X POST "http://x/api/v1/chutes/$N/$op")" 202
  eq "...$op streamed to done" "$(stream_end "$(change)")" done
done
eq "GET /changes lists them all, the journal's" "$(api http://x/api/v1/changes | js '[c["kind"] for c in d if c["chute"]=="'$N'"]')" \
  "['deploy', 'update', 'stop', 'start', 'restart']"
check "the CLI's change between the API's: chute stop" chuted chute stop "$N"
eq "...seen by the API" "$(api "http://x/api/v1/chutes/$N" | js 'd["desired"], d["actual"]')" "stopped stopped"
eq "...and an API start after it: done" "$(code -X POST "http://x/api/v1/chutes/$N/start"; stream_end "$(change)")" 202done

# TCP over TLS: the bearer token, compared in constant time
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T_DIR/token"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/key.pem" \
  -out "$T_DIR/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1
kill "$DPID"; wait "$DPID" 2>/dev/null
check "the daemon on a unix socket and TCP (TLS) with a token" daemon --api "tcp:127.0.0.1:$PORT" --token-file "$T_DIR/token" \
  --tls-cert "$T_DIR/cert.pem" --tls-key "$T_DIR/key.pem"
tcp() { curl -s -o /dev/null -w '%{http_code}' --cacert "$T_DIR/cert.pem" --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/api/v1/chutes"; }
eq "TCP without the token: 401" "$(tcp)" 401
eq "TCP with a wrong token: 401" "$(tcp -H 'Authorization: Bearer nope')" 401
eq "TCP with the token: 200" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
python3 -c 'import socket,sys,time
ss=[socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for i in range(16)]
open(sys.argv[2], "w").close(); time.sleep(30)' "$PORT" "$T_DIR/held" &
HOLD=$!
wait_for 50 test -e "$T_DIR/held"
eq "TCP: a 17th connection from one address is refused" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 000
eq "...the unix socket serves meanwhile" "$(code http://x/api/v1/chutes)" 200
kill "$HOLD"; wait "$HOLD" 2>/dev/null
wait_for 50 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$T_DIR/cert.pem' --resolve 'localhost:$PORT:127.0.0.1' -H 'Authorization: Bearer $(cat "$T_DIR/token")' https://localhost:$PORT/api/v1/chutes)\" = 200 ]"
eq "...served again once they close" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
eq "TCP in plain HTTP: no answer" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/api/v1/chutes")" 000
out=$("$CHUTED" daemon --api tcp:127.0.0.1:1 2>&1); rc=$?
eq "tcp: without --token-file: a usage error" "$rc $out" "2 chuted: daemon: --api tcp:127.0.0.1:1: TCP needs a bearer token (--token-file) (see chuted daemon --help)"
check "a second daemon on the same run root is refused" sh -c "'$CHUTED' daemon --api unix:$T_DIR/b.sock 2>&1 | grep -q 'another chuted daemon'"

# hostile HTTP: answered 4xx or closed, the daemon serves on
raw() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); print(s.recv(4096).decode(errors="replace").split("\r\n")[0])' "$SOCK" "$1"; }
eq "a header line without a colon: 400" "$(raw $'GET /api/v1/info HTTP/1.1\r\nBad Header\r\n\r\n')" "HTTP/1.1 400 Bad Request"
eq "Content-Length: -5: 400" "$(raw $'POST /api/v1/chutes HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n')" "HTTP/1.1 400 Bad Request"
eq "broken chunked encoding: 400" "$(raw $'POST /api/v1/chutes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')" "HTTP/1.1 400 Bad Request"
eq "not HTTP at all: closed" "$(raw $'GARBAGE\r\n\r\n')" ""
big=$(head -c 100000 /dev/zero | tr '\0' a)
c=$(code -H "X-Big: $big" http://x/api/v1/info)
check "a 100 KB header: refused ($c)" test "$c" -ge 400 -a "$c" -lt 500 -o "$c" = 000
eq "the daemon still answers" "$(code http://x/api/v1/info)" 200
# while a change runs, 10 slow clients holding half-sent requests, then 200
# requests at once: every one answered
code -X POST "http://x/api/v1/chutes/$N/restart" >/dev/null; CB=$(change)
python3 -c 'import socket,sys,time
ss=[]
for i in range(10):
    s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"GET /api/v1/chutes HTTP/1.1\r\nHost: x\r\nX-Slow: "); ss.append(s)
time.sleep(30)' "$SOCK" &
SLOW=$!
seq 200 | xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" http://x/api/v1/chutes >"$T_DIR/burst"
eq "200 concurrent GET /chutes beside 10 slow clients: all 200" "$(grep -c '^200$' "$T_DIR/burst")" 200
kill "$SLOW"; wait "$SLOW" 2>/dev/null
eq "...and the change beside them: done" "$(stream_end "$CB")" done

# SIGTERM: the daemon goes, the chutes stay
kill -TERM "$DPID"; wait "$DPID"; rc=$?; DPID=
eq "SIGTERM: the daemon exits 0" "$rc" 0
eq "...the chute still runs" "$(chuted ps | awk -v n=$N '$1==n{print $2}')" running
check "...its socket is gone" test ! -e "$SOCK"

# kill -9 in the middle of a change: its child finishes it, the next daemon reads the journal
check "daemon again" daemon --no-reconcile
code -X POST "http://x/api/v1/chutes/$N/restart" >/dev/null; C2=$(change)
wait_for 100 sh -c "curl -s --unix-socket '$SOCK' http://x/api/v1/changes/$C2 | grep -q '\"state\": \"running\"'"
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
check "restarted after kill -9" daemon --no-reconcile
wait_for 150 sh -c "curl -s --unix-socket '$SOCK' http://x/api/v1/changes/$C2 | grep -q '\"result\": \"done\"'"
eq "the change under way finished: the journal says done" "$(api "http://x/api/v1/changes/$C2" | js 'd["kind"], d["result"], d["reason"] or ""')" "restart done "
eq "...its stream gives that end" "$(stream_end "$C2")" done
eq "...the chute runs, once" "$(chuted ps | grep -c "^$N ")" 1

# DELETE behind If-Match
eq "DELETE with a stale If-Match: 409" "$(code -X DELETE -H 'If-Match: 1' "http://x/api/v1/chutes/$N")" 409
g=$(api "http://x/api/v1/chutes/$N" | js 'd["generation"]')
eq "DELETE with the generation: 202" "$(code -X DELETE -H "If-Match: \"$g\"" "http://x/api/v1/chutes/$N")" 202
eq "...streamed to done" "$(stream_end "$(change)")" done
eq "the chute is gone: 404" "$(code "http://x/api/v1/chutes/$N")" 404
check "the daemon lived through it all" kill -0 "$DPID"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
chuted network prune >/dev/null 2>&1
# docs/openapi.yaml describes every path served
eq "openapi.yaml lists every endpoint" "$(python3 -c 'import yaml,sys; print(" ".join(sorted(yaml.safe_load(open(sys.argv[1]))["paths"])))' "$TOP/docs/openapi.yaml")" \
  "/changes /changes/{id} /changes/{id}/stream /chutes /chutes/{name} /chutes/{name}/logs /chutes/{name}/networks /chutes/{name}/networks/{network} /chutes/{name}/networks/{network}/leases /chutes/{name}/networks/{network}/ssid /chutes/{name}/networks/{network}/stations /chutes/{name}/networks/{network}/stations/{mac} /chutes/{name}/restart /chutes/{name}/start /chutes/{name}/stats /chutes/{name}/stop /info"
if grep -q 'Sanitizer\|runtime error' "$T_DIR/daemon.log"; then
  fail "the daemon's sanitizer report: $(grep -m4 'Sanitizer\|runtime error\|#[0-4] ' "$T_DIR/daemon.log" | tr '\n' ' ')"
else pass "no sanitizer report from the daemon"; fi
no_leftovers "daemon"
finish
