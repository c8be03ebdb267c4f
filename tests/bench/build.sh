#!/usr/bin/env bash
# chuted build vs podman build (buildah), the same Dockerfile on the same
# busybox base, median of BENCH_RUNS interleaved rounds (default 3); each
# round: a cold build (empty store and cache, base loaded), a fully cached
# rebuild, a rebuild after one COPY input changed. Plus the peak RSS summed
# over each tool's own processes during a cold build (chuted, chuted-image,
# chuted-monitor, chuted-runtime vs podman, conmon, runc, netavark...; the
# RUN steps' own processes apart). Writes its section of docs/BENCHMARKS.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
N=${BENCH_RUNS:-3}
W=$(mktemp -d /tmp/chuted-test-bench-build.XXXXXX)
export CHUTED_CGROUP_PARENT=chuted-test-bench-build CHUTED_NET_ROOT=$W/netroot
export CHUTED_BRIDGE=chuted-tbuild CHUTED_SUBNET=10.218.8.0/24
cleanup() {
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

mkdir -p "$W/run" && mount -t tmpfs -o size=128m,mode=0755 chuted-test-bench "$W/run"
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
umount -l "$W/run"

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
