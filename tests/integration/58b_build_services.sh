#!/usr/bin/env bash
# Chutes the deploy builds, beyond the paper's dockerfile: (58_build):
# ParaDrop's service types in a pod, each service built: `normal` (the
# Dockerfile in its source: dir) and `light` (its source on a named base,
# mapped to an image by ROOT/config/light-bases, the base's dependency file
# installed first, then the source, CMD its command); and a build that
# fails: its record (step, file:line, exit code, last output lines) in
# `chuted deploy`'s output, the journal and the daemon's REST change document.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtbld1 CHUTED_SUBNET=10.231.197.0/24
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-pdb
SOCK=$T_DIR/api.sock
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null; t_cleanup' EXIT

make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --tag base:1 -o "$T_DIR/base.tar"
check "load the base" chuted load "oci-archive:$T_DIR/base.tar"

# a base of our own (tlang: its deps file installed by a RUN), and
# ParaDrop's python2 mapped to the local base (its pip step unused: no
# requirements.txt in that source)
mkdir -p "$T_ROOT/config"
cat >"$T_ROOT/config/light-bases" <<'EOF'
# NAME IMAGE [DEPS-FILE INSTALL-COMMAND...]
python2 base:1
tlang   base:1   deps.txt   cp deps.txt /deps-installed
EOF
D=$T_DIR/pd
mkdir -p "$D/app" "$D/py" "$D/worker"
echo "app file" >"$D/app/hello.txt"
echo "dep-a" >"$D/app/deps.txt"
echo "py file" >"$D/py/main.py"
printf 'FROM base:1\nRUN echo normal-built > /built\nCMD ["/bin/sh","-c","trap \x27exit 0\x27 TERM; sleep 1000 & wait"]\n' >"$D/worker/Dockerfile"
LOOP="trap 'exit 0' TERM; sleep 1000 & wait"
cat >"$D/chute.yaml" <<EOF
name: $N
version: "1"
health: {grace: 1s}
services:
  main:
    type: light
    source: app
    image: tlang
    command: "$LOOP"
  py:
    type: light
    source: py
    image: python2
    command: ["/bin/sh", "-c", "$LOOP"]
  worker:
    type: normal
    source: worker
  db:
    type: image
    image: base:1
    command: "$LOOP"
EOF
# what a deploy killed while building left: swept by the next
mkdir -p "$T_ROOT/deploy" && echo stale >"$T_ROOT/deploy/light-999999999-AbCdEf"
eq "the plan names what the deploy builds" "$(chuted deploy --dry-run --json "$D" | jq -c '[.services[] | .image, .build]')" \
  '[null,{"type":"light","source":"app","base":"tlang"},null,{"type":"light","source":"py","base":"python2"},null,{"type":"normal","source":"worker"},"base:1",null]'
out=$(chuted deploy "$D" 2>&1); rc=$?
eq "deploy of a pod with light, normal and image services ($(tail -1 <<<"$out"))" "$rc" 0
eq "...each built service in its building phase" "$(grep -v ': step ' <<<"$out" | grep -o 'building: service [a-z]*' | tr '\n' ,)" \
  "building: service main,building: service py,building: service worker,"
check "...each step an event as it begins" grep -q ': building: service worker: `worker/Dockerfile`: step 2/3: RUN echo normal-built > /built$' <<<"$out"
eq "light: the source in /opt/paradrop/app, its deps file installed by the base's command" \
  "$(chuted exec "$N+main" sh -c 'cat /opt/paradrop/app/hello.txt /deps-installed; pwd' 2>&1)" "app file
dep-a
/opt/paradrop/app"
eq "...its image's CMD the service's command" \
  "$(chuted image inspect "localhost/chuted-build/$N/main:1" | jq -c .config.Cmd)" "[\"/bin/sh\",\"-c\",\"$LOOP\"]"
eq "light on python2 (mapped to the local base): no deps file, no install step" \
  "$(chuted exec "$N+py" sh -c 'cat main.py; test -e /deps-installed || echo none' 2>&1)" "py file
none"
eq "the light services' Dockerfiles removed, a dead deploy's too" "$(ls "$T_ROOT/deploy" | grep -c '^light-')" 0
eq "normal: built from source/Dockerfile" "$(chuted exec "$N+worker" cat /built 2>&1)" normal-built
eq "image: runs as given" "$(chuted inspect "$N+db" | js 'd[0]["config"]["image"]')" base:1
m1=$(chuted image inspect "localhost/chuted-build/$N/main:1" | jq -r ._manifest)
out=$(chuted deploy "$D" 2>&1); rc=$?
check "a redeploy of the same version: its builds cached, the same image ($(tail -1 <<<"$out"))" \
  test $rc = 0 -a "$(chuted image inspect "localhost/chuted-build/$N/main:1" | jq -r ._manifest)" = "$m1"

# ParaDrop's first paradrop.yaml: the chute itself light, `use:` its base
V1=$T_DIR/v1
mkdir -p "$V1"
echo v1-file >"$V1/index.txt"
echo dep-v1 >"$V1/deps.txt"
printf 'name: %s-v1
version: 1
type: light
use: tlang
command: "%s"
health: {grace: 1s}
' "$N" "$LOOP" >"$V1/paradrop.yaml"
out=$(chuted deploy "$V1" 2>&1); rc=$?
eq "ParaDrop's first format (type: light, use: tlang) builds and runs ($(tail -1 <<<"$out"))" "$rc" 0
eq "...its dir on the base, its deps installed" "$(chuted exec "$N-v1" sh -c 'cat index.txt /deps-installed' 2>&1)" "v1-file
dep-v1"
check "...chute rm" chuted chute rm "$N-v1"

# refused before anything is made: an unknown base, a normal service
# without its Dockerfile, a source outside the chute's dir, a light one
# with no command
bad() {
  cp "$D/chute.yaml" "$D/bad.yaml"
  sed -i "s/^name: .*/name: $N-bad/; $1" "$D/bad.yaml"
  out=$(chuted deploy "$D/bad.yaml" 2>&1); rc=$?
  check "$2 ($out)" test $rc -ne 0 -a "$(grep -c -- "$3" <<<"$out")" -ge 1 -a "$(grep -c building <<<"$out")" = 0
}
bad 's/image: tlang/image: cobol/' "an unknown light base is refused" 'no light base `cobol`'
bad 's/source: worker/source: py/' "a normal service whose source has no Dockerfile" '`py/Dockerfile` is not in the chute'
bad 's/source: app/source: ..\/x/' "a source outside the chute's dir" 'a path inside the chute'
bad '/command: \["\/bin\/sh"/d' "a light service without its command" 'needs its command'
eq "...none of them left a chute" "$(chuted ps -a -q | grep -c -- "$N-bad")" 0

# a build that fails: the change's failure record
sed -i 's/^version: "1"/version: "2"/' "$D/chute.yaml"
printf 'FROM base:1\nRUN echo first line; echo second line >&2; exit 7\n' >"$D/worker/Dockerfile"
out=$(chuted deploy "$D" 2>&1); rc=$?
check "v2 whose worker build fails is refused ($(tail -1 <<<"$out"))" \
  test $rc -ne 0 -a "$(grep -c 'build of service worker: `worker/Dockerfile` failed' <<<"$out")" -ge 1
check "deploy shows the failed step, file:line and exit code" \
  grep -q '^  failed step: Dockerfile:2: RUN echo first line; echo second line >&2; exit 7 (exit code 7)$' <<<"$out"
check "...and the step's last output lines, stdout and stderr" \
  grep -qzF $'  | first line\n  | second line\n' <<<"$out"
eq "v1 runs on" "$(chuted exec "$N+worker" cat /built 2>&1)" normal-built
rec=$(chuted changes --json | js "[c for c in d if c['chute']=='$N'][-1]['failure']")
eq "the journal keeps the record as fields" "$rec" \
  "{'message': 'Dockerfile:2: RUN /bin/sh -c echo first line; echo second line >&2; exit 7: exit code 7', 'kind': 'build', 'file': 'Dockerfile', 'instruction': 'RUN echo first line; echo second line >&2; exit 7', 'line': 2, 'exit_code': 7, 'output': ['first line', 'second line'], 'service': 'worker'}"
CID=$(chuted changes --json | js "[c for c in d if c['chute']=='$N'][-1]['id']")
"$CHUTED" daemon --api "unix:$SOCK" >"$T_DIR/daemon.log" 2>&1 &
DPID=$!
if wait_for 50 curl -sf --unix-socket "$SOCK" http://x/api/v1/info; then
  eq "GET /api/v1/changes/ID: the same record" \
    "$(curl -s --unix-socket "$SOCK" "http://x/api/v1/changes/$CID" | js 'd["result"], d["failure"]["line"], d["failure"]["exit_code"], d["failure"]["output"]')" \
    "failed 2 7 ['first line', 'second line']"
else
  fail "the daemon did not serve ($(tail -3 "$T_DIR/daemon.log"))"
fi
kill $DPID; wait $DPID 2>/dev/null; DPID=

# the chute's disk: bounds its builds too
sed -i 's/^version: "2"/version: "3"\nresource: {disk: 16M}/' "$D/chute.yaml"
printf 'FROM base:1\nRUN head -c 20000000 /dev/zero > /big\n' >"$D/worker/Dockerfile"
out=$(chuted deploy "$D" 2>&1); rc=$?
check "a build writing past the chute's disk: fails the change ($(tail -1 <<<"$out"))" \
  test $rc -ne 0 -a "$(grep -c 'more than the disk limit of 16777216 bytes' <<<"$out")" -ge 1
eq "...v1 runs on" "$(chuted exec "$N+worker" cat /built 2>&1)" normal-built
check "chute rm" chuted chute rm "$N"
chuted network prune >/dev/null 2>&1
no_leftovers "build"
finish
