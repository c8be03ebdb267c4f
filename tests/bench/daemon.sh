#!/usr/bin/env bash
# chuted daemon: its memory idle, while deploys run (the daemon alone: each
# change's child apart), after a burst of API calls; the latency of
# GET /api/v1/chutes with 20 chutes deployed (p50/p99); then a soak of API
# calls for SOAK_S seconds (default 600, the issue's 10 minutes; 0: none):
# its RSS growth. Writes its section of docs/BENCHMARKS.md (WRITE_DOC=0:
# print only). Needs root.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
C=$BIN/chuted
. "$(dirname "$0")/bench_lib.sh"
NCHUTES=${NCHUTES:-20}
NREQ=${NREQ:-1000}
SOAK_S=${SOAK_S:-600}
SOAK_WARM=${SOAK_WARM:-70} # changes before the soak: more than the daemon keeps in memory (64)
WRITE_DOC=${WRITE_DOC:-1}
W=$(mktemp -d /tmp/chuted-test-daemonbench.XXXXXX)
export CHUTED_ROOT=$W/root CHUTED_RUN_ROOT=$W/run CHUTED_CGROUP_PARENT=chuted-test-daemonbench CHUTED_NET_ROOT=$W/netroot
export CHUTED_BRIDGE=chtbdmn0 CHUTED_SUBNET=10.231.112.0/24
SOCK=$W/api.sock
DPID= SAMPLER= BROKER=

cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
  [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  bench_rm_root "$C" "$W"
}
trap cleanup EXIT

R=$W/rootfs; mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc}; cp /bin/busybox "$R/bin/"; ln -s busybox "$R/bin/sh"; ln -s busybox "$R/bin/sleep"
# a chute that stops on SIGTERM, as a well-behaved one does (sleep as pid 1 would not: 10 s per restart)
"$TOP/tools/mkimage" "$R" --cmd '["/bin/sh","-c","trap \"exit 0\" TERM; sleep 1000 & wait"]' --tag bench:1 -o "$W/img.tar" >/dev/null
"$C" load "oci-archive:$W/img.tar" >/dev/null

# The daemon's shared libraries from private copies (bench_lib.sh)
export LD_LIBRARY_PATH=$W/lib
bench_private_libs "$LD_LIBRARY_PATH" "$BIN/chuted" "$BIN/chuted-daemon" "$BIN/chuted-daemon-cloud"

"$C" daemon --api "unix:$SOCK" --no-reconcile >"$W/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do curl -sf --unix-socket "$SOCK" http://x/api/v1/info >/dev/null && break; sleep 0.05; done

# "VmRSS Pss" of the daemon, in KiB
mem() { echo "$(awk '/^VmRSS/{print $2}' /proc/$DPID/status) $(awk '/^Pss:/{print $2}' /proc/$DPID/smaps_rollup)"; }
idle=$(mem)

# the deploys, the daemon's memory sampled meanwhile
( peak_r=0 peak_p=0
  while [ ! -e "$W/deployed" ] && kill -0 "$DPID" 2>/dev/null; do
    read -r r p < <(mem); [ "$r" -gt "$peak_r" ] && peak_r=$r; [ "$p" -gt "$peak_p" ] && peak_p=$p
    sleep 0.02
  done
  echo "$peak_r $peak_p" >"$W/peak" ) &
SAMPLER=$!
t0=$(date +%s.%N)
for i in $(seq "$NCHUTES"); do
  printf 'name: chuted-test-bd%02d\nversion: "1"\nimage: bench:1\nhealth: {grace: 1s}\n' "$i" >"$W/c.yaml"
  id=$(curl -s --unix-socket "$SOCK" -X POST --data-binary @"$W/c.yaml" http://x/api/v1/chutes |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["change_id"])')
  curl -s -N --unix-socket "$SOCK" "http://x/api/v1/changes/$id/stream" | grep -q '"result":"done"' ||
    { echo "daemon bench: deploy $i failed" >&2; exit 1; }
done
t1=$(date +%s.%N)
touch "$W/deployed"; wait $SAMPLER; SAMPLER=
during=$(cat "$W/peak")

# GET /api/v1/chutes, one connection each, sequential: p50/p99
lat=$(python3 - "$SOCK" "$NREQ" <<'EOF'
import socket, sys, time
sock, n = sys.argv[1], int(sys.argv[2])
ts = []
for _ in range(n):
    t = time.perf_counter()
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(b"GET /api/v1/chutes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:80]
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print("%.2f %.2f %d" % (ts[len(ts) // 2], ts[int(len(ts) * 0.99) - 1], len(data)))
EOF
)
after=$(mem)
read -r p50 p99 bytes <<<"$lat"

# The soak: every read endpoint, errors (404, 405, 400 bad JSON), and a
# restart change (queued, forked, streamed to its end) every 20 s, for
# SOAK_S seconds at ~200 requests/s, after SOAK_WARM changes back to back;
# VmRSS sampled every 10 s. Growth: the last sample minus the first.
soak=
if [ "$SOAK_S" -gt 0 ]; then
  soak=$(python3 - "$SOCK" "$SOAK_S" "$DPID" "$SOAK_WARM" <<'EOF'
import json, socket, sys, time
sock, dur, pid, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def req(method, path, body=b"", ctype=None):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    h = "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % (method, path, len(body))
    if ctype: h += "Content-Type: %s\r\n" % ctype
    s.sendall(h.encode() + b"\r\n" + body)
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    return int(data[9:12]), data
def rss():  # (VmRSS, RssAnon): the anonymous part is where a leak shows
    v = {}
    for l in open("/proc/%s/status" % pid):
        k, _, rest = l.partition(":")
        if k in ("VmRSS", "RssAnon"): v[k] = int(rest.split()[0])
    return v["VmRSS"], v["RssAnon"]
reads = ["/api/v1/chutes", "/api/v1/chutes/chuted-test-bd01", "/api/v1/info", "/api/v1/changes",
         "/api/v1/chutes/chuted-test-bd02/logs?tail=5", "/api/v1/chutes/chuted-test-bd03/stats",
         "/api/v1/chutes/chuted-test-bd04/networks", "/api/v1/chutes/nope", "/api/v1/nope"]
def change():
    st, d = req("POST", "/api/v1/chutes/chuted-test-bd05/restart"); assert st == 202, d
    cid = json.loads(d.split(b"\r\n\r\n", 1)[1])["change_id"]
    st, d = req("GET", "/api/v1/changes/%s/stream" % cid)
    assert b'"result":"done"' in d, d[-300:]
# warm-up: the daemon keeps the last 64 finished changes (DM_CHANGES_KEPT,
# with their events) in memory by design: that window is filled first, so
# the growth measured is what is not bounded
def round():
    for p in reads:
        st, _ = req("GET", p)
        assert st in (200, 404), (p, st)
    st, _ = req("DELETE", "/api/v1/chutes"); assert st == 405, st
    st, _ = req("POST", "/api/v1/chutes", b"{not json", "application/json"); assert st == 400, st
    return len(reads) + 2
for _ in range(warm):  # each with a round of the calls
    change(); round()
t0 = time.time(); n = 0; changes = 0; samples = [rss()]; next_sample = t0 + 10; next_change = t0 + 20
while time.time() - t0 < dur:
    n += round()
    now = time.time()
    if now >= next_change:
        change(); n += 2; changes += 1; next_change = now + 20
    if now >= next_sample:
        samples.append(rss()); next_sample = now + 10
    time.sleep(0.05)  # ~200 requests/s: steady use, not a load test (the host's other work goes on)
samples.append(rss())
print(n, changes, samples[0][0], samples[-1][0], max(x[0] for x in samples), int(time.time() - t0),
      samples[0][1], samples[-1][1])
EOF
  ) || { echo "daemon bench: soak failed" >&2; exit 1; }
fi
# The same daemon with the cloud link up (`--cloud`: chuted-daemon-cloud,
# libmosquitto + OpenSSL) to a mosquitto with TLS and client certificates
# on 127.0.0.1, as tests/integration/59_cloud.sh makes them: its PSS once
# the AP is online and its first reported state is out.
link=
if [ -x /usr/sbin/mosquitto ] && [ -x /usr/bin/openssl ] && [ -x "$BIN/chutectl" ]; then
  kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
  P=$W/pki; mkdir -p "$P"
  ossl() { openssl "$@" >/dev/null 2>&1; }
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca.key" -out "$P/ca.crt" -days 2 -subj /CN=chuted-bench-ca
  cert() { # NAME [SAN]
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$1"
    if [ -n "${2:-}" ]; then printf 'subjectAltName=%s\n' "$2" >"$P/$1.ext"; else : >"$P/$1.ext"; fi
    ossl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -out "$P/$1.crt" -days 2 -extfile "$P/$1.ext"
  }
  cert broker IP:127.0.0.1; cert ap-1; cert operator
  "$BIN/chutectl" keygen "$W/ops" >/dev/null
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$W/mosquitto.conf" <<X
user root
log_dest file $W/mosquitto.log
listener $PORT 127.0.0.1
cafile $P/ca.crt
certfile $P/broker.crt
keyfile $P/broker.key
require_certificate true
use_identity_as_username true
X
  /usr/sbin/mosquitto -c "$W/mosquitto.conf" & BROKER=$!
  "$C" daemon --api "unix:$SOCK" --no-reconcile --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" \
    --key "$P/ap-1.key" --ca "$P/ca.crt" --trust "$W/ops.pub" >>"$W/daemon.log" 2>&1 &
  DPID=$!
  export CHUTECTL_BROKER=mqtts://127.0.0.1:$PORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt CHUTECTL_KEY=$P/operator.key
  for _ in $(seq 100); do "$BIN/chutectl" nodes --json 2>/dev/null | grep -q '"online"' && break; sleep 0.1; done
  if "$BIN/chutectl" nodes --json 2>/dev/null | grep -q '"online"'; then
    sleep 1
    link=$(mem)
  else
    echo "daemon bench: the cloud link did not come up (no with-link figure)" >&2
  fi
  kill "$BROKER"; wait "$BROKER" 2>/dev/null; BROKER=
fi

read -r idle_r idle_p <<<"$idle"; read -r dur_r dur_p <<<"$during"; read -r aft_r aft_p <<<"$after"
deploy_s=$(echo "$t1 $t0 $NCHUTES" | awk '{printf "%.2f", ($1 - $2) / $3}')

out=$(mktemp)
{
  echo "<!-- daemon-bench:start -->"
  echo "## Daemon: memory and API latency (tests/bench/daemon.sh, $(date -u +%F), $(nproc) CPUs, $(uname -r))"
  echo
  echo "\`chuted daemon\` (chuted-daemon, libmicrohttpd without HTTPS in one epoll loop, the API's TLS when asked on"
  echo "mbedTLS; without \`--cloud\` it has no libmosquitto: chuted-daemon-cloud has the link) on a unix socket. Memory of the daemon"
  echo "process alone (each change's forked child apart), sampled every 20 ms while $NCHUTES chute.yaml deploys"
  echo "went through the API one after the other (each streamed to \`done\`; health grace 1 s, ${deploy_s} s per deploy)."
  echo
  echo "| daemon | VmRSS (KiB) | PSS (KiB) |"
  echo "|---|---|---|"
  echo "| idle, just started | $idle_r | $idle_p |"
  echo "| peak during $NCHUTES deploys | $dur_r | $dur_p |"
  echo "| after the deploys and $NREQ GET /chutes | $aft_r | $aft_p |"
  [ -n "$link" ] && echo "| idle with the cloud link up (\`--cloud\`, mqtts to a local mosquitto) | ${link% *} | ${link#* } |"
  echo
  echo "GET /api/v1/chutes with $NCHUTES chutes ($bytes-byte answer), $NREQ requests one connection each, sequential"
  echo "(Python client): p50 ${p50} ms, p99 ${p99} ms."
  echo
  if [ -n "$soak" ]; then
    read -r s_n s_ch s_first s_last s_peak s_dur s_afirst s_alast <<<"$soak"
    echo "Soak: ${s_dur} s of API calls at ~200/s (every read endpoint, 404/405/400 answers, a restart change streamed"
    echo "to its end every 20 s): $s_n requests, $s_ch changes, after $SOAK_WARM changes back to back (the daemon keeps the last"
    echo "64 finished changes with their events in memory by design: the window is full before the soak). VmRSS at its"
    echo "start $s_first KiB, at its end $s_last KiB (growth $((s_last - s_first)) KiB; target <= 256 KiB), peak $s_peak KiB;"
    echo "its anonymous part (RssAnon: heap, stacks; where a leak shows) $s_afirst -> $s_alast KiB (growth $((s_alast - s_afirst)) KiB),"
    echo "the rest pages of the program and its libraries mapped as their code runs."
    echo
  fi
  echo "PSS with the daemon's libraries (but libc and the loader) loaded from private copies: on this shared"
  echo "host other programs map the same files and would take a share of their pages; on an AP none does."
  echo
  echo "Targets (issue 11): PSS idle <= 4 MB, during a deploy <= 8 MB; issue 12: with the TLS link up <= 4 MB."
  echo "Anchors: balena-supervisor ~85 MB, Azure IoT Edge agent 57-150 MB, KubeEdge edgecore >= 80 MB,"
  echo "Greengrass lite 12-16 MB PSS."
  echo "<!-- daemon-bench:end -->"
} >"$out"
cat "$out"
[ "$WRITE_DOC" = 1 ] && python3 "$TOP/tests/bench/put_section.py" daemon-bench <"$out"
rm -f "$out"
