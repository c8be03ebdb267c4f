#!/usr/bin/env bash
# Image store: tools/mkimage, load (oci-archive, docker-archive, oci dir),
# images, skopeo/umoci reading the store, mount/unmount (overlay and copy),
# whiteouts across layers, rmi + prune, and broken archives.
. "$(dirname "$0")/../lib.sh"
IMG="$BIN/chuted-image"
MKIMAGE="$TOP/tools/mkimage"
export CHUTED_BIN=$BIN
ci() { "$IMG" "$@"; }

make_rootfs "$T_DIR/rootfs" >/dev/null
echo hello > "$T_DIR/rootfs/etc/hello"

# --- mkimage: reproducible, a valid OCI archive
check "mkimage builds an archive" "$MKIMAGE" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","echo hi"]' --env A=1 --env B=2 \
  --workdir /tmp --user 65534 --tag cam:1.2 -o "$T_DIR/img.tar"
"$MKIMAGE" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","echo hi"]' --env A=1 --env B=2 --workdir /tmp --user 65534 \
  --tag cam:1.2 -o "$T_DIR/img2.tar"
check "mkimage is reproducible" cmp "$T_DIR/img.tar" "$T_DIR/img2.tar"
check "skopeo reads the mkimage archive" skopeo inspect --raw "oci-archive:$T_DIR/img.tar"
check_fails "mkimage refuses a missing dir" "$MKIMAGE" "$T_DIR/nope" -o "$T_DIR/x.tar"
eq "mkimage leaves nothing on failure" "$(ls "$T_DIR" | grep -c 'x.tar')" 0

# --- load + images
eq "load oci-archive" "$(ci load "oci-archive:$T_DIR/img.tar")" "Loaded image: cam:1.2"
eq "images lists it" "$(ci images -q)" "cam:1.2"
eq "images --json has the config digest" "$(ci images --json | jq -r '.[0].id' | cut -c1-7)" "sha256:"
check "store is readable by skopeo" skopeo inspect "oci:$T_ROOT/images/oci:cam:1.2"
check "store is unpackable by umoci" umoci unpack --image "$T_ROOT/images/oci:cam:1.2" "$T_DIR/umoci-bundle"
check "umoci's rootfs has our file" test -f "$T_DIR/umoci-bundle/rootfs/etc/hello"

# docker-archive (docker save format) and oci dir, made by skopeo from our archive
skopeo copy --quiet "oci-archive:$T_DIR/img.tar" "docker-archive:$T_DIR/docker.tar:cam/docker:2" >/dev/null 2>&1
eq "load docker-archive" "$(ci load "docker-archive:$T_DIR/docker.tar")" "Loaded image: docker.io/cam/docker:2"
skopeo copy --quiet "oci-archive:$T_DIR/img.tar" "oci:$T_DIR/layout:fromdir" >/dev/null 2>&1
eq "load oci dir: named DIR:TAG (skopeo writes the tag alone)" "$(ci load "oci:$T_DIR/layout:fromdir")" "Loaded image: layout:fromdir"
check "docker.io/ names resolve without the prefix" ci image inspect cam/docker:2
eq "load a bare directory (OCI layout)" "$(ci load --tag bare:1 "$T_DIR/layout")" "Loaded image: bare:1"
ci rmi bare:1 >/dev/null
eq "load --tag" "$(ci load --tag renamed:9 "oci-archive:$T_DIR/img.tar")" "Loaded image: renamed:9"
eq "four refs" "$(ci images -q | sort | tr '\n' ' ')" "cam:1.2 docker.io/cam/docker:2 layout:fromdir renamed:9 "

# --- mount: one JSON object, overlay with nosuid
out=$(ci mount cam:1.2 --chute chuted-test-c1)
eq "mount prints rootfs" "$(echo "$out" | jq -r .rootfs)" "$T_RUNROOT/chutes/chuted-test-c1/rootfs"
eq "mount prints Cmd" "$(echo "$out" | jq -c .config.Cmd)" '["/bin/sh","-c","echo hi"]'
eq "mount prints Env/WorkingDir/User" "$(echo "$out" | jq -c '[.config.Env,.config.WorkingDir,.config.User]')" '[["A=1","B=2"],"/tmp","65534"]'
eq "mount prints the image id" "$(echo "$out" | jq -r .image)" "$(ci images --json | jq -r '.[] | select(.ref=="cam:1.2") | .id')"
check "rootfs is an overlay" grep -q "^overlay $T_RUNROOT/chutes/chuted-test-c1/rootfs overlay .*nosuid" /proc/mounts
check "rootfs has the image content" test -f "$T_RUNROOT/chutes/chuted-test-c1/rootfs/etc/hello"
echo written > "$T_RUNROOT/chutes/chuted-test-c1/rootfs/etc/new"
check "writes go to the chute's upper dir" test -f "$T_ROOT/chutes/chuted-test-c1/overlay/upper/etc/new"
check "...not to the shared layer" test -z "$(find "$T_ROOT/images/layers" -name new)"
check_fails "second mount of the same chute is refused" ci mount cam:1.2 --chute chuted-test-c1
out2=$(ci mount layout:fromdir --chute chuted-test-c2)
check "two chutes share the layer" test "$(echo "$out2" | jq -r .image)" = "$(echo "$out" | jq -r .image)"
check "unmount" ci unmount --chute chuted-test-c1
check "unmount c2" ci unmount --chute chuted-test-c2
check "unmount of an unmounted chute is fine" ci unmount --chute chuted-test-c1
check "layers survive unmount" test -n "$(ls "$T_ROOT/images/layers")"
check "chute dirs are gone" test ! -e "$T_ROOT/chutes/chuted-test-c1/overlay" -a ! -e "$T_RUNROOT/chutes/chuted-test-c1"
no_leftovers "mount/unmount"
check_fails "mount of a missing image fails" ci mount nope:1 --chute chuted-test-c3
check_fails "mount with a bad chute name fails" ci mount cam:1.2 --chute ../evil
eq "failed mounts leave no chute dirs" "$(ls "$T_ROOT/chutes" "$T_RUNROOT/chutes" 2>/dev/null | grep -c chuted-test-c3)" 0

# --- whiteouts across layers, overlay and copy give the same tree
mkdir -p "$T_DIR/l1/keep" "$T_DIR/l1/gone-dir/sub" "$T_DIR/l1/opq" "$T_DIR/l2tree/opq"
echo 1 > "$T_DIR/l1/keep/a"; echo 1 > "$T_DIR/l1/gone"; echo 1 > "$T_DIR/l1/gone-dir/sub/f"
echo old > "$T_DIR/l1/opq/old"; echo new > "$T_DIR/l2tree/opq/new"
/usr/bin/python3 - "$T_DIR/l2.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def f(name, data=b""):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
def d(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
f(".wh.gone"); f(".wh.gone-dir"); d("opq"); f("opq/.wh..wh..opq"); f("opq/new", b"new\n"); f("keep/b", b"b\n")
t.close()
PY
"$MKIMAGE" "$T_DIR/l1" --layer-tar "$T_DIR/l2.tar" --tag wh:1 -o "$T_DIR/wh.tar"
ci load "oci-archive:$T_DIR/wh.tar" >/dev/null
for mode in overlay copy; do
  if [ $mode = copy ]; then r=$(CHUTED_IMAGE_NO_OVERLAY=1 ci mount wh:1 --chute chuted-test-wh | jq -r .rootfs)
  else r=$(ci mount wh:1 --chute chuted-test-wh | jq -r .rootfs); fi
  eq "$mode: whiteout removes a file" "$(ls "$r" | tr '\n' ' ')" "keep opq "
  eq "$mode: opaque dir hides the lower content" "$(ls "$r/opq" | tr '\n' ' ')" "new "
  eq "$mode: merged dir" "$(ls "$r/keep" | tr '\n' ' ')" "a b "
  check "$mode: rootfs mounted nosuid,nodev" grep -q " $r [a-z0-9]* [a-z]*,nosuid,nodev" /proc/mounts
  ci unmount --chute chuted-test-wh
done
no_leftovers "whiteouts"

# --- rmi + prune
nblobs() { ls "$T_ROOT/images/oci/blobs/sha256" | wc -l; }
before=$(nblobs)
check "rmi wh:1" ci rmi wh:1
check "rmi removes the image's blobs" test "$(nblobs)" -lt "$before"
check "rmi keeps shared blobs" skopeo inspect "oci:$T_ROOT/images/oci:cam:1.2"
ci rmi cam:1.2 docker.io/cam/docker:2 layout:fromdir renamed:9 >/dev/null
check "prune" ci image prune
eq "no blobs left" "$(nblobs)" 0
eq "no layers left" "$(ls "$T_ROOT/images/layers" | wc -l)" 0
ci load "oci-archive:$T_DIR/img.tar" >/dev/null
ci mount cam:1.2 --chute chuted-test-keep >/dev/null
ci rmi cam:1.2 >/dev/null
check "prune keeps what a mounted chute uses" test "$(ls "$T_ROOT/images/layers" | wc -l)" = 1
ci unmount --chute chuted-test-keep
ci image prune -q
eq "...and removes it once unmounted" "$(ls "$T_ROOT/images/layers" | wc -l)" 0

# --- broken archives: one clear line, nothing half-made
mk_broken() { # NAME PYTHON-MUTATION: rewrite img.tar's layout
  rm -rf "$T_DIR/bad"; mkdir -p "$T_DIR/bad"; tar -xf "$T_DIR/img.tar" -C "$T_DIR/bad"
  (cd "$T_DIR/bad" && /usr/bin/python3 -c "$2")
  tar -cf "$T_DIR/$1.tar" -C "$T_DIR/bad" .
}
common_py='import json,os,hashlib
idx=json.load(open("index.json")); md=idx["manifests"][0]["digest"].split(":")[1]
man=json.load(open("blobs/sha256/"+md))
def put(obj):
    b=json.dumps(obj).encode(); d=hashlib.sha256(b).hexdigest(); open("blobs/sha256/"+d,"wb").write(b); return d,len(b)
def setman(m):
    d,n=put(m); idx["manifests"][0]["digest"]="sha256:"+d; idx["manifests"][0]["size"]=n; json.dump(idx,open("index.json","w"))
'
mk_broken truncated "$common_py
l=man[\"layers\"][0][\"digest\"].split(\":\")[1]; p=\"blobs/sha256/\"+l; b=open(p,\"rb\").read(); open(p,\"wb\").write(b[:len(b)//2])"
mk_broken missing "$common_py
man[\"layers\"].append({\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:\"+\"ab\"*32,\"size\":3}); setman(man)"
mk_broken malformed "$common_py
open(\"index.json\",\"w\").write(\"{\\\"manifests\\\": [\")"
mk_broken nonsha "$common_py
man[\"config\"][\"digest\"]=\"sha512:\"+\"00\"*64; setman(man)"
mk_broken tampered "$common_py
l=man[\"layers\"][0][\"digest\"].split(\":\")[1]; p=\"blobs/sha256/\"+l; b=bytearray(open(p,\"rb\").read()); b[100]^=1; open(p,\"wb\").write(bytes(b))"
ci image prune -q
head -c 600000 "$T_DIR/img.tar" > "$T_DIR/cut.tar"
for case in truncated:"digest mismatch" cut:"runcated" missing:"blob missing" malformed:"invalid JSON" nonsha:"unsupported digest" tampered:"digest mismatch"; do
  name=${case%%:*} want=${case#*:}
  msg=$(ci load "oci-archive:$T_DIR/$name.tar" 2>&1); rc=$?
  eq "$name archive: fails" "$rc" 125
  eq "$name archive: one line" "$(echo "$msg" | wc -l)" 1
  check "$name archive: says '$want' ($msg)" grep -q "$want" <<<"$msg"
  eq "$name archive: no image visible" "$(ci images -q | wc -l)" 0
  eq "$name archive: no blob left" "$(ls "$T_ROOT/images/oci/blobs/sha256" | wc -l)" 0
  eq "$name archive: no temp left" "$(ls "$T_ROOT/images/tmp" | wc -l)" 0
done
no_leftovers "image store"
finish
