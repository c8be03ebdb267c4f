#!/usr/bin/env bash
# The cloud link (issue 12): `chuted daemon --cloud` as AP ap-1, a real
# mosquitto with TLS and client certificates on 127.0.0.1, chutectl as the
# operator. The AP reaches the broker through tests/cloud_proxy.py, which
# counts the bytes on the wire (TLS records as sent; TCP/IP headers not
# counted). Measures: the daemon's memory with the link up; the idle link's
# bytes per minute (keepalive + metrics) over IDLE_S seconds; command to
# running for a present image over ROUNDS updates; bytes per deploy.
# Writes its section of docs/BENCHMARKS.md (WRITE_DOC=0: print only). Root.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
C=$BIN/chuted
. "$(dirname "$0")/bench_lib.sh"
CTL=$BIN/chutectl
IDLE_S=${IDLE_S:-180}
ROUNDS=${ROUNDS:-20}
WRITE_DOC=${WRITE_DOC:-1}
[ "$IDLE_S" = 0 ] && WRITE_DOC=0 # IDLE_S=0: no idle minutes, the rounds alone; printed, not written
W=$(mktemp -d /tmp/chuted-test-cloudbench.XXXXXX)
export CHUTED_ROOT=$W/root CHUTED_RUN_ROOT=$W/run CHUTED_CGROUP_PARENT=chuted-test-cloudbench CHUTED_NET_ROOT=$W/netroot
export CHUTED_BRIDGE=chtbcld0 CHUTED_SUBNET=10.231.113.0/24
. "$TOP/tests/registry.sh"
. "$TOP/tests/cloud.sh"
AP= PROXY=
N=chuted-test-cb

cleanup() {
  [ -n "$AP" ] && kill "$AP" 2>/dev/null && wait "$AP" 2>/dev/null
  [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null
  stop_broker
  bench_rm_root "$C" "$W"
}
trap cleanup EXIT
die() { echo "cloud bench: $*" >&2; exit 1; }
met() { if [ "$1" -le "$2" ]; then echo met; else echo "not met"; fi; }

P=$W/pki
cloud_pki "$P" ap-1 operator || die "openssl"
cloud_broker_conf "$W" "$P"
start_broker || die "mosquitto did not start"
export CHUTECTL_BROKER=mqtts://127.0.0.1:$MQ_PORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt \
  CHUTECTL_KEY=$P/operator.key CHUTECTL_SIGNING_KEY=$W/ops.key
"$CTL" keygen "$W/ops" >/dev/null

R=$W/rootfs; mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc}; cp /bin/busybox "$R/bin/"; ln -s busybox "$R/bin/sh"; ln -s busybox "$R/bin/sleep"
"$TOP/tools/mkimage" "$R" --cmd '["/bin/sh","-c","trap \"exit 0\" TERM; sleep 1000 & wait"]' --tag bench:1 -o "$W/img.tar" >/dev/null
"$C" load "oci-archive:$W/img.tar" >/dev/null
for v in 1 2; do
  mkdir -p "$W/v$v"
  printf 'name: %s\nversion: "%s"\nimage: bench:1\nhealth: {grace: 1s}\n' "$N" "$v" >"$W/v$v/chute.yaml"
done

# The daemon's shared libraries from private copies (bench_lib.sh), as the
# daemon bench loads them: its PSS counts their pages whole, as on an AP
bench_private_libs "$W/lib" "$C" "$BIN/chuted-daemon" "$BIN/chuted-daemon-cloud"

PP=$(free_port)
python3 "$TOP/tests/cloud_proxy.py" forward "$PP" "$MQ_PORT" "$W/wire.json" & PROXY=$!
for _ in $(seq 50); do port_open "$PP" && break; sleep 0.1; done
LD_LIBRARY_PATH=$W/lib "$C" daemon --cloud "mqtts://127.0.0.1:$PP" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" --ca "$P/ca.crt" \
  --trust "$W/ops.pub" >"$W/daemon.log" 2>&1 & AP=$!
for _ in $(seq 100); do "$CTL" nodes --json 2>/dev/null | grep -q '"online"' && break; sleep 0.1; done
"$CTL" nodes --json | grep -q '"online"' || die "ap-1 did not come online"

mem() { echo "$(awk '/^VmRSS/{print $2}' /proc/$AP/status) $(awk '/^Pss:/{print $2}' /proc/$AP/smaps_rollup)"; }
wire() { python3 -c "import json; d=json.load(open('$W/wire.json')); print(d['up'], d['down'])"; }
sleep 2 # the first metrics and reported state out
read -r idle_r idle_p < <(mem)
idle_smaps=$(bench_smaps "$AP")

# idle: nothing deployed, nobody watching; only keepalives and metrics flow
read -r u0 d0 < <(wire)
sleep "$IDLE_S"
read -r u1 d1 < <(wire)
idle_up=0 idle_down=0
[ "$IDLE_S" -gt 0 ] && idle_up=$(( (u1 - u0) * 60 / IDLE_S )) idle_down=$(( (d1 - d0) * 60 / IDLE_S ))

# command to running, ROUNDS times each: a first deploy (the chute not
# there; then removed, not measured) and an update to the other version
# (the old one stopped first); from the moment chutectl publishes (it prints
# the change id just before) to the AP's `waiting for health` event (the new
# version runs) reaching chutectl; the command's whole wall time beside it.
# The wire's bytes over the updates: bytes per deploy.
rounds() { # MODE: fresh | update
  python3 - "$CTL" "$W" "$ROUNDS" "$1" <<'EOF'
import subprocess, sys, time
ctl, w, rounds, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def ctl_run(*args, timed=False):
    t0 = time.perf_counter()
    p = subprocess.Popen([ctl, *args], stdout=subprocess.PIPE, text=True)
    pub = up = None
    for line in p.stdout:
        now = time.perf_counter()
        if pub is None:
            pub = now  # the change id, printed as chutectl publishes
        elif up is None and "waiting for health" in line:
            up = now
    if p.wait() != 0 or (timed and up is None):
        sys.exit("chutectl %s failed" % " ".join(args))
    return (up - pub) * 1000 if timed else 0, (time.perf_counter() - t0) * 1000
run, wall = [], []
for i in range(rounds):
    v = "%s/v%d" % (w, 1 if mode == "fresh" else 2 - i % 2)
    r, t = ctl_run("deploy", "--wait", "ap-1", v, timed=True)
    run.append(r); wall.append(t)
    if mode == "fresh":
        ctl_run("rm", "--wait", "ap-1", "chuted-test-cb")
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))]
print("%.0f %.0f %.0f %.0f" % (pct(run, 0.5), pct(run, 0.99), pct(wall, 0.5), pct(wall, 0.99)))
EOF
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
read -r new50 new99 nwall50 nwall99 < <(rounds fresh)
"$CTL" deploy --wait ap-1 "$W/v1" >/dev/null || die "deploy failed"
read -r u0 d0 < <(wire)
read -r run50 run99 wall50 wall99 < <(rounds update)
read -r u1 d1 < <(wire)
[ -n "${run50:-}" ] && [ -n "${new50:-}" ] || die "deploy rounds failed"
dep_up=$(( (u1 - u0) / ROUNDS )) dep_down=$(( (d1 - d0) / ROUNDS ))
read -r busy_r busy_p < <(mem)
docsize=$("$CTL" desired ap-1 | python3 -c 'import json,sys; print(len(json.dumps(json.load(sys.stdin), separators=(",", ":"))))')

if ldd "$BIN/chuted-daemon-cloud" | grep -q libmosquitto; then
  linked="Debian's shared libmosquitto; mbedTLS (the link's TLS relay) and nettle linked in statically"
else
  linked="libmosquitto without TLS (tools/libmosquitto-min.sh), mbedTLS (the link's TLS relay) and nettle linked in statically"
fi
out=$(mktemp)
{
  echo "<!-- cloud-bench:start -->"
  echo "## Cloud link: memory, bytes on the wire, command to running (tests/bench/cloud.sh, $(date -u +%F), $(nproc) CPUs, $(uname -r))"
  echo
  echo "\`chuted daemon --cloud\` as AP ap-1 against mosquitto $(/usr/sbin/mosquitto -h 2>/dev/null | awk 'NR==1{print $3}')"
  echo "on 127.0.0.1: MQTT 5 over TLS with client certificates (P-256), keepalive 30 s, metrics every 60 s."
  echo "Bytes counted by a TCP proxy between the AP and the broker (tests/cloud_proxy.py): TLS records as sent,"
  echo "TCP/IP headers not counted."
  echo
  echo "The link's libraries in chuted-daemon-cloud: $linked."
  echo
  echo "Where the daemon's memory goes with the link up, idle (KiB; from /proc/PID/smaps; its shared libraries"
  echo "but libc and the loader loaded from private copies, so no other program on this host shares their"
  echo "pages: on an AP none does):"
  echo
  echo "$idle_smaps"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| daemon with the TLS link up, idle: VmRSS / PSS | $idle_r / $idle_p KiB |"
  echo "| ... after $((2 * ROUNDS + 1)) deploys and $ROUNDS removals through the link | $busy_r / $busy_p KiB |"
  echo "| idle link, AP -> broker / broker -> AP (over ${IDLE_S} s) | $idle_up / $idle_down bytes/min |"
  echo "| command to running, present image, first deploy: published -> runs (p50 / p99, $ROUNDS deploys) | $new50 / $new99 ms |"
  echo "| ... update (the old version stopped first): published -> new version runs (p50 / p99, $ROUNDS updates) | $run50 / $run99 ms |"
  echo "| \`chutectl deploy --wait\` whole, health gate (1 s) included, first deploy / update (p50) | $nwall50 / $wall50 ms |"
  echo "| bytes on the wire per deploy (update), AP -> broker / broker -> AP | $dep_up / $dep_down bytes |"
  echo
  echo "Per deploy the AP receives the signed desired document ($docsize bytes as JSON, the chute file inline) and"
  echo "sends the change's progress events and one reported state. \`chutectl deploy\` spends 2 x 300 ms reading the"
  echo "retained desired and reported documents before it publishes (CTL_QUIET_MS: retained messages end with a silence),"
  echo "which is in its wall time, not in \"published -> runs\". Where \"published -> runs\" goes (strace of the daemon,"
  echo "timestamps in the engine): the link writes the document's generation durably (cloud.json: write, fsync, rename; the"
  echo "replay guard) and forks the change's process, ~5-10 ms; the rest is the deploy engine's own path, as \`chuted deploy\`"
  echo "takes it: its durable journal writes (4 fsyncs to begin, 2 per phase), the desired state and the kept version, the"
  echo "new chute's start (~20-40 ms). An update adds the \`stopping old\` phase (2 fsyncs), the old version's stop (SIGTERM"
  echo "to its monitor's report that it ended, woken by the monitor's pidfd; its cgroup delete included: 6-11 ms) and the"
  echo "release of what the new one would collide with (its network: netns unmount, lease: 3-9 ms). Its files (writable"
  echo "layer, bundle, run state) are renamed aside with its rootfs still mounted and removed after the new one's health"
  echo "gate (mgmt/chute_retire.c). Load average before the rounds: $load (2 CPUs shared with other work: these figures"
  echo "move with it)."
  echo
  echo "Targets (issue 12): daemon RSS with the link up <= 4 MB: $(met "$idle_p" 4096) in PSS ($idle_p KiB; its VmRSS"
  echo "counts libc's pages whole too, $idle_r KiB); idle link <= 2 KB/min per AP:"
  echo "$(met $((idle_up + idle_down)) 2048) ($((idle_up + idle_down)) bytes/min both ways); command to running p50 <= 150 ms"
  echo "on loopback for a present image: $(met "$(( new50 > run50 ? new50 : run50 ))" 150)."
  echo "<!-- cloud-bench:end -->"
} >"$out"
cat "$out"
[ "$WRITE_DOC" = 1 ] && python3 "$TOP/tests/bench/put_section.py" cloud-bench <"$out"
rm -f "$out"
