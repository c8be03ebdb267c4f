#!/usr/bin/env bash
# Image benchmarks, side by side, interleaved (each round runs every contender
# once, in turn), median of BENCH_RUNS rounds (default 5):
#   1. unpack of a two-layer image (/usr/lib/python3.11 + /usr/share/perl:
#      ~19 MB gzipped, ~75 MB and ~5000 files unpacked): chuted vs tar -xzf of
#      the same blobs vs umoci unpack
#   2. pull + unpack from a loopback docker-registry: chuted pull vs
#      skopeo copy + umoci unpack
#   3. run from a present image (run first, on a quiet disk): chuted run --rm
#      IMG /bin/true vs podman run --rm,
#      with no network and with each one's default bridge network; run state
#      (--run-root / --runroot) of both on a tmpfs, where it lives on an AP
#   + peak RSS of `chuted pull` for that image and for a 160 MB layer.
# Writes a markdown section between markers into docs/BENCHMARKS.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
N=${BENCH_RUNS:-5}
TEST_PREFIX=chuted-test
W=$(mktemp -d /tmp/chuted-test-bench-image.XXXXXX)
# chutes the bench runs go under a cgroup parent of its own, removed at the end
export CHUTED_CGROUP_PARENT=chuted-test-bench-image CHUTED_NET_ROOT=$W/netroot
. "$TOP/tests/registry.sh"
cleanup() {
  stop_registry
  [ -x "$BIN/chuted" ] && CHUTED_BRIDGE=$BR "$BIN/chuted" --root "$W/croot" --run-root "$W/run/crun" network prune >/dev/null 2>&1
  grep " $W" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
  rmdir /sys/fs/cgroup/*/"$CHUTED_CGROUP_PARENT" 2>/dev/null
}
trap cleanup EXIT
IMG=$BIN/chuted-image
BR=chuted-tbench

# wall time of a command in ms, from bash's own clock (no `date` processes in the interval)
ms() {
  local a b
  a=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>"$W/err" || echo "bench: $* failed: $(tail -2 "$W/err")" >&2
  b=${EPOCHREALTIME/./}
  echo $(((b - a) / 1000))
}
median() { sort -n "$1" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mb() { awk -v k="$1" 'BEGIN{ if (k + 0 > 0) printf "%.1f", k / 1024; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "building the images..." >&2
"$BIN/chuted-image" mkimage /usr/lib/python3.11 /usr/share/perl --cmd /bin/true --tag bench -o "$W/two.tar"
mkdir -p "$W/lay" && tar -xf "$W/two.tar" -C "$W/lay"
mapfile -t LAYERS < <(jq -r '.manifests[0].digest' "$W/lay/index.json" | cut -c8- |
  xargs -I{} jq -r '.layers[].digest' "$W/lay/blobs/sha256/{}" | cut -c8- | sed "s|^|$W/lay/blobs/sha256/|")
gz=$(du -cb "${LAYERS[@]}" | tail -1 | cut -f1)
mkdir -p "$W/rootfs/bin" "$W/rootfs/tmp"; cp /bin/busybox "$W/rootfs/bin/"; ln -s busybox "$W/rootfs/bin/true"
"$BIN/chuted-image" mkimage "$W/rootfs" --tag small -o "$W/small.tar"
mkdir -p "$W/big"; head -c 160M /dev/urandom > "$W/big/blob"
"$BIN/chuted-image" mkimage "$W/big" -o "$W/big.tar"

# ---- 3. run from a present image
rc="n/a" rp="n/a" rcb="n/a" rpb="n/a"
mkdir -p "$W/run" && mount -t tmpfs -o size=64m,mode=0755 chuted-test-bench "$W/run"
# building the images above leaves ~350 MB of writeback in flight, which
# would slow whichever tool writes to the disk next: let them finish
sync; sleep 3
C=("$BIN/chuted" --root "$W/croot" --run-root "$W/run/crun")
P=(podman --root "$W/proot" --runroot "$W/run/prun" --runtime runc)
PFLAGS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
if [ -x "$BIN/chuted" ] && "${C[@]}" load "oci-archive:$W/small.tar" >/dev/null 2>&1; then
  : > "$W/r.chuted"; : > "$W/r.podman"; : > "$W/rb.chuted"; : > "$W/rb.podman"
  havepod=0
  if command -v podman >/dev/null && "${P[@]}" load -q -i "$W/small.tar" >/dev/null 2>&1; then
    havepod=1
  fi
  # chuted's default network on a bridge of the bench's own
  export CHUTED_BRIDGE=$BR CHUTED_SUBNET=10.218.0.0/24
  for i in $(seq "$((N * 8))"); do
    ms "${C[@]}" run --rm --net none small /bin/true >> "$W/r.chuted"
    ms "${C[@]}" run --rm small /bin/true >> "$W/rb.chuted"
    # crun refuses this host's hybrid cgroup layout; podman's runc works
    if [ $havepod = 1 ]; then
      ms "${P[@]}" run --rm --network none "${PFLAGS[@]}" localhost/small /bin/true >> "$W/r.podman"
      ms "${P[@]}" run --rm "${PFLAGS[@]}" localhost/small /bin/true >> "$W/rb.podman"
    fi
  done
  "${C[@]}" network prune >/dev/null
  unset CHUTED_BRIDGE CHUTED_SUBNET
  rc=$(median "$W/r.chuted") rcb=$(median "$W/rb.chuted")
  [ $havepod = 1 ] && rp=$(median "$W/r.podman") rpb=$(median "$W/rb.podman")
  "${P[@]}" rmi -a -f >/dev/null 2>&1
fi
umount "$W/run"

# ---- 1. unpack
: > "$W/u.chuted"; : > "$W/u.tar"; : > "$W/u.umoci"
for i in $(seq "$N"); do
  rm -rf "$W/x"; mkdir "$W/x"; sync
  ms sh -c "i=0; for l in ${LAYERS[*]}; do i=\$((i+1)); '$IMG' unpack -q \$l '$W/x/'\$i || exit 1; done" >> "$W/u.chuted"
  rm -rf "$W/x"; mkdir "$W/x"; sync
  ms sh -c "i=0; for l in ${LAYERS[*]}; do i=\$((i+1)); mkdir '$W/x/'\$i && tar -xzf \$l -C '$W/x/'\$i || exit 1; done" >> "$W/u.tar"
  rm -rf "$W/x"; sync
  ms umoci unpack --image "$W/lay:bench" "$W/x" >> "$W/u.umoci"
done
files=$(find "$W/x/rootfs" | wc -l); size=$(du -sb "$W/x/rootfs" | cut -f1)
rm -rf "$W/x"
uc=$(median "$W/u.chuted") ut=$(median "$W/u.tar") uu=$(median "$W/u.umoci")

# ---- 2. pull + unpack from a loopback registry
start_registry || exit 1
R=127.0.0.1:$REG_PORT
push_image "$W/two.tar" bench:1; push_image "$W/big.tar" big:1
: > "$W/p.chuted"; : > "$W/p.skopeo"
for i in $(seq "$N"); do
  rm -rf "$W/root"; sync
  ms "$IMG" --root "$W/root" pull -q "$R/bench:1" >> "$W/p.chuted"
  rm -rf "$W/oci" "$W/bundle"; sync
  ms sh -c "skopeo copy --quiet --src-tls-verify=false docker://$R/bench:1 oci:$W/oci:bench && umoci unpack --image $W/oci:bench $W/bundle" >> "$W/p.skopeo"
done
pc=$(median "$W/p.chuted") ps=$(median "$W/p.skopeo")
rm -rf "$W/root"
# tree_rss CMD...: peak over CMD's whole process tree (the parallel unpack
# forks) of the summed VmRSS and of the summed PSS (shared pages counted
# once), sampled every 2 ms: "RSS_KB PSS_KB"
tree_rss() {
  /usr/bin/python3 - "$@" <<'PY'
import os, subprocess, sys, time
def val(pid, f, key):
    try:
        with open(f"/proc/{pid}/{f}") as fh:
            for l in fh:
                if l.startswith(key):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
rss = pss = 0
while p.poll() is None:
    kids = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
            kids.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
        except (OSError, ValueError):
            pass
    tree, todo = [], [p.pid]
    while todo:
        x = todo.pop()
        tree.append(x)
        todo += kids.get(x, [])
    rss = max(rss, sum(val(x, "status", "VmRSS:") for x in tree))
    pss = max(pss, sum(val(x, "smaps_rollup", "Pss:") for x in tree))
    time.sleep(0.002)
print(rss, pss)
PY
}
rss=$( { /usr/bin/time -f %M "$IMG" --root "$W/root" pull -q "$R/bench:1" >/dev/null; } 2>&1 | tail -1)
rm -rf "$W/root"
read -r trss tpss < <(tree_rss "$IMG" --root "$W/root" pull -q "$R/bench:1")
rm -rf "$W/root"
rss_big=$( { /usr/bin/time -f %M "$IMG" --root "$W/root" pull -q "$R/big:1" >/dev/null; } 2>&1 | tail -1)
rm -rf "$W/root"
read -r trss_big tpss_big < <(tree_rss "$IMG" --root "$W/root" pull -q "$R/big:1")
rm -rf "$W/root" "$W/oci" "$W/bundle"
stop_registry
# the same image over TLS (self-signed registry, its CA given)
rss_tls="n/a"
if start_registry --tls; then
  R=127.0.0.1:$REG_PORT
  push_image "$W/two.tar" bench:1
  rss_tls=$( { /usr/bin/time -f %M "$IMG" --root "$W/root" pull -q --ca-file "$REG_CA" "$R/bench:1" >/dev/null; } 2>&1 | tail -1)
  rm -rf "$W/root"
  stop_registry
fi

section=$(cat <<MD
<!-- image-bench:start -->
## Images (tests/bench/image.sh, $(date -u +%Y-%m-%d), $(nproc) CPUs, median of $N interleaved rounds)

Load average when the bench started: $LOAD (the host is shared: medians move by ±30 % between runs).

Image: two layers (/usr/lib/python3.11, /usr/share/perl), $((gz / 1000000)) MB gzipped, $((size / 1000000)) MB / $files files unpacked.

| what | chuted | other | ratio | target |
|---|---|---|---|---|
| unpack both layers | $uc ms | tar -xzf: $ut ms | $(ratio "$uc" "$ut") × tar | ≤ 1.1 × tar |
| unpack both layers | $uc ms | umoci unpack: $uu ms | umoci = $(ratio "$uu" "$ut") × tar | (umoci 2.65 × tar in the issue) |
| pull + unpack (loopback registry) | $pc ms | skopeo copy + umoci unpack: $ps ms | $(ratio "$pc" "$ps") × | ≤ 0.4 × |
| run --rm IMG /bin/true, image present, no network | $rc ms | podman --runtime runc run --rm --network none: $rp ms | $(ratio "$rc" "$rp") × | ≤ 0.1 × |
| run --rm IMG /bin/true, image present, default network | $rcb ms | podman --runtime runc run --rm: $rpb ms | $(ratio "$rcb" "$rpb") × | ≤ 0.1 × |
| peak RSS of chuted pull (this image, http) | $(mb "$rss") MB (${rss} kB) | | | ≤ 8 MB |
| the same, summed over its process tree (parallel unpack) | RSS ${trss} kB, PSS ${tpss} kB | | | |
| peak RSS of chuted pull (this image, https) | $(mb "$rss_tls") MB (${rss_tls} kB) | | | ≤ 8 MB |
| peak RSS of chuted pull (one 160 MB layer, http) | $(mb "$rss_big") MB (${rss_big} kB) | | | ≤ 8 MB |
| the same, summed over its process tree | RSS ${trss_big} kB, PSS ${tpss_big} kB | | | |

chuted's unpack verifies nothing it does not have to (blobs were verified when
stored) and resolves every entry inside the root with openat2; chuted pull
streams blobs into the store while hashing, then unpacks, as one program,
linked statically with a libcurl built from Debian's curl source for HTTP(S)
over OpenSSL only (tools/libcurl-min.sh; Debian's libcurl4 loads ~40 shared
libraries: 15.6 MB peak).
The run rows are medians of $((N * 8)) interleaved runs each; both tools keep
their run state on a tmpfs (as /run is on an AP) and their images on the
host's disk. A present image is mounted by chuted itself (no libarchive,
libcrypto or libcurl loaded); a --rm chute's overlay is "volatile" (no
syncfs of the host disk when it goes), as podman does for --rm.
<!-- image-bench:end -->
MD
)
echo "$section"
printf '%s\n' "$section" | /usr/bin/python3 "$TOP/tests/bench/put_section.py" image-bench
