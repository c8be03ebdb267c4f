#!/usr/bin/env bash
# Image benchmarks, side by side, interleaved (each round runs every contender
# once, in turn), median of BENCH_RUNS rounds (default 5):
#   1. unpack of a two-layer image (/usr/lib/python3.11 + /usr/share/perl:
#      ~19 MB gzipped, ~75 MB and ~5000 files unpacked): chuted vs tar -xzf of
#      the same blobs vs umoci unpack
#   2. pull + unpack from a loopback docker-registry: chuted pull vs
#      skopeo copy + umoci unpack
#   3. run from a present image: chuted run --rm IMG /bin/true vs podman run --rm
#   + peak RSS of `chuted pull` for that image and for a 160 MB layer.
# Writes a markdown section between markers into docs/BENCHMARKS.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
N=${BENCH_RUNS:-5}
TEST_PREFIX=chuted-test
W=$(mktemp -d /tmp/chuted-test-bench-image.XXXXXX)
# chutes the bench runs go under a cgroup parent of its own, removed at the end
export CHUTED_CGROUP_PARENT=chuted-test-bench-image
. "$TOP/tests/registry.sh"
cleanup() {
  stop_registry
  grep " $W" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
  rmdir /sys/fs/cgroup/*/"$CHUTED_CGROUP_PARENT" 2>/dev/null
}
trap cleanup EXIT
IMG=$BIN/chuted-image

ms() { local a b; a=$(date +%s%N); "$@" >/dev/null 2>"$W/err" || { echo "bench: $* failed: $(tail -2 "$W/err")" >&2; }; b=$(date +%s%N); echo $(((b - a) / 1000000)); }
median() { sort -n "$1" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
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
rss=$( { /usr/bin/time -f %M "$IMG" --root "$W/root" pull -q "$R/bench:1" >/dev/null; } 2>&1 | tail -1)
rm -rf "$W/root"
rss_big=$( { /usr/bin/time -f %M "$IMG" --root "$W/root" pull -q "$R/big:1" >/dev/null; } 2>&1 | tail -1)
rm -rf "$W/root" "$W/oci" "$W/bundle"
stop_registry

# ---- 3. run from a present image
rc="n/a" rp="n/a" rm_="n/a"
if [ -x "$BIN/chuted" ] && "$BIN/chuted" --root "$W/croot" --run-root "$W/crun" load "oci-archive:$W/small.tar" >/dev/null 2>&1; then
  : > "$W/r.chuted"; : > "$W/r.podman"
  havepod=0
  if command -v podman >/dev/null && podman --root "$W/proot" --runroot "$W/prun" load -q -i "$W/small.tar" >/dev/null 2>&1; then
    havepod=1
  fi
  for i in $(seq "$N"); do
    ms "$BIN/chuted" --root "$W/croot" --run-root "$W/crun" run --rm --net none small /bin/true >> "$W/r.chuted"
    # crun refuses this host's hybrid cgroup layout; podman's runc works
    [ $havepod = 1 ] && ms podman --root "$W/proot" --runroot "$W/prun" --runtime runc run --rm --network none \
      --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 localhost/small /bin/true >> "$W/r.podman"
  done
  : > "$W/m.chuted"
  for i in $(seq "$N"); do
    ms sh -c "'$IMG' --root '$W/croot' --run-root '$W/crun' mount small --chute chuted-test-bench && '$IMG' --root '$W/croot' --run-root '$W/crun' unmount --chute chuted-test-bench" >> "$W/m.chuted"
  done
  rm_=$(median "$W/m.chuted")
  rc=$(median "$W/r.chuted")
  [ $havepod = 1 ] && rp=$(median "$W/r.podman")
  podman --root "$W/proot" --runroot "$W/prun" rmi -a -f >/dev/null 2>&1
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
| run --rm IMG /bin/true, image present | $rc ms | podman --runtime runc run --rm: $rp ms | $(ratio "$rc" "$rp") × | ≤ 0.1 × |
| of which chuted-image mount + unmount (overlay) | $rm_ ms | | | |
| peak RSS of chuted pull (this image) | $((rss / 1024)) MB (${rss} kB) | | | ≤ 8 MB |
| peak RSS of chuted pull (one 160 MB layer) | $((rss_big / 1024)) MB (${rss_big} kB) | | | ≤ 8 MB |

chuted's unpack verifies nothing it does not have to (blobs were verified when
stored) and resolves every entry inside the root with openat2; chuted pull
streams blobs into the store while hashing, then unpacks, as one program.
<!-- image-bench:end -->
MD
)
echo "$section"
printf '%s\n' "$section" | /usr/bin/python3 "$TOP/tests/bench/put_section.py" image-bench
