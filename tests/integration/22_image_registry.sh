#!/usr/bin/env bash
# Registry v2 pull against Debian's docker-registry on 127.0.0.1: anonymous,
# multi-platform index, TLS + htpasswd + login, Bearer tokens, present blobs
# not fetched again, kill -9 mid-pull, and clear one-line failures.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/registry.sh"
IMG="$BIN/chuted-image"
MKIMAGE="$TOP/tools/mkimage"
export CHUTED_BIN=$BIN
ci() { "$IMG" "$@"; }
trap 'stop_registry; t_cleanup' EXIT

for tool in docker-registry skopeo htpasswd; do
  command -v $tool >/dev/null || { skip "$tool missing (tools/install-deps.sh)"; finish; }
done

make_rootfs "$T_DIR/rootfs" >/dev/null
mkdir -p "$T_DIR/app"; echo v1 > "$T_DIR/app/version"
"$MKIMAGE" "$T_DIR/rootfs" "$T_DIR/app" --cmd '["/bin/cat","/version"]' --tag cam:1.2 -o "$T_DIR/img.tar"

# --- anonymous, plain http on loopback
start_registry || { fail "docker-registry did not start"; finish; }
check "push with skopeo" push_image "$T_DIR/img.tar" cam:1.2
R=127.0.0.1:$REG_PORT
d=$(ci pull -q "$R/cam:1.2"; ci images --json | jq -r '.[0].digest')
eq "pull: image listed under its full name" "$(ci images -q)" "$R/cam:1.2"
eq "pull: digest is the registry's" "$d" "$(skopeo inspect --tls-verify=false "docker://$R/cam:1.2" | jq -r .Digest)"
check "pull: layers unpacked" test "$(ls "$T_ROOT/images/layers" | wc -l)" = 2
out=$(ci mount "$R/cam:1.2" --chute chuted-test-p)
check "pulled image mounts" test -f "$(echo "$out" | jq -r .rootfs)/version"
eq "pulled image config" "$(echo "$out" | jq -c .config.Cmd)" '["/bin/cat","/version"]'
ci unmount --chute chuted-test-p
# more blobs than concurrent transfers, with progress records (the deploy
# engine's fetch): the ones not started yet have nothing to count
mkdir -p "$T_DIR"/l{1,2,3,4}; for i in 1 2 3 4; do echo "$i" > "$T_DIR/l$i/f$i"; done
"$MKIMAGE" "$T_DIR"/l1 "$T_DIR"/l2 "$T_DIR"/l3 "$T_DIR"/l4 --tag many:1 -o "$T_DIR/many.tar"
push_image "$T_DIR/many.tar" many:1
eq "fetch with progress of 5 blobs (3 at a time)" \
  "$(ci --root "$T_DIR/many" fetch --result-fd 3 "$R/many:1" 3>&1 >/dev/null 2>&1 | tail -1 | jq -r .status)" ok
check "store still readable by skopeo after a pull" skopeo inspect "oci:$T_ROOT/images/oci:$R/cam:1.2"

# blobs already present are not fetched again: remove them from the registry, pull a second tag
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$R/cam:1.2" "docker://$R/cam:again"
find "$REG_DIR/data/docker/registry/v2/blobs" -name data -size +1k -delete
check "present blobs are not fetched again" ci pull -q "$R/cam:again"
msg=$(ci pull "$R/nope:1" 2>&1)
eq "missing image: fails" "$?" 125
check "missing image: one clear line ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep 'registry answered 404')"
msg=$(ci mount "$R/nope:1" --chute chuted-test-n 2>&1)
eq "mount of a missing remote image fails" "$?" 125
eq "...and leaves no chute" "$(find "$T_ROOT/chutes" "$T_RUNROOT/chutes" -mindepth 1 2>/dev/null | wc -l)" 0

mkdir -p "$T_DIR/big"; head -c 160M /dev/urandom > "$T_DIR/big/blob"
"$MKIMAGE" "$T_DIR/big" -o "$T_DIR/big.tar"
push_image "$T_DIR/big.tar" big:1
# --- a connection dropped mid-blob: resumed (Range) or retried, and the digest still checked
PP=$(free_port)
/usr/bin/python3 "$TOP/tests/flaky_proxy.py" "$PP" "$REG_PORT" 300000 > "$T_DIR/proxy.log" 2>&1 & PROXY=$!
wait_for 50 curl -s -o /dev/null "http://127.0.0.1:$PP/v2/"
ci --root "$T_DIR/flaky" pull -q "127.0.0.1:$PP/big:1" >/dev/null 2>"$T_DIR/flaky.err" &&
  pass "pull survives connections dropped mid-blob" || fail "pull through a flaky proxy ($(cat "$T_DIR/flaky.err"))"
check "the proxy did cut a blob transfer" grep -q "^cut .*/blobs/" "$T_DIR/proxy.log"
check "the resumed image unpacks" test -s "$(ls -d "$T_DIR"/flaky/images/layers/*/fs/blob)"
kill $PROXY; wait $PROXY 2>/dev/null
rm -rf "$T_DIR/flaky"

# --- a multi-platform index: this host's platform by default, --platform to override
"$MKIMAGE" "$T_DIR/app" --arch arm64 -o "$T_DIR/arm.tar"
"$MKIMAGE" "$T_DIR/app" --arch amd64 --env ARCH=amd64 -o "$T_DIR/amd.tar"
mkdir -p "$T_DIR/multi"
tar -xf "$T_DIR/arm.tar" -C "$T_DIR/multi"; tar -xf "$T_DIR/amd.tar" -C "$T_DIR/multi"
/usr/bin/python3 - "$T_DIR/multi" "$T_DIR/arm.tar" "$T_DIR/amd.tar" <<'PY'
import hashlib, json, sys, tarfile
d = sys.argv[1]; ms = []
for a in sys.argv[2:]:
    ms += json.load(tarfile.open(a).extractfile("index.json"))["manifests"]
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}
b = json.dumps(idx).encode(); h = hashlib.sha256(b).hexdigest()
open(d + "/blobs/sha256/" + h, "wb").write(b)
top = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
       "digest": "sha256:" + h, "size": len(b), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}
json.dump(top, open(d + "/index.json", "w"))
PY
check "push a multi-platform index" skopeo copy --quiet --all --dest-tls-verify=false "oci:$T_DIR/multi:multi" "docker://$R/multi:1"
ci pull -q "$R/multi:1"
arch=$(ci image inspect "$R/multi:1" | jq -r .architecture)
case $(uname -m) in x86_64) want=amd64 ;; aarch64) want=arm64 ;; *) want=$(uname -m) ;; esac
eq "index: this host's platform by default" "$arch" "$want"
ci pull -q --platform linux/arm64 "$R/multi:1"
eq "index: --platform picks another" "$(ci image inspect "$R/multi:1" | jq -r .architecture)" arm64
msg=$(ci pull --platform linux/s390x "$R/multi:1" 2>&1)
check "index: unknown platform is one clear line ($msg)" grep -q "no image for platform linux/s390x" <<<"$msg"

# --- kill -9 in the middle of a pull: nothing half-visible, the next pull finishes the job
ci pull -q "$R/big:1" & pid=$!
wait_for 100 sh -c "find '$T_ROOT/images/tmp' -name 'blob-*' -size +1M | grep -q ."
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "killed pull: image not visible" test -z "$(ci images -q | grep big)"
check "pull after a kill finishes the job" ci pull -q "$R/big:1"
eq "...and the image is there" "$(ci images -q | grep -c big:1)" 1
ci image prune -q
eq "prune removes the killed pull's temp files" "$(ls "$T_ROOT/images/tmp" | wc -l)" 0
stop_registry

# --- TLS with a self-signed cert + htpasswd: CA trust, login, creds file 0600
start_registry --tls --htpasswd chuted:s3cret || { fail "TLS registry did not start"; finish; }
R=127.0.0.1:$REG_PORT
push_image "$T_DIR/img.tar" cam:tls --dest-creds chuted:s3cret
msg=$(ci pull -q "$R/cam:tls" 2>&1)
check "TLS: untrusted cert is refused, not downgraded ($msg)" grep -q "self-signed certificate" <<<"$msg"
msg=$(ci pull -q --ca-file "$REG_CA" "$R/cam:tls" 2>&1)
check "TLS: auth required without login ($msg)" grep -q "authentication required" <<<"$msg"
msg=$(ci login --ca-file "$REG_CA" -u chuted -p wrong "$R" 2>&1)
eq "login with a wrong password fails" "$?" 125
check "...saying so ($msg)" grep -q "unauthorized" <<<"$msg"
check_fails "...and stores nothing" test -e "$T_ROOT/auth.json"
echo s3cret | ci login --ca-file "$REG_CA" -u chuted --password-stdin "$R" >/dev/null
eq "login stores credentials 0600" "$(stat -c %a "$T_ROOT/auth.json")" 600
check "TLS + basic: pull with --ca-file" ci pull -q --ca-file "$REG_CA" "$R/cam:tls"
ci rmi "$R/cam:tls" >/dev/null
mkdir -p "$T_ROOT/certs.d/$R"; cp "$REG_CA" "$T_ROOT/certs.d/$R/ca.crt"
check "TLS: per-registry CA from certs.d" ci pull -q "$R/cam:tls"
mkdir -p "$T_DIR/other"; cp "$T_ROOT/auth.json" "$T_DIR/other/"
check "--insecure-registry skips verification" ci --root "$T_DIR/other" pull -q --insecure-registry "$R/cam:tls"
stop_registry

# --- Bearer tokens (registry token auth with a real JWT-signing token server)
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
  start_registry --token chuted:t0ken || { fail "token registry did not start"; finish; }
  R=127.0.0.1:$REG_PORT
  push_image "$T_DIR/img.tar" cam:tok --dest-creds chuted:t0ken
  msg=$(ci pull -q "$R/cam:tok" 2>&1)
  check "token: refused without credentials ($msg)" grep -q "token server answered 401" <<<"$msg"
  ci login -u chuted -p t0ken "$R" >/dev/null
  check "token: pull after login" ci pull -q "$R/cam:tok"
  stop_registry
else
  skip "python3-cryptography missing: no token server"
fi

no_leftovers "registry"
finish
