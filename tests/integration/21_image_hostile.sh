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

eq "nothing was ever written outside" "$(ls -A "$OUT")" "secret"
eq "the outside file is intact" "$(cat "$OUT/secret")" "secret"
no_leftovers "hostile"
finish
