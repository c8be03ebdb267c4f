#!/usr/bin/env bash
# The cloud link under faults (issue 12's list, what 59_cloud.sh does not
# cover): a new document delivered 5 times in a burst starts its chute once;
# the AP's daemon and its change killed -9 in the middle of a deploy
# converge after a restart; the broker killed -9 and restarted in the middle
# of a deploy: converges, nothing lost; restarted after a document was
# applied: that document, delivered again, starts no change; the AP cut off from the broker while
# the desired state changes twice applies only the newest once back; a
# broker that speaks only MQTT 3.1.1: the link falls back and works.
# The AP (`chuted daemon --cloud`) reaches the broker through
# tests/cloud_proxy.py, which stands for the network (or an old broker).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/registry.sh"
. "$TOP/tests/cloud.sh"
export CHUTED_BRIDGE=chtcfl0 CHUTED_SUBNET=10.231.162.0/24
CTL=$BIN/chutectl
N=chuted-test-cfl
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for p in "$CTL" /usr/sbin/mosquitto /usr/bin/openssl; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done
AP= PROXY=
stop_ap() { [ -n "$AP" ] && kill -"${1:-TERM}" -- "-$AP" 2>/dev/null; [ -n "$AP" ] && wait "$AP" 2>/dev/null; AP=; }
stop_proxy() { [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null; PROXY=; }
trap 'stop_ap; stop_proxy; stop_broker; t_cleanup' EXIT

P=$T_DIR/pki
check "certificates made" cloud_pki "$P" ap-1 operator
cloud_broker_conf "$T_DIR" "$P"
check "mosquitto with TLS + ACL" start_broker
[ "$T_FAILS" = 0 ] || finish
export CHUTECTL_BROKER=mqtts://127.0.0.1:$MQ_PORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt \
  CHUTECTL_KEY=$P/operator.key CHUTECTL_SIGNING_KEY=$T_DIR/ops.key
"$CTL" keygen "$T_DIR/ops" >/dev/null

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh"]' --tag cfl:1 -o "$T_DIR/img.tar"
check "image loaded on the AP" chuted load "oci-archive:$T_DIR/img.tar"
mk() { # VERSION [GRACE]: GRACE 3s (the default gate) leaves time to break things in the middle
  mkdir -p "$T_DIR/$1"
  printf 'name: %s\nversion: "%s"\nimage: cfl:1\ncommand: "echo %s > /tmp/ver; trap exit TERM; sleep 1000 & wait"\nhealth: {grace: %s}\n' \
    "$N" "$1" "$1" "${2:-1s}" >"$T_DIR/$1/chute.yaml"
}
mk v1; mk v2; mk v3 3s; mk v4 3s

PP=$(free_port)
start_proxy() { # MODE
  /usr/bin/python3 "$TOP/tests/cloud_proxy.py" "$1" "$PP" "$MQ_PORT" "$T_DIR/proxy.json" "$P" ap-1 2>>"$T_DIR/proxy.log" &
  PROXY=$!
  wait_for 50 port_open "$PP"
}
# its own process group: kill -9 takes the daemon and the change it runs, as a crash would
start_ap() {
  setsid "$CHUTED" daemon --cloud "mqtts://127.0.0.1:$PP" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" \
    --ca "$P/ca.crt" --trust "$T_DIR/ops.pub" 2>>"$T_DIR/link.log" & AP=$!
}
nodes() { "$CTL" nodes --json; }
online_is() { [ "$(nodes | js "d['ap-1']['status']['state'], d['ap-1']['status'].get('protocol')")" = "$1" ]; }
link_is() { # CHANGE RESULT: the reported state says CHANGE ended with RESULT
  [ "$(nodes | js "d['ap-1']['reported']['link']['change'], d['ap-1']['reported']['link']['result']")" = "$1 $2" ]
}
ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
changes_of() { chuted changes --json | js "sorted((c['id'], c['result']) for c in d if c['id'].startswith('$1.'))"; }
in_gate() { [ "$(chuted changes --json | js "[c['phase'] for c in d if c['id'] == '$1']")" = "['waiting for health']" ]; }
starts() { chuted changes --json | js "len([c for c in d if c['chute']=='$N' and c['kind'] in ('deploy','update','rollback','start','restart') and c['result']=='done'])"; }

check "proxy up" start_proxy forward
start_ap
check "ap-1 online through the proxy" wait_for 100 online_is 'online mqtt-5'
check "deploy v1" "$CTL" deploy --wait ap-1 "$T_DIR/v1"
eq "...v1 runs" "$(ver)" v1

# --- a new document delivered 5 times in a burst: one start
before=$(starts)
C=$("$CTL" deploy ap-1 "$T_DIR/v2")
"$CTL" desired ap-1 >"$T_DIR/burst.json"
for i in 2 3 4 5; do "$CTL" publish ap-1 "$T_DIR/burst.json" || fail "publish $i"; done
check "5 deliveries of $C: applied" wait_for 200 link_is "$C" done
eq "...one update, done" "$(changes_of "$C")" "[('$C.deploy.$N', 'done')]"
eq "...the chute started once" "$(starts)" "$((before + 1))"
eq "...v2 runs" "$(ver)" v2

# --- the daemon and its change killed -9 in the health gate of a deploy
C=$("$CTL" deploy ap-1 "$T_DIR/v3")
check "deploy v3 in its health gate" wait_for 200 in_gate "$C.deploy.$N"
stop_ap KILL
start_ap
check "daemon killed -9 and restarted: $C converges (done)" wait_for 300 link_is "$C" done
eq "...v3 runs" "$(ver)" v3
eq "...the update recorded once, done" "$(changes_of "$C")" "[('$C.deploy.$N', 'done')]"

# --- the broker killed -9 and restarted in the health gate of a deploy
C=$("$CTL" deploy ap-1 "$T_DIR/v4")
check "deploy v4 in its health gate" wait_for 200 in_gate "$C.deploy.$N"
stop_broker KILL
check "broker restarted" start_broker
check "broker killed -9 mid-deploy: $C converges (done, reported once the link is back)" wait_for 300 link_is "$C" done
eq "...v4 runs" "$(ver)" v4
eq "...the retained desired document survived: still $C" "$("$CTL" desired ap-1 | js "d['change']")" "$C"

# --- the broker restarted once $C is applied: its retained document comes
# again at the reconnect, and nothing is applied again (a fleet's restart)
G=$("$CTL" desired ap-1 | js "d['generation']")
state_ino=$(stat -c %i "$T_ROOT/deploy/cloud.json")
journal_n=$(ls "$T_ROOT/deploy/journal" | wc -l)
before=$(starts)
stop_broker KILL
check "broker restarted after $C was applied" start_broker
check "...the AP gets $C again and sees it applied" \
  wait_for 300 grep -q "desired generation $G (change $C) is applied: not applied again" "$T_DIR/link.log"
eq "...no new change: cloud.json not rewritten, no journal record, no start" \
  "$(stat -c %i "$T_ROOT/deploy/cloud.json") $(ls "$T_ROOT/deploy/journal" | wc -l) $(starts)" "$state_ino $journal_n $before"

# --- cut off from the broker (the AP's network down) while the desired
# state changes twice: back, only the newest is applied
stop_proxy
check "ap-1 offline (last will)" wait_for 600 online_is 'offline None'
C_MID=$("$CTL" deploy ap-1 "$T_DIR/v1")
C_NEW=$("$CTL" stop ap-1 "$N")
t0=$(date +%s%N)
start_proxy forward
check "the AP reconnects (its backoff)" wait_for 600 sh -c "grep -q '\"conns\": 1' '$T_DIR/proxy.json'"
t1=$(date +%s%N)
check "back online: the newest ($C_NEW) applied" wait_for 600 link_is "$C_NEW" done
echo "INFO: $T_NAME: network back -> reconnected $(( (t1 - t0) / 1000000 )) ms -> newest applied $(( ($(date +%s%N) - t1) / 1000000 )) ms"
eq "...the intermediate one ($C_MID) never ran" "$(changes_of "$C_MID")" "[]"
eq "...v1 deployed and stopped, as the newest says" "$(chuted chutes --json | js "[(c['version'], c['actual']) for c in d if c['name']=='$N']")" "[('v1', 'stopped')]"

# --- a broker that speaks only MQTT 3.1.1
stop_ap
stop_proxy
check "proxy as a 3.1.1-only broker" start_proxy v311
start_ap
check "the link falls back to 3.1.1 and comes online" wait_for 100 online_is 'online mqtt-3.1.1'
check "...after its MQTT 5 CONNECT was refused" test "$(js "d['refused_v5']" <"$T_DIR/proxy.json")" -ge 1
check "...and works: chutectl start --wait" "$CTL" start --wait ap-1 "$N"
eq "...v1 runs" "$(ver)" v1
check "chutectl rm" "$CTL" rm --wait ap-1 "$N"

stop_ap
stop_proxy
check "the link's log has no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error' '$T_DIR/link.log'"
chuted network prune >/dev/null 2>&1
no_leftovers "cloud-faults"
finish
