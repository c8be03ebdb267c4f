# Sourced by the cloud link's tests and bench (after tests/lib.sh): a CA and
# client certificates made by openssl, and a real mosquitto with TLS, a
# client certificate required (its CN the user) and docs/CLOUD.md's ACL, on
# 127.0.0.1. tests/integration/59_cloud.sh has its own copy of the same.
#   cloud_pki DIR NAME...      -> DIR/ca.crt, DIR/broker.crt (SAN 127.0.0.1), DIR/NAME.{crt,key}
#   cloud_broker_conf DIR PKI  -> DIR/mosquitto.conf; sets MQ_PORT
#   start_broker / stop_broker -> MQ_PID (the conf of the last cloud_broker_conf)
MQ_PID="" MQ_CONF=""

cloud_pki() {
  local p=$1 n; shift
  mkdir -p "$p"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" \
    -days 2 -subj /CN=chuted-test-ca >/dev/null 2>&1 || return 1
  for n in broker "$@"; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$p/$n.key" -out "$p/$n.csr" \
      -subj "/CN=$n" >/dev/null 2>&1 || return 1
    if [ "$n" = broker ]; then echo subjectAltName=IP:127.0.0.1 >"$p/$n.ext"; else : >"$p/$n.ext"; fi
    openssl x509 -req -in "$p/$n.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -out "$p/$n.crt" \
      -days 2 -extfile "$p/$n.ext" >/dev/null 2>&1 || return 1
  done
}

cloud_broker_conf() {
  local d=$1 p=$2
  MQ_PORT=$(free_port)
  MQ_CONF=$d/mosquitto.conf
  cat >"$d/acl" <<'X'
user operator
topic readwrite chuted/v1/#

pattern read chuted/v1/%u/desired
pattern read chuted/v1/%u/cmd/+
pattern write chuted/v1/%u/reported
pattern write chuted/v1/%u/status
pattern write chuted/v1/%u/metrics
pattern write chuted/v1/%u/evt/+
pattern write chuted/v1/%u/logs/+
pattern write chuted/v1/%u/reply/+
X
  # retained documents saved on every change: a broker killed -9 keeps them
  cat >"$MQ_CONF" <<X
user root
per_listener_settings false
persistence true
persistence_location $d/
autosave_interval 1
autosave_on_changes true
log_dest file $d/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
acl_file $d/acl
listener $MQ_PORT 127.0.0.1
cafile $p/ca.crt
certfile $p/broker.crt
keyfile $p/broker.key
require_certificate true
use_identity_as_username true
X
}

port_open() { /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$1)).close()" 2>/dev/null; }

start_broker() {
  /usr/sbin/mosquitto -c "$MQ_CONF" & MQ_PID=$!
  local n=50
  while [ $n -gt 0 ] && ! port_open "$MQ_PORT"; do sleep 0.1; n=$((n - 1)); done
  [ $n -gt 0 ]
}

stop_broker() { # [SIGNAL]
  [ -n "$MQ_PID" ] && kill -"${1:-TERM}" "$MQ_PID" 2>/dev/null && wait "$MQ_PID" 2>/dev/null
  MQ_PID=""
}
