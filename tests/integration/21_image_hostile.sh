#!/usr/bin/env bash
# Hostile layers through the whole path (mkimage --layer-tar -> load/mount):
# each is refused or neutralised with one clear line, nothing is written
# outside the store, and nothing half-made is left (no image, blob, layer,
# temp dir, mount or chute dir). tests/unit/test_image_unpack.c covers the
# same shapes and more at the unpack level.
. "$(dirname "$0")/../lib.sh"
IMG="$BIN/chuted-image"
MKIMAGE="$TOP/tools/mkimage"
export CHUTED_BIN=$BIN
ci() { "$IMG" "$@"; }
OUT=$T_DIR/outside
mkdir -p "$OUT"
echo secret > "$OUT/secret"
UP="../../../../../../../../../../.."

# mk NAME PYTHON: a layer tar built with tarfile (t = the tar, f/d/s/h/dev helpers), wrapped as NAME.tar
mk() {
  /usr/bin/python3 - "$T_DIR/$1.layer" "$OUT" "$UP" <<PY
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
OUT, UP = sys.argv[2], sys.argv[3]
def f(name, data=b"x", mode=0o644):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode; t.addfile(i, io.BytesIO(data))
def d(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
def s(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
def h(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; t.addfile(i)
def dev(name, typ, major=0, minor=0):
    i = tarfile.TarInfo(name); i.type = typ; i.devmajor = major; i.devminor = minor; t.addfile(i)
$2
t.close()
PY
  "$MKIMAGE" --layer-tar "$T_DIR/$1.layer" --tag "hostile/$1:1" -o "$T_DIR/$1.tar"
}

state() { # what the store and the host look like: must not change on a refusal
  echo "images=$(ci images -q | wc -l) blobs=$(ls "$T_ROOT/images/oci/blobs/sha256" 2>/dev/null | wc -l)" \
       "layers=$(ls "$T_ROOT/images/layers" 2>/dev/null | wc -l) tmp=$(ls "$T_ROOT/images/tmp" 2>/dev/null | wc -l)" \
       "outside=$(ls -A "$OUT" | tr '\n' ,) chutes=$(find "$T_ROOT/chutes" "$T_RUNROOT/chutes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
}

# refused NAME WANT: load and mount both fail with one line containing WANT, nothing changes
refused() {
  local name=$1 want=$2 before msg rc
  before=$(state)
  msg=$(ci load "oci-archive:$T_DIR/$name.tar" 2>&1); rc=$?
  eq "$name: load refused" "$rc" 125
  check "$name: one clear line ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep -F -- "$want")"
  eq "$name: nothing half-made, nothing outside" "$(state)" "$before"
  msg=$(ci mount "oci-archive:$T_DIR/$name.tar" --chute chuted-test-h 2>&1); rc=$?
  eq "$name: mount refused" "$rc" 125
  eq "$name: mount leaves nothing" "$(state)" "$before"
}

mk dotdot      'f("ok"); f(UP + OUT + "/pwned")'
refused dotdot "would leave the root"
mk absolute    'f(OUT + "/pwned")'
refused absolute "absolute path"
mk hardlink    'h("hl", UP + OUT + "/secret")'
refused hardlink "hardlink"
mk hardlink2   's("o", OUT); h("hl", "o/secret")'
refused hardlink2 "hardlink \`hl\`"
mk rootlink    's(".", OUT); f("x")'
refused rootlink "would replace the root"
mk rootlink2   's("./.", "/"); f("etc/passwd")'
refused rootlink2 "would replace the root"
mk badwhiteout 'f(".wh..")'
refused badwhiteout "invalid whiteout"
mk symlinkout  's("esc", OUT); f("esc/pwned")'
refused symlinkout "entry \`esc/pwned\`"

# a good layer and a hostile one, unpacked in parallel: the hostile one's line comes through
mkdir -p "$T_DIR/good"; echo ok > "$T_DIR/good/ok"
"$MKIMAGE" "$T_DIR/good" --layer-tar "$T_DIR/dotdot.layer" --tag hostile/mixed:1 -o "$T_DIR/mixed.tar"
before=$(state)
msg=$(ci load "oci-archive:$T_DIR/mixed.tar" 2>&1)
eq "mixed: load refused" "$?" 125
check "mixed: one clear line naming the bad entry ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep -F "would leave the root")"
eq "mixed: no image, nothing outside" "$(state | sed 's/layers=[0-9]*//')" "$(echo "$before" | sed 's/layers=[0-9]*//')"

# a symlink to / or ../.. then a write through it: neutralised, lands inside the rootfs
mk symlinkroot 's("top", "/"); s("up", UP); f("top/landed"); f("up/landed2")'
check "symlink through /: loads" ci load "oci-archive:$T_DIR/symlinkroot.tar"
r=$(ci mount hostile/symlinkroot:1 --chute chuted-test-s | jq -r .rootfs)
check "symlink through /: written inside the rootfs" test -f "$r/landed" -a -f "$r/landed2"
eq "symlink through /: nothing outside" "$(ls -A "$OUT")" "secret"
ci unmount --chute chuted-test-s

# an entry whose declared size lies (the data stops early)
/usr/bin/python3 - "$T_DIR/liar.layer" <<'PY'
import io, sys, tarfile
b = io.BytesIO(); t = tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT)
i = tarfile.TarInfo("big"); i.size = 100000; t.addfile(i, io.BytesIO(b"a" * 100000)); t.close()
open(sys.argv[1], "wb").write(b.getvalue()[:512 + 3000])
PY
"$MKIMAGE" --layer-tar "$T_DIR/liar.layer" --tag hostile/liar:1 -o "$T_DIR/liar.tar"
refused liar "runcated"

# gzip bomb: 64 MiB of zeros in ~64 kB, bounded by the chute's disk limit
/usr/bin/python3 - "$T_DIR/bomb.layer" <<'PY'
import io, sys, tarfile, gzip
t = tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT)
class Z(io.RawIOBase):
    def __init__(s, n): s.n = n
    def readable(s): return True
    def readinto(s, b):
        k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k
i = tarfile.TarInfo("zero"); i.size = 64 << 20; t.addfile(i, io.BufferedReader(Z(64 << 20))); t.close()
PY
"$MKIMAGE" --layer-tar "$T_DIR/bomb.layer" --tag hostile/bomb:1 -o "$T_DIR/bomb.tar"
check "bomb layer is small" test "$(stat -c %s "$T_DIR/bomb.layer")" -lt 200000
before=$(state)
msg=$(ci mount --disk-limit 16M "oci-archive:$T_DIR/bomb.tar" --chute chuted-test-b 2>&1)
eq "bomb: refused past the disk limit" "$?" 125
check "bomb: says disk limit ($msg)" grep -q "disk limit of 16777216 bytes" <<<"$msg"
eq "bomb: nothing half-made" "$(state)" "$before"
check "bomb: fits a 128M limit" ci mount --disk-limit 128M "oci-archive:$T_DIR/bomb.tar" --chute chuted-test-b
ci unmount --chute chuted-test-b
msg=$(ci mount --disk-limit 16M hostile/bomb:1 --chute chuted-test-b 2>&1)
eq "bomb: an unpacked layer still counts against a smaller limit" "$?" 125
check "bomb: ...with a clear line ($msg)" grep -q "more than the disk limit" <<<"$msg"

# device nodes and FIFOs: dropped (with a note) unless privileged
mk devices 'dev("null", tarfile.CHRTYPE, 1, 3); dev("sda", tarfile.BLKTYPE, 8, 0); dev("fifo", tarfile.FIFOTYPE); f("ok")'
msg=$(ci load "oci-archive:$T_DIR/devices.tar" 2>&1)
check "devices: load works, says what was dropped ($msg)" grep -q "3 device nodes/FIFOs dropped" <<<"$msg"
r=$(ci mount hostile/devices:1 --chute chuted-test-d | jq -r .rootfs)
eq "devices: none in the rootfs" "$(ls "$r" | tr '\n' ' ')" "ok "
ci unmount --chute chuted-test-d

# setuid: kept in the layer, but the rootfs is nosuid unless asked
mk setuid 'f("bin/su", b"#!/bin/sh\n", 0o4755)'
ci load "oci-archive:$T_DIR/setuid.tar" >/dev/null
r=$(ci mount hostile/setuid:1 --chute chuted-test-u | jq -r .rootfs)
eq "setuid: mode kept" "$(stat -c %a "$r/bin/su")" 4755
check "setuid: rootfs is nosuid" grep -q " $r overlay [a-z]*,nosuid" /proc/mounts
ci unmount --chute chuted-test-u
r=$(ci mount --allow-suid hostile/setuid:1 --chute chuted-test-u | jq -r .rootfs)
check_fails "setuid: --allow-suid mounts without nosuid" grep -q " $r overlay [a-z]*,nosuid" /proc/mounts
ci unmount --chute chuted-test-u

# ---- store inputs that are not what their descriptors say (issue 16) ----
blobs_of() { ls "$T_ROOT/images/oci/blobs/sha256" 2>/dev/null | wc -l; }
# oci:DIR whose layer blob (declared 1 KiB) is swapped for something else
mkdir -p "$T_DIR/small"; head -c 1000 /dev/urandom > "$T_DIR/small/f"
"$MKIMAGE" "$T_DIR/small" --tag hostile/small:1 -o "$T_DIR/small.tar"
oci_with() { # NAME HOW: an OCI layout whose first layer blob HOW replaces (symlink|fifo|big)
  local d=$T_DIR/$1 lb
  mkdir -p "$d" && tar -xf "$T_DIR/small.tar" -C "$d"
  lb=$(jq -r '.manifests[0].digest' "$d/index.json" | cut -d: -f2)
  lb=$(jq -r '.layers[0].digest' "$d/blobs/sha256/$lb" | cut -d: -f2)
  rm "$d/blobs/sha256/$lb"
  case $2 in
    symlink) ln -s /dev/zero "$d/blobs/sha256/$lb" ;;
    fifo) mkfifo "$d/blobs/sha256/$lb" ;;
    big) head -c 3M /dev/zero > "$d/blobs/sha256/$lb" ;;
  esac
}
for how in symlink fifo big; do
  oci_with "oci-$how" $how
  before=$(state)
  # `timeout` only turns a hang (the old FIFO behaviour) into a failure
  msg=$(timeout 60 "$IMG" load "oci:$T_DIR/oci-$how" 2>&1); rc=$?
  eq "oci blob as $how: refused" "$rc" 125
  case $how in symlink) want="symlink, not a regular file" ;; fifo) want="not a regular file" ;; big) want="its descriptor declares" ;; esac
  check "oci blob as $how: one clear line ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep -F -- "$want")"
  eq "oci blob as $how: nothing half-made" "$(state)" "$before"
done
timeout 60 "$IMG" rmi hostile/nonexistent:1 >/dev/null 2>&1
eq "store lock free after the FIFO: rmi answers (not found)" "$?" 125
check "store lock free after the FIFO: prune answers" timeout 60 "$IMG" image prune

# a small gzip'd archive declaring a 32 MiB blob: refused before it is written
/usr/bin/python3 - "$T_DIR/zeros.layer" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT)
class Z(io.RawIOBase):  # streamed: the VM has 256 MB
    def __init__(s, n): s.n = n
    def readable(s): return True
    def readinto(s, b):
        k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k
i = tarfile.TarInfo("zero"); i.size = 32 << 20; t.addfile(i, io.BufferedReader(Z(32 << 20))); t.close()
PY
"$MKIMAGE" --layer-tar "$T_DIR/zeros.layer" --tag hostile/zeros:1 -o "$T_DIR/zeros.tar"
gzip -1 -c "$T_DIR/zeros.tar" > "$T_DIR/zeros.tar.gz"; rm -f "$T_DIR/zeros.tar" "$T_DIR/zeros.layer"
check "zeros: the archive is small" test "$(stat -c %s "$T_DIR/zeros.tar.gz")" -lt 300000
before=$(state)
msg=$("$IMG" mount --disk-limit 16M "oci-archive:$T_DIR/zeros.tar.gz" --chute chuted-test-z 2>&1)
eq "zeros: refused" "$?" 125
check "zeros: refused as a blob past the disk limit, before the unpack ($msg)" grep -q "bytes of blobs would pass the disk limit of 16777216" <<<"$msg"
eq "zeros: nothing half-made" "$(state)" "$before"

# three layers that fit the limit one by one but not together: none stays
for k in 1 2 3; do
  /usr/bin/python3 - "$T_DIR/six$k.layer" "$k" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT)
i = tarfile.TarInfo("six" + sys.argv[2]); i.size = 6 << 20; t.addfile(i, io.BytesIO(bytes(6 << 20))); t.close()
PY
done
"$MKIMAGE" --layer-tar "$T_DIR/six1.layer" --layer-tar "$T_DIR/six2.layer" --layer-tar "$T_DIR/six3.layer" \
  --tag hostile/three:1 -o "$T_DIR/three.tar"
before=$(state)
msg=$("$IMG" mount --disk-limit 16M "oci-archive:$T_DIR/three.tar" --chute chuted-test-3 2>&1)
eq "three layers: refused" "$?" 125
check "three layers: says disk limit ($msg)" grep -q "disk limit" <<<"$msg"
eq "three layers: no unpacked layer stays" "$(state)" "$before"
check "three layers: fit a 64M limit" "$IMG" mount --disk-limit 64M "oci-archive:$T_DIR/three.tar" --chute chuted-test-3
"$IMG" unmount --chute chuted-test-3; "$IMG" rmi hostile/three:1 >/dev/null; "$IMG" image prune >/dev/null
# one layer present, one missing (unpacked alone, with what is left of the limit)
"$MKIMAGE" --layer-tar "$T_DIR/six1.layer" --tag hostile/one:1 -o "$T_DIR/one.tar"
"$MKIMAGE" --layer-tar "$T_DIR/six1.layer" --layer-tar "$T_DIR/six2.layer" --tag hostile/two:1 -o "$T_DIR/two.tar"
check "one 6M layer fits 10M" "$IMG" mount --disk-limit 10M "oci-archive:$T_DIR/one.tar" --chute chuted-test-1
"$IMG" unmount --chute chuted-test-1
before=$(state)
msg=$("$IMG" mount --disk-limit 10M "oci-archive:$T_DIR/two.tar" --chute chuted-test-2 2>&1)
eq "present + missing layer past the limit: refused" "$?" 125
check "present + missing layer: the whole limit named ($msg)" grep -q "its layers take more than the disk limit of 10485760 bytes" <<<"$msg"
eq "present + missing layer: the missing one does not stay" "$(state)" "$before"
"$IMG" rmi hostile/one:1 >/dev/null; "$IMG" image prune >/dev/null

# many one-byte files count as the blocks they take, not their bytes
mk tiny 'for k in range(3000): f("f%d" % k)'
before=$(state)
msg=$("$IMG" mount --disk-limit 8M "oci-archive:$T_DIR/tiny.tar" --chute chuted-test-t 2>&1)
eq "3000 one-byte files: refused under 8M" "$?" 125
check "3000 one-byte files: says disk limit ($msg)" grep -q "disk limit" <<<"$msg"
eq "3000 one-byte files: nothing half-made" "$(state)" "$before"
check "3000 one-byte files: load under the default limit" "$IMG" load "oci-archive:$T_DIR/tiny.tar"
lay=$(ls -td "$T_ROOT"/images/layers/*/ | head -1)
counted=$(cat "$lay/size"); used=$(du -s -B1 "$lay/fs" | cut -f1)
check "3000 one-byte files: counted ($counted) >= allocated ($used)" test "$counted" -ge "$used"
"$IMG" rmi hostile/tiny:1 >/dev/null; "$IMG" image prune >/dev/null

# kill -9 mid-load: the partial blob goes on the next command, a live load's stays
slow_load() { # starts a load blocked mid-blob on a FIFO; sets LOAD_PID, WRITER_PID
  rm -f "$T_DIR/slow.fifo"; mkfifo "$T_DIR/slow.fifo"
  /usr/bin/python3 - "$T_DIR/slow.fifo" <<'PY' &
import io, sys, tarfile, time
f = open(sys.argv[1], "wb")
i = tarfile.TarInfo("blobs/sha256/" + "ab" * 32); i.size = 8 << 20
f.write(i.tobuf(tarfile.USTAR_FORMAT)); f.write(bytes(1 << 20)); f.flush()
time.sleep(600)
PY
  WRITER_PID=$!
  "$IMG" load "oci-archive:$T_DIR/slow.fifo" >/dev/null 2>&1 &
  LOAD_PID=$!
  wait_for 300 test -n "$(ls "$T_ROOT/images/tmp" | grep -- "-$LOAD_PID-")"
}
slow_load
check "killed load: its partial blob is in tmp, named by its pid" test -n "$(ls "$T_ROOT/images/tmp" | grep -- "-$LOAD_PID-")"
"$IMG" images -q >/dev/null
check "killed load: a live load's temp survives another command" test -n "$(ls "$T_ROOT/images/tmp" | grep -- "-$LOAD_PID-")"
kill -9 $LOAD_PID; wait $LOAD_PID 2>/dev/null; kill $WRITER_PID; wait $WRITER_PID 2>/dev/null
"$IMG" images -q >/dev/null
eq "killed load: the next command removed its temp" "$(ls -A "$T_ROOT/images/tmp")" ""
slow_load
kill -9 $LOAD_PID; wait $LOAD_PID 2>/dev/null; kill $WRITER_PID; wait $WRITER_PID 2>/dev/null
msg=$("$IMG" image prune 2>&1)
check "killed load: image prune counts it ($msg)" grep -q "1 partial downloads/unpacks (1.0 MB)" <<<"$msg"
eq "killed load: tmp empty" "$(ls -A "$T_ROOT/images/tmp")" ""

# a RepoTag that climbs out (docker-archive manifest.json): refused as a name
/usr/bin/python3 - "$T_DIR/evil.tar" <<'PY'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
def f(name, data):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
f("cfg.json", b'{"architecture":"amd64","os":"linux","config":{"Cmd":["/x"]},"rootfs":{"type":"layers","diff_ids":[]}}')
f("l.tar", bytes(1024))
f("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": ["../../../etc:evil"], "Layers": ["l.tar"]}]).encode())
t.close()
PY
before=$(state)
msg=$("$IMG" load "docker-archive:$T_DIR/evil.tar" 2>&1)
eq "RepoTag ../../../etc:evil: refused" "$?" 125
check "RepoTag ../../../etc:evil: one clear line ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep -F 'reference `../../../etc:evil`')"
eq "RepoTag ../../../etc:evil: nothing half-made" "$(state)" "$before"

# a registry whose manifest declares a 2 GiB layer: refused before any blob is fetched
/usr/bin/python3 - "$T_DIR/fakereg" <<'PY' &
import http.server, json, sys
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "1" * 64, "size": 100},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + "2" * 64, "size": 2 << 30}]}).encode()
log = open(sys.argv[1] + ".log", "w")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(s):
        log.write(s.path + "\n"); log.flush()
        if s.path == "/v2/" or s.path == "/v2/big/manifests/1":
            body = b"{}" if s.path == "/v2/" else man
            s.send_response(200); s.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            s.send_header("Content-Length", str(len(body))); s.end_headers(); s.wfile.write(body)
        else:
            s.send_response(404); s.send_header("Content-Length", "0"); s.end_headers()
    def log_message(s, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".port", "w").write(str(srv.server_port))
srv.serve_forever()
PY
FAKE_PID=$!
wait_for 100 test -s "$T_DIR/fakereg.port"
before=$(state)
msg=$("$IMG" pull -q "127.0.0.1:$(cat "$T_DIR/fakereg.port")/big:1" 2>&1)
eq "2 GiB layer: pull refused" "$?" 125
check "2 GiB layer: one clear line ($msg)" test "$(echo "$msg" | wc -l)" = 1 -a -n "$(echo "$msg" | grep -F "more than the disk limit")"
check_fails "2 GiB layer: no blob was requested" grep -q /blobs/ "$T_DIR/fakereg.log"
eq "2 GiB layer: nothing half-made" "$(state)" "$before"
kill $FAKE_PID; wait $FAKE_PID 2>/dev/null

eq "nothing was ever written outside" "$(ls -A "$OUT")" "secret"
eq "the outside file is intact" "$(cat "$OUT/secret")" "secret"
no_leftovers "hostile"
finish
