#!/usr/bin/env bash
# Deploy sources: a chute directory whose image is an archive beside its
# chute file (resolved against that directory, wherever chuted runs), a tar
# and a tar.gz chute package (ParaDrop's paradrop.yaml in one top-level
# directory too), the version's archive kept for rollback; hostile packages
# (path traversal, symlink escape, absolute path, huge entry, device node,
# setuid file, no chute file, an image naming a host file) each refused in
# one line with nothing left: no unpack dir, no chute, no desired state.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtpkg0 CHUTED_SUBNET=10.231.155.0/24
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-pkg
D=$T_ROOT/deploy

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh","-c","exec sleep 1000"]' --tag pkg:1 -o "$T_DIR/img.tar"

# chute dir DIR of version V, its image the archive beside it; FILE: the chute file's name
mk() {
  local dir=$1 v=$2 file=${3:-chute.yaml}
  mkdir -p "$dir"
  cp "$T_DIR/img.tar" "$dir/seccam.tar"
  printf 'name: %s\nversion: "%s"\nimage: oci-archive:seccam.tar\ncommand: "echo %s > /tmp/ver; trap \\"exit 0\\" TERM; sleep 1000 & wait"\nhealth: {grace: 1s}\n' \
    "$N" "$v" "$v" >"$dir/$file"
}
ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
no_tmp() { [ -z "$(ls -A "$D/tmp" 2>/dev/null)" ]; }

mk "$T_DIR/v1" v1
# v1's image: an OCI layout directory beside the chute file, by tag
mkdir "$T_DIR/v1/layout" && tar -xf "$T_DIR/v1/seccam.tar" -C "$T_DIR/v1/layout" && rm "$T_DIR/v1/seccam.tar"
sed -i 's/^image: .*/image: oci:layout:pkg:1/' "$T_DIR/v1/chute.yaml"
out=$(cd / && chuted deploy "$T_DIR/v1" 2>&1); rc=$?
eq "dir deploy, image oci:layout:pkg:1 beside chute.yaml, from another cwd" "$rc|$(ver)" "0|v1"
check "...the layout is kept with the version" test -s "$D/chutes/$N/versions/v1/layout/index.json"
check "...the chute runs from the kept layout" \
  grep -q "oci:$D/chutes/$N/versions/v1/layout:pkg:1" "$T_ROOT/chutes/$N/chute.json"

mk "$T_DIR/v2" v2
# its archive through a link pointing down the package
mkdir "$T_DIR/v2/images" && mv "$T_DIR/v2/seccam.tar" "$T_DIR/v2/images/" && ln -s images/seccam.tar "$T_DIR/v2/seccam.tar"
# what a killed deploy left: its pid is gone
sh -c 'exit 0' & dead=$!; wait $dead
mkdir -p "$D/tmp/pkg-$dead-AbCdEf/sub"
tar -C "$T_DIR/v2" -cf "$T_DIR/v2.tar" .
out=$(chuted deploy "$T_DIR/v2.tar" 2>&1); rc=$?
eq "tar package: update to v2" "$rc|$(ver)" "0|v2"
check "...its archive (a link in the package) kept with v2 as a file, the unpack dir and a killed deploy's gone" \
  sh -c "test -s '$D/chutes/$N/versions/v2/seccam.tar' -a ! -L '$D/chutes/$N/versions/v2/seccam.tar' && test -z \"\$(ls -A '$D/tmp')\""

mk "$T_DIR/pkg3/seccam" v3 paradrop.yaml
tar -C "$T_DIR/pkg3" -czf "$T_DIR/v3.tar.gz" seccam
out=$(chuted deploy "$T_DIR/v3.tar.gz" 2>&1); rc=$?
eq "tar.gz package, paradrop.yaml in its one top-level dir: update to v3" "$rc|$(ver)" "0|v3"
check "...unpack dir gone" no_tmp
eq "...v1 pruned, v2 and v3 kept with their archives" "$(cd "$D/chutes/$N/versions" && echo */seccam.tar)" \
  "v2/seccam.tar v3/seccam.tar"
check "chute rollback (v2's archive kept)" chuted chute rollback "$N"
eq "...v2 runs again" "$(ver)" v2

out=$(chuted deploy --dry-run "$T_DIR/v3.tar.gz" 2>&1); rc=$?
eq "dry run of a package: the plan, the unpack dir gone" "$rc|$(tail -1 <<<"$out")|$(ls -A "$D/tmp")" \
  "0|dry run: nothing was created|"

# hostile packages, made with python's tarfile: name KIND
mkpkg() {
  python3 - "$T_DIR/bad-$1.tar" "$1" "$N" <<'EOF'
import io, sys, tarfile
out, kind, name = sys.argv[1:]
chute = ("name: %s-bad\nimage: pkg:1\n" % name).encode()
t = tarfile.open(out, "w", format=tarfile.GNU_FORMAT)
def add(n, data=b"", **kw):
    ti = tarfile.TarInfo(n)
    ti.size = len(data)
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if data else None)
if kind != "nochute":
    add("chute.yaml", chute)
if kind == "traversal":
    add("../../chuted-test-escaped", b"x")
elif kind == "abs":
    add("/tmp/chuted-test-abs-escaped", b"x")
elif kind == "symlink":
    add("etc", type=tarfile.SYMTYPE, linkname="/etc")
elif kind == "uplink":
    add("up", type=tarfile.SYMTYPE, linkname="sub/../../..")
elif kind == "device":
    add("null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
elif kind == "setuid":
    add("sh", b"#!/bin/sh\n", mode=0o4755)
elif kind == "hostfile":
    t.close()
    t = tarfile.open(out, "w")
    add("chute.yaml", ("name: %s-bad\nimage: oci-archive:/etc/passwd\n" % name).encode())
elif kind == "nochute":
    add("README", b"no chute file here\n")
if kind == "huge":
    # a header declaring 4 GiB and no data: refused before any is read
    ti = tarfile.TarInfo("huge.bin")
    ti.size = 4 << 30
    t.fileobj.write(ti.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    t.fileobj.close()
else:
    t.close()
EOF
}
for k in traversal abs symlink uplink device setuid huge nochute hostfile; do
  mkpkg "$k"
  out=$(chuted deploy "$T_DIR/bad-$k.tar" 2>&1); rc=$?
  check "hostile package ($k) refused in one line: $out" test $rc -ne 0 -a "$(wc -l <<<"$out")" = 1
  check "...nothing left ($k): no unpack dir, no chute" \
    sh -c "test -z \"\$(ls -A '$D/tmp')\" && test ! -e '$D/chutes/$N-bad' && test ! -e '$T_ROOT/chutes/$N-bad'"
done
check "...nothing escaped" test ! -e "$T_DIR/../chuted-test-escaped" -a ! -e /tmp/chuted-test-abs-escaped
eq "...v2 still runs" "$(ver)" v2

# an archive path leaving the chute's directory, one that is not there, a dockerfile chute
mkdir -p "$T_DIR/up/c"
printf 'name: %s-up\nimage: oci-archive:../seccam.tar\n' "$N" >"$T_DIR/up/c/chute.yaml"
cp "$T_DIR/img.tar" "$T_DIR/up/seccam.tar"
out=$(chuted deploy "$T_DIR/up/c" 2>&1); rc=$?
check "image archive out of the chute's dir refused ($out)" test $rc -ne 0 -a "$(grep -c "leaves the chute's directory" <<<"$out")" = 1
sed -i 's/\.\.\/seccam/nosuch/' "$T_DIR/up/c/chute.yaml"
out=$(chuted deploy "$T_DIR/up/c" 2>&1); rc=$?
check "missing image archive refused ($out)" test $rc -ne 0 -a "$(grep -c "not in the chute's directory" <<<"$out")" = 1
printf 'name: %s-df\ndockerfile: {local: Dockerfile}\n' "$N" >"$T_DIR/up/c/chute.yaml"
out=$(chuted deploy "$T_DIR/up/c" 2>&1); rc=$?
check "dockerfile chute without its Dockerfile refused ($out)" test $rc -ne 0 -a "$(grep -c "not in the chute's directory" <<<"$out")" = 1
eq "...no chute but the one deployed" "$(chuted chutes --json | js "[c['name'] for c in d]")" "['$N']"

check "chute rm" chuted chute rm "$N"
check "...its versions and archives gone" test ! -e "$D/chutes/$N"
chuted network prune >/dev/null 2>&1
no_leftovers "package"
finish
