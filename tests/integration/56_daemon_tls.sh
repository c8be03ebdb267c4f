#!/usr/bin/env bash
# The REST API's TLS, the daemon's own on mbedTLS (mgmt/daemon_tls.c):
# libmicrohttpd (built without HTTPS) serves the cleartext end of each
# connection the daemon accepts and relays. HTTPS with the bearer token; a
# client that never finishes its handshake (silent, or half a ClientHello)
# is dropped after the connection timeout (--timeout 2 here); TLS 1.3 only
# clients are refused (mbedTLS 2.28: TLS 1.2); a bad --tls-key is one line
# at start. 56_daemon.sh covers the token, the per-address limit and plain
# HTTP on the TLS port.
. "$(dirname "$0")/../lib.sh"
for p in /usr/bin/openssl /usr/bin/curl; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done
SOCK=$T_DIR/api.sock
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null && wait $DPID 2>/dev/null; t_cleanup' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T_DIR/token"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/key.pem" \
  -out "$T_DIR/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1

"$CHUTED" daemon --no-reconcile --api "unix:$SOCK" --api "tcp:127.0.0.1:$PORT" --token-file "$T_DIR/token" \
  --tls-cert "$T_DIR/cert.pem" --tls-key "$T_DIR/key.pem" --timeout 2 >>"$T_DIR/daemon.log" 2>&1 &
DPID=$!
check "the daemon with a TLS listener" wait_for 50 curl -sf --unix-socket "$SOCK" http://x/api/v1/info
tcp() { curl -s -o /dev/null -w '%{http_code}' --cacert "$T_DIR/cert.pem" --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/api/v1/chutes"; }
eq "HTTPS with the token: 200" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
eq "...again (a new connection, a new handshake): 200" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
eq "...keep-alive: two requests on one connection, both 200" \
  "$(curl -s -o /dev/null -o /dev/null -w '%{http_code}' --cacert "$T_DIR/cert.pem" --resolve "localhost:$PORT:127.0.0.1" \
    -H "Authorization: Bearer $(cat "$T_DIR/token")" "https://localhost:$PORT/api/v1/chutes" "https://localhost:$PORT/api/v1/info")" 200200
eq "a TLS 1.3-only client: refused (TLS 1.2)" "$(tcp --tlsv1.3 --tls-max 1.3)" 000

# clients that never finish a handshake: dropped after --timeout (2 s);
# 15 s to see it, the daemon serving meanwhile
held() { # WHAT-TO-SEND (python bytes)
  python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(eval(sys.argv[2])); s.settimeout(15)
try: print("closed" if s.recv(100) == b"" else "data")
except socket.timeout: print("open")
except ConnectionResetError: print("closed")' "$PORT" "$1"
}
held 'b""' >"$T_DIR/silent" &
S1=$!
held 'bytes([22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3])' >"$T_DIR/half" &
S2=$!
eq "...the API serves meanwhile" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
wait "$S1" "$S2"
eq "a client silent after connecting: closed by the daemon" "$(cat "$T_DIR/silent")" closed
eq "a client that sent half a ClientHello: closed by the daemon" "$(cat "$T_DIR/half")" closed
eq "...and served after them" "$(tcp -H "Authorization: Bearer $(cat "$T_DIR/token")")" 200
kill "$DPID"; wait "$DPID"; rc=$?; DPID=
eq "SIGTERM: exit 0" "$rc" 0

# a key that is not one: one line naming the option and the file
printf 'not a key\n' >"$T_DIR/bad.key"
out=$("$CHUTED" daemon --no-reconcile --api "unix:$SOCK" --api "tcp:127.0.0.1:$PORT" --token-file "$T_DIR/token" \
  --tls-cert "$T_DIR/cert.pem" --tls-key "$T_DIR/bad.key" 2>&1); rc=$?
check "a --tls-key with no key: refused at start (exit $rc): $out" \
  grep -q -- "--tls-key $T_DIR/bad.key: no private key in it, or not the one of --tls-cert" <<<"$out"
check_fails "...not with exit 0" test "$rc" = 0
finish
