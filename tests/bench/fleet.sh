#!/usr/bin/env bash
# The fleet on one broker (issue 13): N real AP daemons (each its own
# --root, --run-root, cgroup parent and node id, one real `net: none` chute
# each, as issue 13 asks: no bridge, veth or lease) on one mosquitto with
# TLS, client certificates and the ACL, and
# `chutectl deploy --group all` of a chute to all of them. For each size of
# FLEET_SIZES (default "10 100 300 1000"): time to 50/99/100 % done (health-
# gated on each AP), broker RSS and CPU over the rollout, per-AP daemon RSS
# and PSS, MQTT bytes through the broker per AP for the deploy, and records
# of the rollout's change in each AP's journal (1 per AP: no duplicate start).
# At the largest size also: an update rollout with the broker killed (-9)
# for 30 s in its middle (still N/N, no duplicate), and one where 10 % of
# the APs fail the health gate (--canary 10 --max-fail 5 %: it stops, those
# back on the old version). Roots on a tmpfs, as on an AP; each AP's root a
# hard-linked copy of a template store (images loaded once).
# Writes its section of docs/BENCHMARKS.md. The 1000 size loads both cores
# for minutes: FLEET_SIZES="10 100" for a quick run, FLEET_FAULTS=0 without
# the fault runs.
set -u
T_NAME=fleet-bench
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fleet_lib.sh"
SIZES=${FLEET_SIZES:-10 100 300 1000}
MAX=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)
OUTAGE_S=${FLEET_OUTAGE_S:-30}
FAULTS_ON=${FLEET_FAULTS:-1} # 0: the rollouts alone (profiling)
# the chutes have no network (net: none); a bridge of the bench's own, should one be made
export CHUTED_BRIDGE=chtflb0 CHUTED_SUBNET=10.220.0.0/21
CTL=$BIN/chutectl
N=chuted-test-fb
ulimit -n 65536 2>/dev/null || ulimit -n 20000
ulimit -u unlimited 2>/dev/null
trap 'fl_cleanup; "$CHUTED" --root "$T_DIR/net-prune" --run-root "$T_DIR/net-prune-run" network prune >/dev/null 2>&1; t_cleanup' EXIT
mount -t tmpfs -o size=8g,mode=0700 chuted-test-fleet "$FL_DIR"
mkdir -p "$FL_P"
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
log() { echo "fleet bench: $*" >&2; }

fl_ca; fl_cert broker IP:127.0.0.1; fl_cert operator; fl_cert bridge
"$CTL" keygen "$FL_DIR/ops" >/dev/null
# $SYS every second, readable by the operator: the broker's byte counters
cat >"$FL_DIR/sys.conf" <<'X'
sys_interval 1
autosave_interval 1
X

# --- images and the two template stores (fleet:3 has /fail on "bad")
make_rootfs "$T_DIR/rootfs" >/dev/null
MK() { "$TOP/tools/mkimage" "$1" --cmd '["/bin/sleep","1000"]' --tag "$2" -o "$3"; }
cp -a "$T_DIR/rootfs" "$T_DIR/rootfs-bad"; echo broken >"$T_DIR/rootfs-bad/fail"
for t in 1 2 3; do MK "$T_DIR/rootfs" "fleet:$t" "$T_DIR/f$t.tar"; done
MK "$T_DIR/rootfs-bad" fleet:3 "$T_DIR/f3bad.tar"
for tpl in good bad; do
  for t in 1 2 3; do
    a=$T_DIR/f$t.tar; [ "$tpl$t" = bad3 ] && a=$T_DIR/f3bad.tar
    "$CHUTED" --root "$FL_DIR/tpl-$tpl" --run-root "$FL_DIR/tpl-run" load "oci-archive:$a" >/dev/null
  done
done
# The engine's health gate: the process alive 1 s. v3 exits at once where
# its image has /fail (the bad APs): their gate fails after its grace.
mk() { # VERSION IMAGE
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: %s\nnet: none\ncommand: "test ! -e /fail || exit 3; trap '"'exit 0'"' TERM; sleep 100000 & wait"\nhealth: {grace: 1s}\n' \
    "$N" "$1" "$2" >"$T_DIR/$1/chute.yaml"
}
mk v1 fleet:1; mk v2 fleet:2; mk v3 fleet:3


# --- measures
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# the host's CPU: "BUSY TOTAL" jiffies of all cores (idle and iowait not busy)
host_cpu() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
load1() { cut -d' ' -f1 /proc/loadavg; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
# the broker's MQTT byte counters (received + sent), from $SYS
sys_bytes() {
  python3 - "$TOP/tests" "$FL_P" "$1" <<'X'
import sys
sys.path.insert(0, sys.argv[1])
import mqtt_bare
s = mqtt_bare.connect(sys.argv[2], "operator", sys.argv[3], b"bench-sys")
mqtt_bare.subscribe(s, "$SYS/broker/bytes/+")
got = {}
while len(got) < 2:
    k, body = mqtt_bare.read(s)
    if k & 0xF0 == 0x30:
        tl = int.from_bytes(body[:2], "big")
        got[body[2:2 + tl].decode()] = int(body[2 + tl:])
print(sum(got.values()))
X
}
# records of rollout R's change ids in each AP's journal that ended done:
# "COUNT-OF-APS-WITH-ONE EXTRA-RECORDS"
journal_count() {
  python3 - "$FL_DIR" "$1" "$2" <<'X'
import glob, json, os, sys
d, r, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
one = extra = 0
for i in range(n):
    c = 0
    for f in glob.glob("%s/ap-%d/root/deploy/journal/%s.*.json" % (d, i, r)):
        j = json.load(open(f))
        if j.get("result") == "done" and j.get("kind") in ("deploy", "update", "rollback", "start", "restart"):
            c += 1
    one += c == 1; extra += max(0, c - 1)
print(one, extra)
X
}
online() { "$CTL" nodes --json 2>/dev/null | js "sum(1 for n in d.values() if n.get('status',{}).get('state')=='online')"; }
vers_count() { # VERSION: APs whose chute runs VERSION, from their reported states
  "$CTL" nodes --json | js "sum(1 for n in d.values() if n.get('reported',{}).get('chutes',{}).get('$N',{}).get('version')=='$1' and n['reported']['chutes']['$N'].get('actual')=='running')"
}
rollout_doc() { "$CTL" watch --json "$1" 2>/dev/null; }
t_of() { js "d['times'].get('$2')" <<<"$1" | awk '{ if ($1 == "None") print "-"; else printf "%.1f s", $1 / 1000 }'; }

ROWS=() FAULTS=()
run_size() {
  local n=$1 port i t0 t1 b0 b1 c0 c1 r out doc rc hz
  hz=$(getconf CLK_TCK)
  port=$(fl_port)
  fl_broker "B$n" "$port" "$FL_DIR/sys.conf" || { log "broker for $n did not start"; return 1; }
  local bpid; eval "bpid=\$FL_BROKER_B$n"
  fl_ctl_env "$port"
  t0=${EPOCHREALTIME/./}
  for ((i = 0; i < n; i++)); do
    local tpl=good
    [ $((i % 10)) = 9 ] && tpl=bad
    mkdir -p "$FL_DIR/ap-$i"
    cp -al "$FL_DIR/tpl-$tpl" "$FL_DIR/ap-$i/root"
    fl_ap "ap-$i" "$port" -- "group=bench" "tpl=$tpl"
  done
  wait_for 3000 sh -c "[ \"\$(\"$CTL\" nodes --json 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for v in json.load(sys.stdin).values() if v.get(\"status\",{}).get(\"state\")==\"online\"))')\" = $n ]" ||
    log "only $(online)/$n online"
  t1=${EPOCHREALTIME/./}
  log "$n APs online in $(((t1 - t0) / 1000)) ms"
  sleep 2
  b0=$(sys_bytes "$port"); c0=$(ticks "$bpid")
  local h0 l0; h0=$(host_cpu); l0=$(load1)
  out=$("$CTL" deploy --group all "$T_DIR/v1" 2>&1); rc=$?
  r=$(head -1 <<<"$out")
  sleep 1.5 # $SYS comes every second
  local h1 l1; h1=$(host_cpu); l1=$(load1)
  b1=$(sys_bytes "$port"); c1=$(ticks "$bpid")
  doc=$(rollout_doc "$r")
  local done_n; done_n=$(js "sum(1 for v in d['nodes'].values() if v['phase']=='done')" <<<"$doc")
  local jc; jc=$(journal_count "$r" "$n")
  local drss dpss
  drss=$(for p in "${FL_PIDS[@]}"; do rss_kb "$p"; done | awk '{s+=$1} END{printf "%.0f", s/NR}')
  dpss=$(for p in "${FL_PIDS[@]}"; do awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup"; done | awk '{s+=$1} END{printf "%.0f", s/NR}')
  local wall; wall=$(js "d['updated_ms']-d['started_ms']" <<<"$doc")
  ROWS+=("| $n | $done_n/$n (exit $rc) | $(js "'%.1f s' % (max(v['sent_ms'] for v in d['nodes'].values()) / 1000)" <<<"$doc") | $(t_of "$doc" t50_ms) | $(t_of "$doc" t99_ms) | $(t_of "$doc" t100_ms) | ${jc% *}/$n, ${jc#* } extra | $(rss_kb "$bpid") KiB | $(awk -v c=$((c1 - c0)) -v h="$hz" -v w="$wall" 'BEGIN{printf "%.1f s (%.0f %% of one core)", c/h, 100*c/h/(w/1000)}') | $drss / $dpss KiB | $(((b1 - b0) / n)) B | $(((t1 - t0) / 1000000)) s | $l0 → $l1, $(awk -v a="$h0" -v b="$h1" 'BEGIN{split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}') % |")
  log "${ROWS[-1]}"
  [ "$n" = "$MAX" ] && [ "$FAULTS_ON" = 1 ] && faults "$n" "$port" "$bpid"
  fl_cleanup
  # the next size starts from fresh roots
  grep " $FL_DIR/ap-" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$FL_DIR"/ap-* "$FL_DIR/B$n"
}

faults() {
  local n=$1 port=$2 bpid=$3 r out rc doc jc half at
  # --- the broker killed for OUTAGE_S in the middle of an update rollout
  # in 10 batches, so that the outage falls in its middle at any size
  local batch=$((n / 10 > 1 ? n / 10 : 1))
  "$CTL" deploy --group all --batch "$batch" "$T_DIR/v2" >"$T_DIR/r2.out" 2>"$T_DIR/r2.err" & local drv=$!
  half=$((n / 3))
  while kill -0 "$drv" 2>/dev/null; do
    at=$(grep -oE 'running: [0-9]+' "$T_DIR/r2.out" | tail -1 | grep -oE '[0-9]+$')
    [ "${at:-0}" -ge "$half" ] && break
    sleep 0.2
  done
  at=$(grep -oE 'running: [0-9]+' "$T_DIR/r2.out" | tail -1)
  kill -9 "$bpid"; wait "$bpid" 2>/dev/null
  log "broker killed at '$at' for $OUTAGE_S s"
  sleep "$OUTAGE_S"
  /usr/sbin/mosquitto -c "$FL_DIR/B$n/mosquitto.conf" 2>/dev/null & bpid=$!
  FL_BROKERS+=($bpid)
  wait "$drv"; rc=$?
  r=$(head -1 "$T_DIR/r2.out")
  doc=$(rollout_doc "$r")
  jc=$(journal_count "$r" "$n")
  FAULTS+=("| broker killed (-9) for $OUTAGE_S s at ${at#running: }/$n done (--batch $batch) | $(js "sum(1 for v in d['nodes'].values() if v['phase']=='done')" <<<"$doc")/$n done (exit $rc), $(vers_count v2) report v2 running | ${jc% *}/$n APs with one record, ${jc#* } extra | 100 % at $(t_of "$doc" t100_ms) |")
  log "${FAULTS[-1]}"
  # --- 10 % of the APs fail v3's health gate: stops at --max-fail 5 %
  out=$("$CTL" deploy --group all --canary 10 --batch $((n / 10 > 1 ? n / 10 : 1)) --max-fail 5% "$T_DIR/v3" 2>&1); rc=$?
  r=$(head -1 <<<"$out")
  doc=$(rollout_doc "$r")
  local failed back bad
  failed=$(js "sum(1 for v in d['nodes'].values() if v['phase']=='failed')" <<<"$doc")
  back=$(js "sum(1 for v in d['nodes'].values() if v['phase']=='failed' and v.get('revert')=='reverted')" <<<"$doc")
  bad=$(js "sum(1 for k, v in d['nodes'].items() if v['phase'] != 'pending' and int(k[3:]) % 10 == 9)" <<<"$doc")
  FAULTS+=("| 10 % fail the health gate, --canary 10 --batch $((n / 10 > 1 ? n / 10 : 1)) --max-fail 5% | $(js "d['state']" <<<"$doc") (exit $rc): $(js "sum(1 for v in d['nodes'].values() if v['phase']=='done')" <<<"$doc") done, $failed failed of $bad bad APs reached, $(js "sum(1 for v in d['nodes'].values() if v['phase']=='pending')" <<<"$doc") never reached | $back/$failed failed APs put back on their old version; $(vers_count v3) run v3, $(vers_count v2) run v2 | $(js "d.get('reason','')" <<<"$doc") |")
  log "${FAULTS[-1]}"
}

for s in $SIZES; do
  log "size $s"
  run_size "$s"
done

out=$(mktemp)
{
  echo "<!-- fleet-bench:start -->"
  echo "## Fleet: one rollout to N APs on one broker (tests/bench/fleet.sh, $(date -u +%F), $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GB)"
  echo
  echo "Command: \`make bench\` (or \`FLEET_SIZES=\"10 100\" tests/bench/fleet.sh\`). N real \`chuted daemon --cloud\` processes, each its own"
  echo "root (a tmpfs), run root, cgroup parent and node id, on one mosquitto $(/usr/sbin/mosquitto -h | head -1 | awk '{print $3}') (TLS, client certificates, ACL);"
  echo "\`chutectl deploy --group all\` of one chute (busybox, \`net: none\`, health gate: the process alive 1 s) to every AP,"
  echo "no canary, no batch limit. Times from the rollout's first document; \"done\" = the AP reported the change applied"
  echo "and health-gated. Journal: APs with exactly one record of the rollout's change, and extra records (duplicate"
  echo "starts). Broker CPU over the rollout's wall time. Bytes: the broker's MQTT counters (\$SYS, in + out, TLS not"
  echo "counted) over the rollout, divided by N: desired document (signed, with the chute file), events, reported state,"
  echo "and chutectl's share (the rollout document, ~110 bytes per AP, goes out every 1 s + 5 ms per AP). \"all sent\":"
  echo "when the last AP's document was published. Setup: the daemons started and online."
  echo
  echo "Where the time goes: not the broker (a few % of one core) nor chutectl (all documents out in \"all sent\"), but"
  echo "the chute starts: every AP here starts its chute on the same 2 cores (a forked change, the monitor, the runtime"
  echo "with its namespaces, mounts and each AP's first seccomp compile (its cache is per run root), the 1 s health"
  echo "gate). On a real fleet each AP starts its own chute on its own CPU; the broker-side columns are what a fleet"
  echo "scales on. \"host\": the 1-minute load average at the rollout's start and end, and how busy both cores were"
  echo "over it (/proc/stat), other helpers' builds and tests included. Before (2026-11-30, same bench, same host): the"
  echo "chutes on the bridge network (a veth each on one shared bridge, its IPAM, a netns file) and every cgroup open"
  echo "reading /proc/self/mountinfo (which grows with each running chute): 1000 APs converged in 131.7 s, 300 in 21.4 s."
  echo
  echo "| APs | done | all sent | 50 % | 99 % | 100 % | journal | broker RSS | broker CPU | daemon RSS / PSS (mean) | bytes per AP | setup | host: load, CPU busy |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  if [ ${#FAULTS[@]} -gt 0 ]; then
    echo "Faults at $MAX APs:"
    echo
    echo "| fault | result | check | |"
    echo "|---|---|---|---|"
    printf '%s\n' "${FAULTS[@]}"
    echo
  fi
  echo "<!-- fleet-bench:end -->"
} >"$out"
cat "$out"
python3 "$TOP/tests/bench/put_section.py" fleet-bench <"$out"
rm -f "$out"
