# Sourced by the cloud link's tests and bench (after tests/lib.sh): a CA and
# client certificates made by openssl, and a real mosquitto with TLS, a
# client certificate required (its CN the user) and docs/CLOUD.md's ACL, on
# 127.0.0.1 (tests/cloud_pki.sh makes both).
#   cloud_pki DIR NAME...      -> DIR/ca.crt, DIR/broker.crt (SAN 127.0.0.1), DIR/NAME.{crt,key}
#   cloud_broker_conf DIR PKI  -> DIR/mosquitto.conf; sets MQ_PORT
#   start_broker / stop_broker -> MQ_PID (the conf of the last cloud_broker_conf)
. "$(dirname "${BASH_SOURCE[0]}")/cloud_pki.sh"
MQ_PID="" MQ_CONF=""

cloud_pki() {
  local p=$1 n; shift
  pki_ca "$p" && pki_cert "$p" broker IP:127.0.0.1 || return 1
  for n in "$@"; do pki_cert "$p" "$n" || return 1; done
}

cloud_broker_conf() {
  MQ_PORT=$(free_ports 1)
  MQ_CONF=$1/mosquitto.conf
  # retained documents saved on every change: a broker killed -9 keeps them
  mosquitto_tls_conf "$1" "$MQ_PORT" "$2" "persistence true" "persistence_location $1/" "autosave_interval 1" \
    "autosave_on_changes true" "log_type error" "log_type warning" "log_type notice" "log_type information"
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
