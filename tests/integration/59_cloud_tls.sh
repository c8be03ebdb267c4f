#!/usr/bin/env bash
# The cloud link's TLS (mgmt/cloud_tls.c: the context is the link's own, not
# libmosquitto's): the broker's certificate must chain to --ca and carry the
# name the AP dialled (an IP address or a DNS name), TLS 1.2 and 1.3 both
# work, and bad TLS files are refused at start with a clear line. Each case
# a real mosquitto with TLS and client certificates on 127.0.0.1 and the link
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
pki_ca "$T_DIR/other"
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
start_link() { # URL CA
  LINKLOG=$T_DIR/link-$((++NLINK)).log
  "$LINK" cloud --cloud "$1" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" --ca "$2" \
    --trust "$T_DIR/ops.pub" 2>"$LINKLOG" & LINKPID=$!
}
NLINK=0
online() { grep -q "as chuted-ap-1 " "$MQLOG"; }
# the link says so after each failed attempt (then backs off)
refused() { grep -q "no connection to" "$LINKLOG"; }

# --- the broker's certificate names 127.0.0.2; the AP dialled 127.0.0.1
check "broker (certificate for 127.0.0.2)" start_broker "$T_DIR/b-wrongip"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "a broker certificate for another address: no connection" wait_for 100 refused
check_fails "...ap-1 never connected at the broker" online
stop_mine

# --- the right address: the same CA, the same AP files, connected
check "broker (certificate for 127.0.0.1)" start_broker "$T_DIR/b-ip"
start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
check "the broker's certificate names the address dialled: ap-1 connected" wait_for 100 online
stop_mine

# --- the AP trusts another CA: the broker's chain does not verify
check "broker again" start_broker "$T_DIR/b-ip"
start_link "mqtts://127.0.0.1:$PORT" "$T_DIR/other/ca.crt"
check "a broker certificate of a CA not in --ca: no connection" wait_for 100 refused
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
  check_fails "...ap-1 did not connect" online
  stop_mine
else
  skip "localhost does not resolve"
fi

# --- TLS 1.2 only and TLS 1.3 only brokers: both versions work
for v in tlsv1.2 tlsv1.3; do
  check "broker with $v only" start_broker "$T_DIR/b-ip" "tls_version $v"
  start_link "mqtts://127.0.0.1:$PORT" "$P/ca.crt"
  check "...ap-1 connected over $v" wait_for 100 online
  stop_mine
done

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
