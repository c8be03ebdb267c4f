# Sourced by tests/integration/61_fleet.sh and tests/bench/fleet.sh (after
# tests/lib.sh): a fleet of real AP daemons on 127.0.0.1 behind mosquitto
# with TLS and the ACL of docs/CLOUD.md, certificates made by openssl.
# Each AP: its own --root, --run-root and cgroup parent (under T_CGPARENT)
# in FL_DIR/NODE, its node id, its labels. Stopped and cleaned by pid and
# path only (fl_cleanup).
FL_DIR=$T_DIR/fleet
FL_P=$FL_DIR/pki
FL_PIDS=() FL_NODES=() FL_BROKERS=()
mkdir -p "$FL_P"

. "$TOP/tests/cloud_pki.sh"
fl_ca() { pki_ca "$FL_P"; }
# fl_cert NAME [SAN]: a client (CN NAME) or server certificate signed by the CA
fl_cert() { pki_cert "$FL_P" "$@"; }
fl_port() { free_ports 1; }

# fl_broker NAME PORT [EXTRA-CONF-FILE]: mosquitto NAME with TLS, client
# certificates (CN = user) and the ACL; the operator may write the fleet's
# rollout topics, APs may not even read them; `bridge` may carry everything.
fl_broker() {
  local d=$FL_DIR/$1
  mkdir -p "$d"
  mosquitto_tls_conf "$d" "$2" "$FL_P" "persistence true" "persistence_location $d/" "log_type error" \
    "log_type warning" "log_type notice" "max_queued_messages 100000"
  [ -n "${3:-}" ] && cat "$3" >>"$d/mosquitto.conf"
  /usr/sbin/mosquitto -c "$d/mosquitto.conf" 2>>"$d/stderr" &
  FL_BROKERS+=($!)
  eval "FL_BROKER_$1=$!"
  wait_for 100 python3 -c "import socket; socket.create_connection(('127.0.0.1',$2)).close()"
}
# fl_bridge_conf FILE NAME PORT: what makes a broker bridge all of chuted/#
# (both ways, retained flags kept) to the broker on PORT
fl_bridge_conf() {
  cat >"$1" <<X
connection $2
address 127.0.0.1:$3
bridge_cafile $FL_P/ca.crt
bridge_certfile $FL_P/bridge.crt
bridge_keyfile $FL_P/bridge.key
topic chuted/# both 1
cleansession true
X
}

fl_ctl_env() { # PORT: chutectl as the operator on the broker of PORT
  export CHUTECTL_BROKER=mqtts://127.0.0.1:$1 CHUTECTL_CA=$FL_P/ca.crt CHUTECTL_CERT=$FL_P/operator.crt \
    CHUTECTL_KEY=$FL_P/operator.key CHUTECTL_SIGNING_KEY=$FL_DIR/ops.key
}

# fl_ap NODE PORT ARCHIVE... [-- LABEL...]: an AP daemon on the broker of
# PORT, with the images of ARCHIVE(s) loaded into its store
fl_ap() {
  local n=$1 port=$2 d=$FL_DIR/$1 a labels=()
  shift 2
  mkdir -p "$d/root" "$d/run"
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    "$CHUTED" --root "$d/root" --run-root "$d/run" load "oci-archive:$1" >/dev/null || return 1
    shift
  done
  [ "${1:-}" = -- ] && shift
  for a in "$@"; do labels+=(--label "$a"); done
  [ -f "$FL_P/$n.crt" ] || fl_cert "$n"
  "$CHUTED" --root "$d/root" --run-root "$d/run" --cgroup-parent "$T_CGPARENT/$n" daemon \
    --cloud "mqtts://127.0.0.1:$port" --node "$n" --cert "$FL_P/$n.crt" --key "$FL_P/$n.key" --ca "$FL_P/ca.crt" \
    --trust "$FL_DIR/ops.pub" "${labels[@]}" 2>>"$d/daemon.log" &
  FL_PIDS+=($!)
  FL_NODES+=("$n")
}
# fl_chuted NODE ARGS...: chuted on that AP's root
fl_chuted() { local n=$1; shift; "$CHUTED" --root "$FL_DIR/$n/root" --run-root "$FL_DIR/$n/run" --cgroup-parent "$T_CGPARENT/$n" "$@"; }

# fl_publish_raw CERT TOPIC PAYLOAD PORT: one retained QoS 0 PUBLISH with
# CERT's identity, by a bare MQTT 3.1.1 client (python's ssl): the ACL probe
fl_publish_raw() {
  python3 - "$TOP/tests" "$FL_P" "$1" "$2" "$3" "$4" <<'X'
import sys
sys.path.insert(0, sys.argv[1])
import mqtt_bare
p, who, topic, payload, port = sys.argv[2:7]
s = mqtt_bare.connect(p, who, port, b"acl-probe-" + who.encode())
mqtt_bare.publish(s, topic, payload.encode(), retain=True)
mqtt_bare.disconnect(s)
X
}

fl_cleanup() {
  local p n
  for p in "${FL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${FL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for n in "${FL_NODES[@]}"; do
    for c in $(fl_chuted "$n" ps -a -q 2>/dev/null); do fl_chuted "$n" rm -f "$c" >/dev/null 2>&1; done
  done
  # each AP's cgroup parent (T_CGPARENT/NODE), empty once its chutes are gone
  for n in "${FL_NODES[@]}"; do
    for h in /sys/fs/cgroup/*/"$T_CGPARENT/$n" /sys/fs/cgroup/"$T_CGPARENT/$n"; do
      [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  done
  for p in "${FL_BROKERS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  FL_PIDS=() FL_NODES=() FL_BROKERS=()
}
