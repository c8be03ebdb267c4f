#!/usr/bin/env bash
# The cloud link end to end on 127.0.0.1: a real mosquitto with TLS, client
# certificates and an ACL that confines each AP to chuted/v1/ITS-CN/...;
# chuted-cloud (the link + the deploy engine) as AP ap-1; chutectl as the
# operator. Deploy, update, stop, start, rollback, rm checked on the AP;
# one document delivered 5 times starts the chute once; unsigned, tampered,
# untrusted-key, other-node and replayed documents refused with a reason in
# the reported state and never applied; ap-2's certificate can neither read
# ap-1's desired state nor publish as ap-1; logs only on demand.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtcld0 CHUTED_SUBNET=10.231.159.0/24
MKIMAGE="$TOP/tools/mkimage"
CTL=$BIN/chutectl
LINK=$BIN/chuted-cloud
N=chuted-test-cloud
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for p in "$CTL" "$LINK" /usr/sbin/mosquitto /usr/bin/openssl; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done

BROKER= LINKPID=
stop_mine() { for p in $LINKPID $BROKER; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; BROKER= LINKPID=; }
trap 'stop_mine; t_cleanup' EXIT

# --- certificates: a CA, the broker (SAN 127.0.0.1), ap-1, ap-2, the operator
. "$TOP/tests/cloud_pki.sh"
P=$T_DIR/pki
pki_ca "$P"
pki_cert "$P" broker IP:127.0.0.1
pki_cert "$P" ap-1; pki_cert "$P" ap-2; pki_cert "$P" operator
check "certificates made" test -s "$P/operator.crt" -a -s "$P/ap-2.crt" -a -s "$P/broker.crt"

# --- the broker: TLS only, a client certificate required, its CN the user
PORT=$(free_ports 1)
# every PUBLISH logged: the logs check counts them
mosquitto_tls_conf "$T_DIR" "$PORT" "$P" "persistence true" "persistence_location $T_DIR/" "log_type all"
start_broker() {
  /usr/sbin/mosquitto -c "$T_DIR/mosquitto.conf" & BROKER=$!
  wait_for 50 python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT)).close()"
}
check "mosquitto with TLS + ACL on 127.0.0.1:$PORT" start_broker
[ "$T_FAILS" = 0 ] || finish

export CHUTECTL_BROKER=mqtts://127.0.0.1:$PORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt CHUTECTL_KEY=$P/operator.key
export CHUTECTL_SIGNING_KEY=$T_DIR/ops.key
check "chutectl keygen" "$CTL" keygen "$T_DIR/ops"
check "...an untrusted second key" "$CTL" keygen "$T_DIR/rogue"
eq "private key 0600" "$(stat -c %a "$T_DIR/ops.key")" 600
# an option without its value or with a bad one is a usage error (2), as getopt's are
out=$("$CTL" deploy --group 2>&1); rc=$?
eq "chutectl deploy --group without a value: usage, exit 2" "$rc:$out" "2:chutectl: --group needs a value (see chutectl --help)"
out=$("$CTL" deploy --group lab --max-fail lots v1 2>&1); rc=$?
eq "chutectl --max-fail lots: usage, exit 2" "$rc:$out" "2:chutectl: --max-fail: \`lots\` is not a number (see chutectl --help)"

# --- the AP
make_rootfs "$T_DIR/rootfs" >/dev/null
"$MKIMAGE" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag cloud:1 -o "$T_DIR/img.tar"
check "image loaded on the AP" chuted load "oci-archive:$T_DIR/img.tar"
mk() { # VERSION
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: cloud:1\ncommand: "echo %s > /tmp/ver; echo hello-from-%s; trap exit TERM; sleep 1000 & wait"\nresource: {memory: 64M}\n' \
    "$N" "$1" "$1" "$1" >"$T_DIR/$1/chute.yaml"
}
mk v1; mk v2
start_link() {
  "$LINK" cloud --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" --ca "$P/ca.crt" \
    --trust "$T_DIR/ops.pub" 2>>"$T_DIR/link.log" & LINKPID=$!
}
# the daemon hosts the same link: `chuted daemon --cloud ...`
start_daemon() {
  "$CHUTED" daemon --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" --ca "$P/ca.crt" \
    --trust "$T_DIR/ops.pub" 2>>"$T_DIR/link.log" & LINKPID=$!
}
start_link
node_state() { "$CTL" nodes --json | js "d.get('ap-1',{}).get('status',{}).get('state')"; }
check "ap-1 online (retained status)" wait_for 100 sh -c "\"$CTL\" nodes --json | grep -q '\"online\"'"
[ "$T_FAILS" = 0 ] || finish

ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
starts() { chuted changes --json | js "len([c for c in d if c['chute']=='$N' and c['kind'] in ('deploy','update','rollback','start','restart') and c['result']=='done'])"; }
reported() { "$CTL" nodes --json | js "d['ap-1']['reported']$1"; }

out=$("$CTL" deploy --wait ap-1 "$T_DIR/v1" 2>&1); rc=$?
eq "chutectl deploy --wait v1 exits 0 ($(tail -1 <<<"$out"))" "$rc" 0
eq "...v1 runs on the AP" "$(ver)" v1
C1=$(head -1 <<<"$out")
check "...progress events of $C1 came (queued .. done)" sh -c "grep -q ': queued' <<'X' && grep -q ': done' <<'X2'
$out
X
$out
X2"
eq "reported: v1 running healthy, generation 1" "$(reported "['chutes']['$N']['version'], d['ap-1']['reported']['chutes']['$N']['health'], d['ap-1']['reported']['link']['generation']")" "v1 healthy 1"
"$CTL" desired ap-1 >"$T_DIR/gen1.json"
check "the retained desired document is signed" grep -q '"sig"' "$T_DIR/gen1.json"

# --- exactly once: the same document 5 times
before=$(starts)
for i in 1 2 3 4 5; do "$CTL" publish ap-1 "$T_DIR/gen1.json" || fail "publish $i"; done
check "update to v2 after them (applied in order)" "$CTL" deploy --wait ap-1 "$T_DIR/v2/chute.yaml"
eq "v2 runs" "$(ver)" v2
eq "5 deliveries of generation 1 + v2: one start (v2's)" "$(starts)" "$((before + 1))"
"$CTL" desired ap-1 >"$T_DIR/good.json"
GEN=$(js 'd["generation"]' <"$T_DIR/good.json")

# --- refusals: each reported with its reason, none applied
refused() { "$CTL" nodes --json | js "(d['ap-1']['reported']['link'].get('refused') or {}).get('reason','')"; }
bad() { # NAME EXPECTED-REASON-PART DOCFILE
  "$CTL" publish ap-1 "$3" || { fail "$1: publish"; return; }
  if wait_for 100 sh -c "\"$CTL\" nodes --json | grep -q \"$2\""; then pass "$1 refused: $(refused)"; else fail "$1 not refused ($(refused))"; fi
  eq "...not applied: v2 still runs, generation $GEN" "$(ver) $(reported "['link']['generation']")" "v2 $GEN"
}
# a document that would stop the chute, at the next generation
python3 - "$T_DIR/good.json" "$T_DIR" "$N" <<'X'
import json, sys
d = json.load(open(sys.argv[1])); t = sys.argv[2]; n = sys.argv[3]
d["generation"] += 1; d["change"] = "evil-1"; d["chutes"][n]["running"] = False
u = dict(d); u.pop("signature"); json.dump(u, open(t + "/unsigned.json", "w"))
json.dump(d, open(t + "/tampered.json", "w"))          # signature of the good one, content changed
u["node"] = "ap-2"; json.dump(u, open(t + "/other.unsigned.json", "w"))
X
CHUTECTL_SIGNING_KEY=$T_DIR/rogue.key "$CTL" sign "$T_DIR/unsigned.json" >"$T_DIR/rogue.json"
"$CTL" sign "$T_DIR/other.unsigned.json" >"$T_DIR/other.json"
"$CTL" sign "$T_DIR/unsigned.json" >"$T_DIR/stop-signed.json"
bad "unsigned document" "unsigned" "$T_DIR/unsigned.json"
bad "tampered document" "bad signature" "$T_DIR/tampered.json"
bad "document signed by an untrusted key" "which is not trusted" "$T_DIR/rogue.json"
bad "document for another node (validly signed)" "for node .ap-2." "$T_DIR/other.json"
bad "replayed older generation (validly signed)" "generation 1 is older" "$T_DIR/gen1.json"
check "the last good document back" "$CTL" publish ap-1 "$T_DIR/good.json"

# --- the ACL: ap-2's certificate
AP2="$CTL --cert $P/ap-2.crt --key $P/ap-2.key"
out=$($AP2 desired ap-1 2>&1); rc=$?
check "ap-2 cannot read ap-1's desired state ($out)" test $rc -ne 0
# ap-2 publishes, as ap-1, a desired document with the chute stopped, signed
# by the operator's key (as if ap-2 had got hold of one): the broker drops it
$AP2 publish ap-1 "$T_DIR/stop-signed.json" >/dev/null 2>&1
check "ap-2 publishing ap-1's desired is dropped (the retained document is still the good one)" \
  sh -c "\"$CTL\" desired ap-1 | grep -q '\"$(js 'd["change"]' <"$T_DIR/good.json")\"'"
eq "...and ap-1's chute still runs v2" "$(ver)" v2
eq "ap-1 still online and at generation $GEN" "$(node_state) $(reported "['link']['generation']")" "online $GEN"

# --- stop, start, rollback, logs, rm from chutectl, checked on the AP
check "chutectl stop" "$CTL" stop --wait ap-1 "$N"
check "...the chute is stopped on the AP" test "$(chuted chutes --json | js "[c['actual'] for c in d if c['name']=='$N'][0]")" = stopped
check "chutectl start" "$CTL" start --wait ap-1 "$N"
eq "...v2 runs again" "$(ver)" v2
check "chutectl rollback" "$CTL" rollback --wait ap-1 "$N"
eq "...v1 runs (the kept previous version)" "$(ver)" v1
out=$("$CTL" logs ap-1 "$N" 2>&1)
check "chutectl logs: the chute's output ($out)" grep -q hello-from-v1 <<<"$out"
n1=$(grep -c "PUBLISH from chuted-ap-1 .*logs/$N" "$T_DIR/mosquitto.log")
check "...which came as $n1 publish(es) on ap-1's logs topic" test "$n1" -gt 0
chuted exec "$N" sh -c 'echo more > /proc/1/fd/1'
sleep 1
eq "...the lease ended with chutectl: a new line is not sent" "$(grep -c "PUBLISH from chuted-ap-1 .*logs/$N" "$T_DIR/mosquitto.log")" "$n1"
# --- offline: the link down while the desired state changes twice; back
# (now hosted by the daemon), it applies only the newest document (which
# holds both changes), as a change of the daemon's queue
kill "$LINKPID"; wait "$LINKPID"; LINKPID=
C_MID=$("$CTL" deploy ap-1 "$T_DIR/v2")
C_NEW=$("$CTL" stop ap-1 "$N")
start_daemon
applied() { "$CTL" nodes --json | js "d['ap-1']['reported']['link']['change'], d['ap-1']['reported']['link']['result']"; }
check "link back: the newest document ($C_NEW) applied" wait_for 300 sh -c "[ \"\$(\"$CTL\" nodes --json | python3 -c \"import json,sys; l=json.load(sys.stdin)['ap-1']['reported']['link']; print(l['change'], l['result'])\")\" = '$C_NEW done' ]"
eq "...the intermediate one ($C_MID) never ran" "$(chuted changes --json | grep -c "\"$C_MID\\.")" 0
eq "...its changes, in the daemon's API: the update and the stop, done" "$(curl -s --unix-socket "$T_RUNROOT/api.sock" http://x/api/v1/changes | js "sorted((c['id'], c['result']) for c in d if c['id'].startswith('$C_NEW.'))")" "[('$C_NEW.deploy.$N', 'done'), ('$C_NEW.stop.$N', 'done')]"
echo "INFO: $T_NAME: the daemon with the TLS link up: $(grep -E '^(Rss|Pss):' /proc/$LINKPID/smaps_rollup | tr -s ' \t\n' ' ')"
eq "...v2 deployed and stopped, as the newest says" "$(chuted chutes --json | js "[(c['version'], c['actual']) for c in d if c['name']=='$N']")" "[('v2', 'stopped')]"

# --- the broker restarted (its retained topics kept): the link reconnects
kill "$BROKER"; wait "$BROKER"; BROKER=
check "broker restarted" start_broker
check "chutectl start after the restart: applied (the link reconnected)" "$CTL" start --wait ap-1 "$N"
eq "...v2 runs" "$(ver)" v2

check "chutectl rm" "$CTL" rm --wait ap-1 "$N"
check "...the chute is gone from the AP" sh -c "! \"$CHUTED\" ps -a -q | grep -qx '$N'"
eq "...and from its desired state" "$(chuted chutes --json)" "[]"
out=$("$CTL" nodes 2>&1)
check "chutectl nodes lists ap-1 online ($out)" grep -q "^ap-1 *online" <<<"$out"

# --- the last will: the AP killed, the broker says offline
kill -9 "$LINKPID"; wait "$LINKPID" 2>/dev/null; LINKPID=
check "kill -9 of the AP's link: its status turns offline (last will)" wait_for 600 sh -c "\"$CTL\" nodes --json | grep -q '\"offline\"'"

stop_mine
check "the link's log has no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error' '$T_DIR/link.log'"
chuted network prune >/dev/null 2>&1
no_leftovers "cloud"
finish
