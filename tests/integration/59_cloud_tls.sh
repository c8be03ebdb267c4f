#!/usr/bin/env bash
# The cloud link's TLS (mbedTLS, mgmt/tls.h; libmosquitto without TLS talks
# to a unix socket of the link's, relayed): the broker's certificate must
# chain to --ca and carry the name the AP dialled (an IP address or a DNS
# name), the broker must accept the AP's certificate, each refusal one line
# saying why; TLS 1.2 (mbedTLS 2.28 has no 1.3: a 1.3-only broker is
# refused with its reason); bad TLS files are refused at start with a clear
# line; the unix socket never outlives a connection attempt. Each case a
# real mosquitto with TLS and client certificates on 127.0.0.1 and the link
# (chuted-cloud, the same code as `chuted daemon --cloud`) as ap-1.
. "$(dirname "$0")/../lib.sh"
LINK=$BIN/chuted-cloud
for p in "$LINK" "$BIN/chutectl" /usr/sbin/mosquitto /usr/bin/openssl; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done
. "$TOP/tests/cloud_pki.sh"

BROKER= LINKPID=
stop_mine() { for p in $LINKPID $BROKER; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; BROKER= LINKPID=; }
trap 'stop_mine; t_cleanup' EXIT

# one CA for the broker and ap-1 (P); a second CA the AP may wrongly trust
P=$T_DIR/pki
pki_ca "$P" && pki_cert "$P" ap-1
pki_ca "$T_DIR/other" && pki_cert "$T_DIR/other" ap-1 # ap-1 of a CA the broker does not trust
"$BIN/chutectl" keygen "$T_DIR/ops" >/dev/null
brokers() { # DIR SAN: a broker certificate of P's CA with this name, in DIR
  mkdir -p "$1" && cp "$P"/ca.* "$1/" && pki_cert "$1" broker "$2"
}
brokers "$T_DIR/b-wrongip" IP:127.0.0.2
brokers "$T_DIR/b-ip" IP:127.0.0.1
brokers "$T_DIR/b-dns" DNS:localhost
check "certificates made" test -s "$T_DIR/b-dns/broker.crt" -a -s "$P/ap-1.crt" -a -s "$T_DIR/other/ca.crt"

PORT=$(free_ports 1)
NBROKER=0
start_broker() { # PKI-DIR [EXTRA...]: a fresh broker on PORT with that broker certificate
  local d=$T_DIR/broker-$((++NBROKER))
  mkdir -p "$d"
  mosquitto_tls_conf "$d" "$PORT" "$@"
  MQLOG=$d/mosquitto.log
  /usr/sbin/mosquitto -c "$d/mosquitto.conf" & BROKER=$!
  wait_for 50 python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT)).close()"
}
start_link() { # URL CA [PKI of ap-1's certificate]
  LINKLOG=$T_DIR/link-$((++NLINK)).log
  "$LINK" cloud --cloud "$1" --node ap-1 --cert "${3:-$P}/ap-1.crt" --key "${3:-$P}/ap-1.key" --ca "$2" \
    --trust "$T_DIR/ops.pub" 2>"$LINKLOG" & LINKPID=$!
}
NLINK=0
online() { grep -q "as chuted-ap-1 " "$MQLOG"; }
# the link says so after each failed attempt (then backs off)
refused() { grep -q "no connection to" "$LINKLOG"; }
# the line before it says why (PORT's regex-free: digits)
why() { grep -q -- "broker 127.0.0.1:$PORT: TLS handshake: $1" "$LINKLOG"; }
no_socket() { ! compgen -G "$T_RUNROOT/cloud.*.sock" >/dev/null; }

# --- the broker's certificate names 127.0.0.2; the AP dialled 127.0.0.1
check "broker (certificate for 127.0.0.2)" start_broker "$T_DIR/b-wrongip"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "a broker certificate for another address: no connection" wait_for 100 refused
check "...the line says why ($(grep TLS "$LINKLOG" | head -1))" why "the peer's certificate is not for 127.0.0.1"
check_fails "...ap-1 never connected at the broker" online
check "...no unix socket left between attempts" no_socket
stop_mine

# --- the right address: the same CA, the same AP files, connected
check "broker (certificate for 127.0.0.1)" start_broker "$T_DIR/b-ip"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "the broker's certificate names the address dialled: ap-1 connected" wait_for 100 online
check "...the unix socket to libmosquitto is gone once connected" no_socket
stop_mine
check "...nor there after the link stopped" no_socket

# --- the AP trusts another CA: the broker's chain does not verify
check "broker again" start_broker "$T_DIR/b-ip"
start_link "mqtts://127.0.0.1:$PORT" "$T_DIR/other/ca.crt"
check "a broker certificate of a CA not in --ca: no connection" wait_for 100 refused
check "...the line says why ($(grep TLS "$LINKLOG" | head -1))" why "the peer's certificate does not chain to --ca $T_DIR/other/ca.crt"
check_fails "...ap-1 never connected at the broker" online
stop_mine

# --- the broker does not trust ap-1's certificate (another CA's): its alert
check "broker again" start_broker "$T_DIR/b-ip"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt" "$T_DIR/other"
check "a certificate the broker does not trust: no connection" wait_for 100 refused
# its alert (unknown CA), or its reset when it closed before reading all ap-1 sent
check "...the line says the broker refused it ($(grep TLS "$LINKLOG" | head -1))" \
  grep -q -E -- "broker 127.0.0.1:$PORT: TLS handshake: the peer (ended it with alert 48 \(unknown CA|reset the connection \(this side's certificate refused)" "$LINKLOG"
check_fails "...ap-1 never connected at the broker" online
stop_mine

# --- a DNS name: localhost in the certificate, localhost dialled; then
# the same broker dialled by address (the certificate names no IP)
if python3 -c "import socket; socket.getaddrinfo('localhost', 1)" 2>/dev/null; then
  check "broker (certificate for DNS:localhost)" start_broker "$T_DIR/b-dns"
  start_link "mqtts://localhost:$PORT" "$P/ca.crt"
  check "the certificate names the host dialled (DNS): ap-1 connected" wait_for 100 online
  kill "$LINKPID"; wait "$LINKPID" 2>/dev/null
  : >"$MQLOG"
  start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
  check "...dialled by address instead: no connection" wait_for 100 refused
  check "...the line says why ($(grep TLS "$LINKLOG" | head -1))" why "the peer's certificate is not for 127.0.0.1"
  check_fails "...ap-1 did not connect" online
  stop_mine
else
  skip "localhost does not resolve"
fi

# --- a TLS 1.2 only broker works; a TLS 1.3 only one refuses the link's
# 1.2 (mbedTLS 2.28, OpenWrt's, has no 1.3), which says so
check "broker with tlsv1.2 only" start_broker "$T_DIR/b-ip" "tls_version tlsv1.2"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "...ap-1 connected over tlsv1.2" wait_for 100 online
stop_mine
check "broker with tlsv1.3 only" start_broker "$T_DIR/b-ip" "tls_version tlsv1.3"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "...no connection" wait_for 100 refused
check "...the line says why ($(grep TLS "$LINKLOG" | head -1))" why "the peer ended it with alert 70 (protocol version"
stop_mine

# --- bad TLS files: one line naming the file, exit 125, before any connection
printf 'not a key\n' >"$T_DIR/bad.key"
out=$("$LINK" cloud --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$T_DIR/bad.key" \
  --ca "$P/ca.crt" --trust "$T_DIR/ops.pub" 2>&1); rc=$?
eq "a --key that is no key: exit 125" "$rc" 125
check "...the message names --key and the file ($out)" grep -q -- "--key $T_DIR/bad.key" <<<"$out"
out=$("$LINK" cloud --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$T_DIR/other/ca.key" \
  --ca "$P/ca.crt" --trust "$T_DIR/ops.pub" 2>&1); rc=$?
eq "a key that is not the certificate's: exit 125" "$rc" 125
check "...the message names --key and says why ($out)" grep -q -- "--key $T_DIR/other/ca.key: .*not the one of --cert" <<<"$out"
out=$("$LINK" cloud --cloud "mqtts://127.0.0.1:$PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" \
  --ca "$T_DIR/bad.key" --trust "$T_DIR/ops.pub" 2>&1); rc=$?
eq "a --ca with no certificate: exit 125" "$rc" 125
check "...the message names --ca ($out)" grep -q -- "--ca $T_DIR/bad.key" <<<"$out"
finish
