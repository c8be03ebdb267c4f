#!/usr/bin/env bash
# chuted build vs podman build (buildah), the same Dockerfile on the same
# busybox base, median of BENCH_RUNS interleaved rounds (default 3); each
# round: a cold build (empty store and cache, base loaded), a fully cached
# rebuild, a rebuild after one COPY input changed. Plus the peak RSS summed
# over each tool's own processes during a cold build (chuted, chuted-image,
# chuted-monitor, chuted-runtime vs podman, conmon, runc, netavark...; the
# RUN steps' own processes apart). Writes its section of docs/BENCHMARKS.md.
# Then the seed's deploy table with a build (seccam_deploy below, its own
# section). BUILD_BENCH=podman or =seccam runs one part alone.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
N=${BENCH_RUNS:-3}
W=$(mktemp -d /tmp/chuted-test-bench-build.XXXXXX)
export CHUTED_CGROUP_PARENT=chuted-test-bench-build CHUTED_NET_ROOT=$W/netroot
export CHUTED_BRIDGE=chuted-tbuild CHUTED_SUBNET=10.218.8.0/24
MODE=${BUILD_BENCH:-all}
TEST_PREFIX=chuted-test
. "$TOP/tests/registry.sh"
WEB=""
cleanup() {
  stop_registry
  [ -n "$WEB" ] && kill "$WEB" 2>/dev/null
  for r in "$W"/sroot*; do
    [ -d "$r" ] && "$BIN/chuted" --root "$r" --run-root "$W/run/$(basename "$r")" chute rm chuted-test-seccam >/dev/null 2>&1
  done
  [ -x "$BIN/chuted" ] && "$BIN/chuted" --root "$W/croot" --run-root "$W/run/crun" network prune >/dev/null 2>&1
  command -v podman >/dev/null && podman --root "$W/proot" --runroot "$W/run/prun" rmi -a -f >/dev/null 2>&1
  grep " $W" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
  rmdir /sys/fs/cgroup/*/"$CHUTED_CGROUP_PARENT" 2>/dev/null
}
trap cleanup EXIT

ms() {
  local a b
  a=${EPOCHREALTIME/./}
  "$@" >"$W/out" 2>&1 || echo "bench: $* failed: $(tail -3 "$W/out")" >&2
  b=${EPOCHREALTIME/./}
  echo $(((b - a) / 1000))
}
median() { sort -n "$1" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN{ if (k + 0 > 0) printf "%.1f", k / 1024; else print "n/a" }'; }

# peaks of the summed VmRSS and PSS (shared pages counted once) of the processes named by RE (exe's base name)
# that are CMD's descendants or mention the bench's dir on their command line
# (a chute's monitor is double-forked away from the tree; its runtime runs from
# a sealed memfd copy); other users of the host are left out
tool_rss() {
  local re=$1; shift
  /usr/bin/python3 - "$re" "$W" "$@" <<'PY'
import os, re, subprocess, sys, time
pat, mark = re.compile(sys.argv[1]), sys.argv[2].encode()
def val(pid, f, key):
    try:
        with open(f"/proc/{pid}/{f}") as fh:
            for l in fh:
                if l.startswith(key):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0
def name(pid):
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""
def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""
def parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            st = fh.read()
        return int(st[st.rindex(")") + 2:].split()[1])
    except (OSError, ValueError):
        return 0
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = ppeak = 0
while p.poll() is None:
    pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    par = {x: parent(x) for x in pids}
    tot = ptot = 0
    for x in pids:
        if not pat.search(name(x)):
            continue
        y, mine = x, False
        while y > 1 and not mine:
            mine = y == p.pid
            y = par.get(y, 0)
        if mine or mark in cmdline(x):
            tot += val(x, "status", "VmRSS:")
            ptot += val(x, "smaps_rollup", "Pss:")
    peak = max(peak, tot)
    ppeak = max(ppeak, ptot)
    time.sleep(0.002)
print(peak, ppeak)
PY
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$W/run" && mount -t tmpfs -o size=128m,mode=0755 chuted-test-bench "$W/run"
if [ "$MODE" != seccam ]; then
# the base: a busybox rootfs
R=$W/rootfs
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
"$BIN/chuted-image" mkimage "$R" --tag base:1 -o "$W/base.tar"
# the SecCam shape: packages installed by RUN, the app copied, a RUN over it, CMD
ctx=$W/ctx
mkdir -p "$ctx/app"
for i in $(seq 50); do head -c 20000 /dev/urandom | base64 > "$ctx/app/m$i.py"; done
cat > "$ctx/Dockerfile" <<'EOF'
FROM localhost/base:1
RUN mkdir -p /usr/lib/pkgs && for i in $(seq 300); do echo "package $i" > /usr/lib/pkgs/p$i; done
ENV APP=/srv/app MODE=night
WORKDIR /srv
COPY app/ /srv/app/
RUN cat /srv/app/*.py | wc -c > /srv/app.size
EXPOSE 8080
CMD ["/bin/sh", "-c", "cat /srv/app.size"]
EOF

C=("$BIN/chuted" --root "$W/croot" --run-root "$W/run/crun")
P=(podman --root "$W/proot" --runroot "$W/run/prun" --runtime runc)
havepod=0
command -v podman >/dev/null && havepod=1
: > "$W/c.cold"; : > "$W/c.cached"; : > "$W/c.changed"; : > "$W/p.cold"; : > "$W/p.cached"; : > "$W/p.changed"
cached_steps="n/a"
for i in $(seq "$N"); do
  echo "build round $i/$N..." >&2
  "${C[@]}" rm -f $("${C[@]}" ps -a -q) >/dev/null 2>&1
  rm -rf "$W/croot"
  "${C[@]}" load --tag localhost/base:1 "oci-archive:$W/base.tar" >/dev/null
  sync
  ms "${C[@]}" build -t app:1 "$ctx" >> "$W/c.cold"
  ms "${C[@]}" build -t app:1 "$ctx" >> "$W/c.cached"
  cached_steps=$(grep -c -- '^--> cached' "$W/out")
  if [ $havepod = 1 ]; then
    "${P[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$W/proot"
    "${P[@]}" load -q -i "$W/base.tar" >/dev/null 2>&1
    "${P[@]}" tag "$("${P[@]}" images -q | head -1)" localhost/base:1 >/dev/null 2>&1
    sync
    ms "${P[@]}" build -q -t app:1 "$ctx" >> "$W/p.cold"
    ms "${P[@]}" build -q -t app:1 "$ctx" >> "$W/p.cached"
  fi
  echo "change $i" >> "$ctx/app/m1.py"
  ms "${C[@]}" build -t app:1 "$ctx" >> "$W/c.changed"
  [ $havepod = 1 ] && ms "${P[@]}" build -q -t app:1 "$ctx" >> "$W/p.changed"
done
cc=$(median "$W/c.cold") ck=$(median "$W/c.cached") cg=$(median "$W/c.changed")
pc="n/a" pk="n/a" pg="n/a"
[ $havepod = 1 ] && pc=$(median "$W/p.cold") pk=$(median "$W/p.cached") pg=$(median "$W/p.changed")
check=$("${C[@]}" run --rm --net none app:1 2>&1)

# peak RSS during a cold build
rm -rf "$W/croot"; "${C[@]}" load --tag localhost/base:1 "oci-archive:$W/base.tar" >/dev/null
read -r crss cpss < <(tool_rss '^(chuted|memfd|[0-9]+$)' "${C[@]}" build -t app:1 "$ctx")
prss="n/a" ppss="n/a"
if [ $havepod = 1 ]; then
  "${P[@]}" rmi -f app:1 >/dev/null 2>&1; "${P[@]}" builder prune -a -f >/dev/null 2>&1
  read -r prss ppss < <(tool_rss '^(podman|conmon|runc|crun|buildah|netavark|aardvark-dns|slirp4netns|pasta)$' "${P[@]}" build -q --no-cache -t app:1 "$ctx")
fi
"${C[@]}" network prune >/dev/null 2>&1

section=$(cat <<MD
<!-- build-bench:start -->
## Build: chuted build vs podman build (tests/bench/build.sh, $(date -u +%Y-%m-%d), $(nproc) CPUs, median of $N interleaved rounds)

Load average when the bench started: $LOAD (the host is shared).
Dockerfile (the seed's SecCam shape, offline): FROM a busybox base, RUN that writes 300 files, ENV, WORKDIR,
COPY of a 50-file app dir (1.3 MB), RUN over the copied files, EXPOSE, CMD. Both tools: run state on a tmpfs,
images on the host's disk, RUN steps on each one's default network (podman with runc).
The built image prints \`$check\`.

| what | chuted build | podman build | ratio | target |
|---|---|---|---|---|
| cold build (empty cache, base present) | $cc ms | $pc ms | $(ratio "$cc" "$pc") × | ≤ 0.5 × |
| fully cached rebuild ($cached_steps steps cached) | $ck ms | $pk ms | $(ratio "$ck" "$pk") × | ≤ 50 ms |
| rebuild after one COPY input changed | $cg ms | $pg ms | $(ratio "$cg" "$pg") × | |
| peak RSS of the tool's own processes, cold build | $(mb "$crss") MB ($crss kB) | $(mb "$prss") MB ($prss kB) | | ≤ 8 MB |
| the same as PSS (shared libraries counted once) | $(mb "$cpss") MB ($cpss kB) | $(mb "$ppss") MB ($ppss kB) | | |

chuted's RUN steps are chutes (\`chuted run --rm --rootfs\` on an overlay of the stage's layers), its layers
uncompressed tars in the store, its cache keyed by the parent chain, the step and the digest of the files a COPY
reads: a cached rebuild runs no chute and writes one config and one manifest. The RSS rows sum every chuted
process alive at each 2 ms sample (chuted-image build, the chuted run client, its monitor and runtime).
<!-- build-bench:end -->
MD
)
echo "$section"
printf '%s\n' "$section" | /usr/bin/python3 "$TOP/tests/bench/put_section.py" build-bench
fi

# ---- The seed's deploy table with a build: `chuted deploy` of the SecCam
# dir (paper chute.yaml + `dockerfile: {local: Dockerfile}`) into a fresh
# root each round, its Dockerfile the seed's shape with the network replaced
# by loopback: FROM a base pulled from a docker-registry on 127.0.0.1
# (busybox + 64 MB, ubuntu:14.04's download), ADD + RUN for "update and
# install packages" (a 40 MB package tarball from an HTTP server on
# 127.0.0.1, unpacked), ADD of the server's files + RUN to set them up, ADD
# of cmd.sh, CMD. Split into the seed's five phases by the deploy's own
# events, timestamped as they come (each build step is one).
seccam_deploy() {
  local S=$W/seccam R=$W/sbase port i f
  echo "seccam deploy: making the base, packages and server files..." >&2
  mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,root,usr/share/base} "$S/www" "$S/chute" "$S/pkg/usr/lib/pkgs"
  cp /bin/busybox "$R/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
  printf 'root:x:0:\n' > "$R/etc/group"
  for i in $(seq 16); do head -c 4M /dev/urandom > "$R/usr/share/base/f$i"; done
  "$BIN/chuted-image" mkimage "$R" --tag seccam-base:14.04 -o "$S/base.tar" || return 1
  rm -rf "$R"
  for i in $(seq 10); do head -c 4M /dev/urandom > "$S/pkg/usr/lib/pkgs/p$i.so"; done
  tar -czf "$S/www/packages.tar.gz" -C "$S/pkg" usr && rm -rf "$S/pkg"
  mkdir -p "$S/srv"
  for i in $(seq 20); do head -c 5000 /dev/urandom | base64 > "$S/srv/img$i.txt"; done
  echo '<html>SecCam</html>' > "$S/srv/index.html"
  tar -czf "$S/www/srv.tar.gz" -C "$S/srv" . && rm -rf "$S/srv"
  printf '#!/bin/sh\ntrap "exit 0" TERM\nhttpd -f -p 8080 -h /var/www/html &\nwait\n' > "$S/www/cmd.sh"
  start_registry || return 1
  push_image "$S/base.tar" seccam-base:14.04 || return 1
  port=$(free_port)
  /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$S/www" "$port" >/dev/null 2>&1 &
  WEB=$!
  local n=50
  while [ $n -gt 0 ] && ! curl -sf -o /dev/null "http://127.0.0.1:$port/cmd.sh"; do sleep 0.1; n=$((n - 1)); done
  cat > "$S/chute/Dockerfile" <<EOF
FROM 127.0.0.1:$REG_PORT/seccam-base:14.04
ADD http://127.0.0.1:$port/packages.tar.gz /tmp/
RUN tar xzf /tmp/packages.tar.gz -C / && rm /tmp/packages.tar.gz
ADD http://127.0.0.1:$port/srv.tar.gz /var/www/
RUN mkdir -p /var/www/html && tar xzf /var/www/srv.tar.gz -C /var/www/html/
ADD http://127.0.0.1:$port/cmd.sh /usr/local/bin/
CMD ["/bin/sh", "/usr/local/bin/cmd.sh"]
EOF
  cat > "$S/chute/chute.yaml" <<EOF
name: chuted-test-seccam
owner: ParadropLabs
date: 2016-07-31
description: A chute that performs motion detection using a simple WiFi camera.
resource: {cpu: 1024, memory: 128M}
dockerfile:
  local: Dockerfile
EOF
  sync; sleep 1
  : > "$W/s.phases"; : > "$W/s.cached"
  for i in $(seq "$N"); do
    echo "seccam deploy round $i/$N..." >&2
    local C=("$BIN/chuted" --root "$W/sroot$i" --run-root "$W/run/sroot$i")
    # ms from the start to each event: step N of the build, starting, waiting for health, the end
    local a t line ev=() rc
    a=${EPOCHREALTIME/./}
    while IFS= read -r line; do
      t=${EPOCHREALTIME/./}
      case $line in
        *": building: "*": step "[0-9]*) ev+=("$(sed 's/.*: step \([0-9]*\)\/.*/s\1/' <<<"$line")=$(((t - a) / 1000))") ;;
        *": starting") ev+=("start=$(((t - a) / 1000))") ;;
        *": waiting for health") ev+=("health=$(((t - a) / 1000))") ;;
      esac
    done < <("${C[@]}" deploy "$S/chute" 2>"$W/err")
    t=${EPOCHREALTIME/./}
    ev+=("end=$(((t - a) / 1000))")
    if ! "${C[@]}" exec chuted-test-seccam sh -c 'test -s /var/www/html/index.html -a -s /usr/lib/pkgs/p10.so' 2>>"$W/err"; then
      echo "bench: seccam deploy failed: $(tail -3 "$W/err")" >&2
      continue
    fi
    echo "${ev[*]}" >> "$W/s.phases"
    # the same chute again as version 2: every filesystem step cached (the ADDs fetched to compare)
    a=${EPOCHREALTIME/./}
    sed 's/^name: .*/&\nversion: "2"/' "$S/chute/chute.yaml" > "$S/chute/v2.yaml"
    "${C[@]}" deploy "$S/chute/v2.yaml" > "$W/out2" 2>&1 && echo $(((${EPOCHREALTIME/./} - a) / 1000)) >> "$W/s.cached"
    rm -f "$S/chute/v2.yaml"
    "${C[@]}" chute rm chuted-test-seccam >/dev/null 2>&1
    rm -rf "$W/sroot$i"
  done
  # the seed's phases from the events: 1 = to the first ADD (the base pulled),
  # 2 = ADD + RUN of the packages, 3 = the server's files and their RUN, 4 =
  # ADD cmd.sh to CMD, 5 = CMD, the image committed, the chute made and started
  ph() { awk -v x="$1" -v y="$2" '{ delete v; for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v[x] - (y == "0" ? 0 : v[y]) }' "$W/s.phases" > "$W/col"; median "$W/col"; }
  local p1 p2 p3 p4 p5 hg tot cached
  p1=$(ph s2 0) p2=$(ph s4 s2) p3=$(ph s6 s4) p4=$(ph s7 s6) p5=$(ph health s7) hg=$(ph end health) tot=$(ph end 0)
  cached=$(median "$W/s.cached")
  secs() { awk -v m="$1" 'BEGIN{ if (m == "" || m == "n/a") print "n/a"; else printf "%.2f s", m / 1000 }'; }
  local rounds; rounds=$(wc -l < "$W/s.phases")
  local section
  section=$(cat <<MD
<!-- build-deploy-bench:start -->
## The seed's deploy table with a build: \`chuted deploy\` of the SecCam dir from scratch (tests/bench/build.sh, $(date -u +%Y-%m-%d), $(nproc) CPUs, median of $rounds rounds)

Load average when the bench started: $LOAD (the host is shared). The seed (ParaDrop on its 1 GHz APU gateway) built
SecCam "just in time" from the Internet: 527 s. Here the same chute directory shape (the paper's chute.yaml with
\`dockerfile: {local: Dockerfile}\`, no image) with the network replaced by loopback: the base (busybox + 64 MB, the
size of ubuntu:14.04's download) pulled from a docker-registry on 127.0.0.1, the "packages" a 40 MB tarball ADDed
from an HTTP server on 127.0.0.1 and unpacked by a RUN, the server's files (100 KB) ADDed and unpacked by a RUN,
cmd.sh ADDed, CMD. Each round deploys into a fresh, empty root (run state on a tmpfs, images on this host's disk).
The phases are cut at the deploy's own events (one per build step, then starting and waiting for health), stamped
as they arrive, so they add up to the deploy's wall time.

| phase (the seed's) | seed | chuted | what chuted does there |
|---|---|---|---|
| 1. download base image | 175 s | $(secs "$p1") | parse and check the chute file, journal the change; FROM: pull the base from the registry, unpack it |
| 2. update system and install packages | 321 s | $(secs "$p2") | ADD the packages' tarball from the URL; RUN (a chute) unpacks it; both layers written and unpacked in the store |
| 3. download file for the server and setup Apache | 3 s | $(secs "$p3") | ADD srv.tar.gz from the URL; RUN unpacks it into /var/www/html |
| 4. install the service | 9 s | $(secs "$p4") | ADD cmd.sh from the URL |
| 5. cleanup intermediate images and start the container | 19 s | $(secs "$p5") | CMD; commit the image (config, manifest, name: no intermediate image to clean up); start the chute |
| deploy total, to started | 527 s | $(secs "$(ph health 0)") | |
| health gate (alive 3 s, the default) | | $(secs "$hg") | |
| deploy total, wall | | $(secs "$tot") | |
| update to version 2 of the same directory (every layer cached; the ADD URLs fetched again to compare) | | $(secs "$cached") | wall, health gate included |

What the seed's phases 1 and 2 spent was the Internet and apt-get: here they are bound by this host's disk and
CPU (hashing, gzip, unpacking), so the table shows what chuted itself costs around a build, not a network.
<!-- build-deploy-bench:end -->
MD
)
  echo "$section"
  printf '%s\n' "$section" | /usr/bin/python3 "$TOP/tests/bench/put_section.py" build-deploy-bench
}
if [ "$MODE" != podman ]; then
  seccam_deploy
fi
