# Sourced by tests and benches: a real docker-registry (Debian's
# docker-registry, distribution 2.8) on 127.0.0.1 with its own config.
#   start_registry [--tls] [--htpasswd USER:PASS] [--token USER:PASS]  -> sets REG_PORT, REG_DIR, REG_CA
#   stop_registry
# --token runs tests/token_server.py (JWTs signed with a throwaway key) and
# points the registry's token auth at it: the Bearer flow of a real registry.
# Needs: docker-registry, openssl; htpasswd (apache2-utils) for --htpasswd;
# python3-cryptography for --token.
REG_PID="" TOK_PID=""

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_registry() {
  local tls=0 htp="" tok=""
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) tls=1 ;;
      --htpasswd) htp=$2; shift ;;
      --token) tok=$2; shift ;;
    esac
    shift
  done
  REG_DIR=$(mktemp -d "/tmp/${TEST_PREFIX:-chuted-test}-registry.XXXXXX")
  REG_PORT=$(free_port)
  REG_CA=""
  {
    echo "version: 0.1"
    echo "log: {level: error, accesslog: {disabled: true}}"
    echo "storage: {filesystem: {rootdirectory: $REG_DIR/data}, delete: {enabled: true}}"
    printf "http:\n  addr: 127.0.0.1:%s\n  secret: chuted-test-secret\n" "$REG_PORT"
  } > "$REG_DIR/config.yml"
  if [ $tls = 1 ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$REG_DIR/key.pem" -out "$REG_DIR/cert.pem" >/dev/null 2>&1 || return 1
    printf "  tls:\n    certificate: %s\n    key: %s\n" "$REG_DIR/cert.pem" "$REG_DIR/key.pem" >> "$REG_DIR/config.yml"
    REG_CA=$REG_DIR/cert.pem
  fi
  if [ -n "$htp" ]; then
    htpasswd -Bbc "$REG_DIR/htpasswd" "${htp%%:*}" "${htp#*:}" >/dev/null 2>&1 || return 1
    printf "auth:\n  htpasswd:\n    realm: chuted-test\n    path: %s\n" "$REG_DIR/htpasswd" >> "$REG_DIR/config.yml"
  elif [ -n "$tok" ]; then
    local tport; tport=$(free_port)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=chuted-test-token" \
      -keyout "$REG_DIR/tok.key" -out "$REG_DIR/tok.crt" >/dev/null 2>&1 || return 1
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/token_server.py" "$tport" "$REG_DIR/tok.key" "$REG_DIR/tok.crt" "$tok" \
      > "$REG_DIR/token.log" 2>&1 &
    TOK_PID=$!
    local t=100
    while [ $t -gt 0 ] && ! curl -s -o /dev/null "http://127.0.0.1:$tport/"; do sleep 0.1; t=$((t - 1)); done
    [ $t -gt 0 ] || { cat "$REG_DIR/token.log" >&2; return 1; }
    printf "auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: chuted-test\n    issuer: chuted-test-issuer\n    rootcertbundle: %s\n" \
      "$tport" "$REG_DIR/tok.crt" >> "$REG_DIR/config.yml"
  fi
  docker-registry serve "$REG_DIR/config.yml" > "$REG_DIR/log" 2>&1 &
  REG_PID=$!
  local scheme=http; [ $tls = 1 ] && scheme=https
  local n=100
  while [ $n -gt 0 ]; do
    curl -sk -o /dev/null "$scheme://127.0.0.1:$REG_PORT/v2/" && break
    sleep 0.1; n=$((n - 1))
  done
  [ $n -gt 0 ] || { cat "$REG_DIR/log" >&2; return 1; }
}

stop_registry() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -n "$TOK_PID" ] && kill "$TOK_PID" 2>/dev/null && wait "$TOK_PID" 2>/dev/null
  REG_PID="" TOK_PID=""
  [ -n "${REG_DIR:-}" ] && rm -rf "$REG_DIR"
  REG_DIR=""
}

# push_image OCI_ARCHIVE NAME[:TAG] [skopeo dest options...]: into the running registry
push_image() {
  local src=$1 dst=$2; shift 2
  skopeo copy --quiet --dest-tls-verify=false "$@" "oci-archive:$src" "docker://127.0.0.1:$REG_PORT/$dst"
}
