#!/usr/bin/env bash
# chuted build: offline Dockerfiles on a busybox base made here. Every
# instruction, ARG/--build-arg and ${VAR} forms, multi-stage with COPY
# --from, .dockerignore, the build cache (hit, miss after a COPY input
# changed), a failing RUN (its exit code and output, nothing left), a hostile
# ADD tarball refused, unknown instructions at file:line; the image runs and
# skopeo/umoci read it.
# In the VM suite (tools/vm/run-suite.sh sets CHUTED_VM_TEST_TIMEOUT), where
# each chute costs seconds under TCG, only what its kernel and cgroup v2 can
# change runs: one build whose RUN chute is on overlay, the default network
# and the build's pids limit; a failing RUN cleaned up; the deploy of a
# dockerfile: chute, v2's build failing (CHUTED_BUILD_ESSENTIAL=1 asks for
# that here, =0 for everything there).
. "$(dirname "$0")/../lib.sh"
ESSENTIAL=${CHUTED_BUILD_ESSENTIAL:-${CHUTED_VM_TEST_TIMEOUT:+1}}
full() { [ "${ESSENTIAL:-0}" != 1 ]; }
# RUN steps are chutes on the default network: this test's own bridge
export CHUTED_BRIDGE=chtbld0 CHUTED_SUBNET=10.231.158.0/24
MKIMAGE="$TOP/tools/mkimage"
. "$TOP/tests/registry.sh"
trap 'stop_registry; t_cleanup' EXIT

make_rootfs "$T_DIR/rootfs" >/dev/null
"$MKIMAGE" "$T_DIR/rootfs" --tag base:1 -o "$T_DIR/base.tar"
check "load the base" chuted load "oci-archive:$T_DIR/base.tar"

ctx=$T_DIR/ctx
mkdir -p "$ctx/dir/sub" "$ctx/tarsrc/t"
echo hello > "$ctx/hello.txt"
echo in-dir > "$ctx/dir/sub/f"
echo secret > "$ctx/secret.txt"
echo from-tar > "$ctx/tarsrc/t/x"
tar -czf "$ctx/files.tar.gz" -C "$ctx/tarsrc" t
printf '# comment\nsecret.txt\n*.log\n' > "$ctx/.dockerignore"
echo noise > "$ctx/build.log"
cat > "$ctx/Dockerfile" <<'EOF'
# syntax=docker/dockerfile:1
ARG BASE=base:1
FROM ${BASE} AS build
ARG GREETING
ARG WHO=world
ENV A=1 \
    B="two words" \
    C=${WHO:-none} D=${UNSET:-dflt} E=${WHO:+set}
LABEL org.example.k="v 1" two=2
EXPOSE 8080 53/udp
WORKDIR /app
WORKDIR sub
COPY --chown=nobody:nogroup --chmod=0640 hello.txt ./
COPY ["dir/", "/copied/"]
COPY . /ctx/
ADD files.tar.gz /unpacked/
RUN echo "$GREETING $A $B $C $D $E" > /app/out.txt; rm /bin/vi
RUN ["/bin/sh", "-c", "echo exec-form > /app/exec.txt"]
RUN ip -o -4 addr show eth0 > /app/net.txt
SHELL ["/bin/sh", "-e", "-c"]
RUN mkdir -p /out && echo built > /out/artifact && chmod 1777 /tmp
USER nobody
RUN id -u > /tmp/uid
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/out.txt"]

FROM base:1
COPY --from=build /out/artifact /artifact
CMD ["cat", "/artifact"]
EOF
# the first stage alone: a Dockerfile ending there (the image whose config we check)
sed -n '1,/^CMD \["cat \/app/p' "$ctx/Dockerfile" > "$ctx/Stage1.Dockerfile"

if full; then
out=$(chuted build -t built:1 -f "$ctx/Stage1.Dockerfile" --build-arg GREETING=hello "$ctx" 2>&1); rc=$?
eq "build every instruction ($(tail -1 <<<"$out"))" "$rc" 0
eq "RUN sees ARG (--build-arg) and ENV, \${VAR:-x} \${VAR:+x}" \
  "$(chuted run --rm --net none built:1 2>&1)" "hello 1 two words world dflt set"
eq "RUN exec form" "$(chuted run --rm --net none built:1 'cat /app/exec.txt' 2>&1)" "exec-form"
check "RUN in a chute on the default network" grep -q "inet 10.231.158." <(chuted run --rm --net none built:1 'cat /app/net.txt')
eq "RUN as USER nobody" "$(chuted run --rm --net none built:1 'cat /tmp/uid' 2>&1)" "65534"
eq "COPY --chown --chmod into a relative WORKDIR" \
  "$(chuted run --rm --net none built:1 'stat -c "%u:%g %a %n" hello.txt; cat hello.txt' 2>&1)" \
  "65534:65534 640 hello.txt
hello"
eq "COPY a directory's contents" "$(chuted run --rm --net none built:1 'cat /copied/sub/f' 2>&1)" "in-dir"
eq ".dockerignore keeps secret.txt and *.log out" \
  "$(chuted run --rm --net none built:1 'ls /ctx | tr "\n" " "' 2>&1)" "Dockerfile Stage1.Dockerfile dir files.tar.gz hello.txt tarsrc "
eq "ADD unpacks a local tarball" "$(chuted run --rm --net none built:1 'cat /unpacked/t/x' 2>&1)" "from-tar"
check_fails "a file removed by RUN is gone (whiteout)" chuted run --rm --net none built:1 'test -e /bin/vi'
cfg=$(chuted image inspect built:1 | jq -c '.config')
eq "config: Env, WorkingDir, User, ports, labels, volumes, stop signal, healthcheck, entrypoint, cmd" \
  "$(jq -cS '[.Env, .WorkingDir, .User, .ExposedPorts, .Labels, .Volumes, .StopSignal, .Healthcheck, .Entrypoint, .Cmd]' <<<"$cfg")" \
  '[["A=1","B=two words","C=world","D=dflt","E=set"],"/app/sub","nobody",{"53/udp":{},"8080/tcp":{}},{"org.example.k":"v 1","two":"2"},{"/data":{}},"SIGINT",{"Interval":5000000000,"Retries":2,"Test":["CMD-SHELL","true"]},["/bin/sh","-c"],["cat /app/out.txt"]]'

out=$(chuted build -t multi:1 "$ctx" 2>&1); rc=$?
eq "multi-stage build ($(tail -1 <<<"$out"))" "$rc" 0
eq "COPY --from=stage" "$(chuted run --rm --net none multi:1 2>&1)" "built"
eq "the final stage has only its own layers on the base" "$(chuted image inspect multi:1 | jq '.rootfs.diff_ids | length')" 2

# the cache: an unchanged rebuild makes no layer; a changed COPY input
# rebuilds from that step on
m1=$(chuted image inspect multi:1 | jq -r ._manifest)
out=$(chuted build -t multi:1 "$ctx" 2>&1)
eq "unchanged rebuild: every filesystem step cached" "$(grep -c -- '^--> cached' <<<"$out")" 12
eq "...and the very same image (a redeploy sees nothing new)" "$(chuted image inspect multi:1 | jq -r ._manifest)" "$m1"
echo changed > "$ctx/dir/sub/f"
out=$(chuted build -t multi:1 "$ctx" 2>&1)
eq "after a COPY input changed: the steps before it cached, it and the rest rebuilt" \
  "$(grep -c -- '^--> cached' <<<"$out")" 3
eq "...and the image has the new file" "$(chuted run --rm --net none multi:1 2>&1)" "built"
out=$(chuted build --no-cache -q -t multi:1 "$ctx" 2>&1); rc=$?
check "--no-cache -q prints the image id alone ($out)" test $rc = 0 -a "$(grep -c '^sha256:[0-9a-f]\{64\}$' <<<"$out")" = 1

# reading the store as others do
if command -v skopeo >/dev/null && command -v umoci >/dev/null; then
check "skopeo reads the built image" skopeo inspect "oci:$T_ROOT/images/oci:multi:1"
check "umoci unpacks it" umoci unpack --image "$T_ROOT/images/oci:built:1" "$T_DIR/umoci-bundle"
check "...with the whiteout applied and the RUN's file there" \
  test ! -e "$T_DIR/umoci-bundle/rootfs/bin/vi" -a -f "$T_DIR/umoci-bundle/rootfs/app/out.txt"
rm -rf "$T_DIR/umoci-bundle"
else
  skip "skopeo or umoci missing: the store not read by them"
fi
else
# the VM's essentials in one build: RUN in a chute on the default network
# under the build's limits, on overlay (a removed file a whiteout)
mkdir -p "$T_DIR/vm"
printf 'FROM base:1\nRUN ip -o -4 addr show eth0 > /net.txt; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null > /pids; rm /bin/vi\nCMD ["cat", "/pids"]\n' \
  > "$T_DIR/vm/Dockerfile"
out=$(chuted build --pids 64 -t vm:1 "$T_DIR/vm" 2>&1); rc=$?
eq "build: RUN on overlay in a chute ($(tail -1 <<<"$out"))" "$rc" 0
eq "...on the default network, under the build's limits, its removal a whiteout" \
  "$(chuted run --rm --net none vm:1 sh -c 'grep -c "inet 10.231.158." /net.txt; cat /pids; test -e /bin/vi || echo gone' 2>&1)" "1
64
gone"
fi

nothing_left() {
  local t m
  t=$(ls -A "$T_ROOT/images/tmp" | tr '\n' ' ')
  m=$(grep -c "$T_DIR" /proc/mounts)
  [ -z "$t" ] && [ "$m" = 0 ] && [ -z "$(chuted ps -a -q)" ] || { echo "tmp: $t mounts: $m chutes: $(chuted ps -a -q)"; return 1; }
}

chutes_running() { [ -n "$(chuted ps -q)" ]; }
no_chutes() { [ -z "$(chuted ps -a -q)" ]; }

# a failing RUN: its exit code, its output, and nothing left behind
fail_ctx=$T_DIR/fail
mkdir -p "$fail_ctx"
printf 'FROM base:1\nRUN echo before\nRUN echo failing-output; exit 7\nRUN echo never\n' > "$fail_ctx/Dockerfile"
out=$(chuted build -t failing:1 "$fail_ctx" 2>&1); rc=$?
eq "a failing RUN: the build exits with its code" "$rc" 7
check "...shows its output" grep -q '^failing-output' <<<"$out"
check "...says which line and code ($(tail -1 <<<"$out"))" grep -q 'Dockerfile:3: RUN .*exit code 7' <<<"$out"
check "...never runs the next step" test "$(grep -c '^never' <<<"$out")" = 0
check "...leaves no chute, mount or temp dir" nothing_left
check_fails "...and no image name" chuted image inspect failing:1

if full; then
# a build told to stop (TERM) ends after the running step, cleaning up; one
# killed outright leaves a mounted step dir that the next build removes
printf 'FROM base:1\nRUN sleep 1\nRUN echo never\n' > "$fail_ctx/Dockerfile"
"$CHUTED" build -t failing:1 "$fail_ctx" > "$T_DIR/term.out" 2>&1 &
pid=$!
wait_for 100 chutes_running
kill -TERM $pid; wait $pid; rc=$?
check "TERM: the build stops after the running step, exit 143 ($(tail -1 "$T_DIR/term.out"))" \
  test $rc = 143 -a "$(grep -c '^never' "$T_DIR/term.out")" = 0
check "...leaving nothing" nothing_left
"$CHUTED" build --no-cache -t failing:1 "$fail_ctx" > /dev/null 2>&1 &
pid=$!
wait_for 100 chutes_running
kill -KILL $pid; wait $pid 2>/dev/null
wait_for 100 no_chutes
check "(a killed build leaves its step mount)" grep -q " $T_ROOT/images/tmp/build-" /proc/mounts
chuted build -q -t after-kill:1 "$ctx" >/dev/null 2>&1
check "after a build was killed, the next one cleans its mounts and dirs" nothing_left

# outside input refused, nothing made
mkdir -p "$T_DIR/hostile/src"
python3 - "$T_DIR/hostile/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"pwned\n"
    i = tarfile.TarInfo("../../../../../../tmp/chuted-test-build-escape")
    i.size = len(data)
    t.addfile(i, io.BytesIO(data))
EOF
printf 'FROM base:1\nADD evil.tar /x/\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "a hostile ADD tarball is refused ($(tail -1 <<<"$out"))" test $rc = 125 -a ! -e /tmp/chuted-test-build-escape
check "...leaving nothing" nothing_left
printf 'FROM base:1\nRUN head -c 5000000 /dev/zero > /big\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build --disk-limit 4M -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "a step writing past --disk-limit is refused ($(tail -1 <<<"$out"))" \
  test $rc = 125 -a "$(grep -c 'Dockerfile:2: .*more than the disk limit of 4194304 bytes' <<<"$out")" = 1
check "...leaving nothing" nothing_left
ln -s /etc "$T_DIR/hostile/out"
printf 'FROM base:1\nCOPY out/shadow /stolen\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "a symlink in the context cannot reach the host's files ($(tail -1 <<<"$out"))" \
  test $rc = 125 -a "$(grep -c 'Dockerfile:2: .*source `out/shadow`' <<<"$out")" = 1
printf 'FROM base:1\nRUN true\nFROBNICATE now\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "an unknown instruction: file:line, before any step ($out)" \
  test $rc = 125 -a "$(grep -c 'Dockerfile:3: unknown instruction `FROBNICATE' <<<"$out")" = 1 -a "$(grep -c STEP <<<"$out")" = 0
printf 'FROM base:1\nRUN --mount=type=cache,target=/x true\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "an unsupported flag is refused, not ignored ($(tail -1 <<<"$out"))" \
  test $rc = 125 -a "$(grep -c 'Dockerfile:2: RUN: flag `--mount=type=cache,target=/x` is not supported' <<<"$out")" = 1
printf 'FROM nonesuch:9\n' > "$T_DIR/hostile/Dockerfile"
out=$(chuted build -t hostile:1 "$T_DIR/hostile" 2>&1); rc=$?
check "FROM an image not in the store ($(tail -1 <<<"$out"))" test $rc = 125 -a "$(grep -c 'Dockerfile:1: FROM nonesuch:9' <<<"$out")" = 1
check "...leaving nothing" nothing_left
eq "usage error without -t" "$(chuted build "$ctx" >/dev/null 2>&1; echo $?)" 2
fi

if full; then
# the RUN chutes take the build's limits and network
mkdir -p "$T_DIR/limits"
printf 'FROM base:1\nRUN cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null > /pids; ls /sys/class/net | tr "\\n" " " > /links\n' \
  > "$T_DIR/limits/Dockerfile"
out=$(chuted build --pids 64 --memory 48M --network none -t limits:1 "$T_DIR/limits" 2>&1); rc=$?
eq "build --pids/--memory/--network ($(tail -1 <<<"$out"))" "$rc" 0
eq "...the RUN chute had them" "$(chuted run --rm --net none limits:1 cat /pids /links 2>&1)" "64
lo "
fi

if full; then
# the seed's SecCam shape: FROM, RUN, ADD from a web server (here one on
# 127.0.0.1), CMD; what ADD fetches is never unpacked, and its content is
# its cache key
mkdir -p "$T_DIR/www" "$T_DIR/seccam"
echo "from the web" > "$T_DIR/www/payload.txt"
cp "$ctx/files.tar.gz" "$T_DIR/www/pkg.tar.gz"
port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$T_DIR/www" "$port" >/dev/null 2>&1 &
web=$!
wait_for 50 curl -sf -o /dev/null "http://127.0.0.1:$port/payload.txt"
cat > "$T_DIR/seccam/Dockerfile" <<EOF
FROM base:1
RUN echo installing > /installed
ADD http://127.0.0.1:$port/payload.txt /srv/
ADD http://127.0.0.1:$port/pkg.tar.gz?v=1 /srv/pkg.tar.gz
CMD ["cat", "/srv/payload.txt"]
EOF
out=$(chuted build -t seccam:1 "$T_DIR/seccam" 2>&1); rc=$?
eq "ADD of http URLs ($(tail -1 <<<"$out"))" "$rc" 0
eq "...fetched into the image" "$(chuted run --rm --net none seccam:1 2>&1)" "from the web"
eq "...an archive left as it is, 0600" \
  "$(chuted run --rm --net none seccam:1 sh -c 'stat -c "%a %u" /srv/pkg.tar.gz; ls /srv | tr "\n" " "' 2>&1)" "600 0
payload.txt pkg.tar.gz "
out=$(chuted build -t seccam:1 "$T_DIR/seccam" 2>&1)
eq "unchanged URLs: their steps cached" "$(grep -c -- '^--> cached' <<<"$out")" 3
echo "changed on the web" > "$T_DIR/www/payload.txt"
out=$(chuted build -t seccam:1 "$T_DIR/seccam" 2>&1)
eq "a URL's content changed: fetched anew, that step and the next rebuilt" "$(grep -c -- '^--> cached' <<<"$out")" 1
eq "...the new content in the image" "$(chuted run --rm --net none seccam:1 2>&1)" "changed on the web"
printf 'FROM base:1\nADD http://127.0.0.1:%s/nonesuch /x\n' "$port" > "$T_DIR/seccam/Dockerfile"
out=$(chuted build -t seccam:2 "$T_DIR/seccam" 2>&1); rc=$?
check "a URL that answers 404 fails the build ($(tail -1 <<<"$out"))" test $rc = 125 -a "$(grep -c '404' <<<"$out")" -ge 1
check "...leaving nothing" nothing_left
kill $web; wait $web 2>/dev/null

# FROM an image on a registry of its own: pulled (loopback: plain http)
if ! command -v docker-registry >/dev/null; then
  skip "docker-registry missing: FROM a registry image not tried"
elif start_registry; then
  push_image "$T_DIR/base.tar" base:reg
  mkdir -p "$T_DIR/reg"
  printf 'FROM 127.0.0.1:%s/base:reg\nRUN echo pulled > /p\nCMD ["cat", "/p"]\n' "$REG_PORT" > "$T_DIR/reg/Dockerfile"
  out=$(chuted build -t from-reg:1 "$T_DIR/reg" 2>&1); rc=$?
  eq "FROM a registry image pulls it ($(tail -1 <<<"$out"))" "$rc" 0
  eq "...and builds on it" "$(chuted run --rm --net none from-reg:1 2>&1)" "pulled"
  stop_registry
else
  fail "docker-registry did not start"
fi
fi

if full; then
# image prune drops the cache entries whose layers it removed, and only those
n0=$(ls "$T_ROOT/images/build-cache" | wc -l)
chuted rmi multi:1 built:1 after-kill:1 >/dev/null 2>&1
chuted image prune >/dev/null 2>&1
n1=$(ls "$T_ROOT/images/build-cache" | wc -l)
check "image prune drops the build cache entries of removed layers ($n0 -> $n1)" test "$n1" -lt "$n0" -a "$n1" -gt 0
out=$(chuted build --network none -t limits:1 "$T_DIR/limits" 2>&1)
check "...and keeps the rest: a kept image's steps still cached" test "$(grep -c -- '^--> cached' <<<"$out")" = 1
fi

# the seed's shape: chute.yaml with dockerfile: {local: Dockerfile}, built
# by the deploy (phase building) and run; v2's build fails: v1 runs on
sc=$T_DIR/seccam
mkdir -p "$sc"
printf 'FROM base:1\nRUN echo built-v1 > /ver\nCMD ["/bin/sh","-c","trap \x27exit 0\x27 TERM; sleep 1000 & wait"]\n' >"$sc/Dockerfile"
printf 'name: chuted-test-seccam\nversion: "1"\nresource: {memory: 64M}\nhealth: {grace: 1s}\nnet: {}\ndockerfile:\n  local: Dockerfile\n' >"$sc/chute.yaml"
out=$(chuted deploy "$sc" 2>&1); rc=$?
eq "deploy of a dockerfile: chute builds and runs it ($(tail -1 <<<"$out"))" "$rc" 0
check "...through a building phase" grep -q ': building' <<<"$out"
eq "...the built image runs" "$(chuted exec chuted-test-seccam cat /ver 2>&1)" built-v1
eq "...as chute-NAME:VERSION" "$(chuted inspect chuted-test-seccam | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["config"]["image"])')" \
  localhost/chuted-build/chuted-test-seccam:1
sed -i 's/^RUN echo built-v1 > \/ver/RUN echo v2-broke; exit 7/' "$sc/Dockerfile"
sed -i 's/^version: "1"/version: "2"/' "$sc/chute.yaml"
out=$(chuted deploy "$sc" 2>&1); rc=$?
check "a v2 whose build fails is refused ($(tail -1 <<<"$out"))" test $rc -ne 0 -a "$(grep -c 'build of `Dockerfile` failed' <<<"$out")" -ge 1
check "...its failed step and last output shown" grep -qzF $'  failed step: Dockerfile:2: RUN echo v2-broke; exit 7 (exit code 7)\n  its last output:\n  | v2-broke\n' <<<"$out"
eq "...v1 still runs" "$(chuted exec chuted-test-seccam cat /ver 2>&1)" built-v1
printf 'name: chuted-test-df2\ndockerfile: {local: ../Dockerfile}\n' >"$sc/bad.yaml"
out=$(chuted deploy "$sc/bad.yaml" 2>&1); rc=$?
check "a dockerfile outside the chute's dir is refused ($out)" test $rc -ne 0 -a "$(grep -c 'a path inside' <<<"$out")" = 1
check "chute rm" chuted chute rm chuted-test-seccam
if full; then
printf 'name: chuted-test-df3\nimage: base:1\ncommand: "trap \x27exit 0\x27 TERM; sleep 1000 & wait"\nhealth: {grace: 1s}\nnet: {}\ndockerfile: {local: Dockerfile}\n' >"$sc/both.yaml"
out=$(chuted deploy "$sc/both.yaml" 2>&1); rc=$?
check "a chute file naming its image and a Dockerfile runs the image, unbuilt ($(tail -1 <<<"$out"))" \
  test $rc -eq 0 -a "$(grep -c ': building' <<<"$out")" = 0
chuted chute rm chuted-test-df3 >/dev/null 2>&1
fi

chuted network prune >/dev/null 2>&1
no_leftovers "build"
finish
