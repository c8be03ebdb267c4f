# Shared by the cloud link's tests (sourced): the test's own PKI made by
# openssl (a CA, then one certificate per broker, AP or operator, its CN the
# MQTT user) and a mosquitto configuration with TLS, client certificates and
# the ACL of docs/CLOUD.md that confines each AP to chuted/v1/ITS-CN/...

# pki_ca DIR: a CA (DIR/ca.key, DIR/ca.crt)
pki_ca() {
  mkdir -p "$1" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" -out "$1/ca.crt" \
      -days 2 -subj /CN=chuted-test-ca >/dev/null 2>&1
}

# pki_cert DIR NAME [SAN]: DIR/NAME.key, DIR/NAME.crt signed by DIR's CA, CN=NAME
pki_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" -out "$1/$2.csr" \
    -subj "/CN=$2" >/dev/null 2>&1 || return 1
  if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" >"$1/$2.ext"; else : >"$1/$2.ext"; fi
  openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -out "$1/$2.crt" \
    -days 2 -extfile "$1/$2.ext" >/dev/null 2>&1
}

# cloud_acl FILE: the operator reads and writes every topic (the fleet's
# rollouts too, and reads the broker's $SYS counters), a bridge between two
# brokers carries everything, an AP reads and writes only its own topics
cloud_acl() {
  cat >"$1" <<'X'
user operator
topic readwrite chuted/v1/#
topic readwrite chuted/fleet/#
topic read $SYS/#

user bridge
topic readwrite chuted/#

pattern read chuted/v1/%u/desired
pattern read chuted/v1/%u/cmd/+
pattern write chuted/v1/%u/reported
pattern write chuted/v1/%u/status
pattern write chuted/v1/%u/metrics
pattern write chuted/v1/%u/evt/+
pattern write chuted/v1/%u/logs/+
pattern write chuted/v1/%u/reply/+
X
}

# mosquitto_tls_conf DIR PORT PKI [EXTRA...]: DIR/mosquitto.conf and DIR/acl for a
# broker on 127.0.0.1:PORT, TLS only, a client certificate required, its CN
# the user (PKI/broker.crt must exist); EXTRA lines are appended as they are
mosquitto_tls_conf() {
  local d=$1 port=$2 pki=$3
  shift 3
  cloud_acl "$d/acl"
  {
    cat <<X
# the test's files are root's, 0700: the broker stays root
user root
per_listener_settings false
log_dest file $d/mosquitto.log
acl_file $d/acl
listener $port 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker.crt
keyfile $pki/broker.key
require_certificate true
use_identity_as_username true
X
    local l
    for l in "$@"; do echo "$l"; done
  } >"$d/mosquitto.conf"
}

# free_ports N: N free TCP ports on 127.0.0.1, one per line
free_ports() {
  python3 -c 'import socket,sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
