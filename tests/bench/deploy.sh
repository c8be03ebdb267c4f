#!/usr/bin/env bash
# The seed's table (ParaDrop on a 1 GHz APU: deploy 527 s, start 5 s, stop
# 17 s, delete 7 s) on this host, through the deploy engine (`chuted deploy`,
# `chuted chute start|stop|rm`), median of BENCH_RUNS rounds (default 5):
#   deploy with the image pulled from a loopback docker-registry (~20 MB
#   gzipped: a busybox layer + /usr/lib/python3.11 + /usr/share/perl), into
#   a fresh root each round; deploy with the image present; start; stop (the
#   chute exits on SIGTERM); delete (of the running chute); an update's
#   outage (old stopped -> new started).
# Deploy and start end with the health gate (default: the process alive
# 3 s, by design), reported apart: "to started" is the time until the
# engine's "waiting for health" event, "total" the command's wall time.
# The outage is bounded from the update's own events: from "stopping old"
# (the old one still serves) to "waiting for health" (the new one started).
# Run state on a tmpfs, as on an AP. Writes its section of docs/BENCHMARKS.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CHUTED_BIN:-$TOP/build}
N=${BENCH_RUNS:-5}
TEST_PREFIX=chuted-test
W=$(mktemp -d /tmp/chuted-test-bench-deploy.XXXXXX)
export CHUTED_CGROUP_PARENT=chuted-test-bench-deploy CHUTED_NET_ROOT=$W/netroot
export CHUTED_BRIDGE=chuted-tbdep CHUTED_SUBNET=10.219.0.0/24
. "$TOP/tests/registry.sh"
NAME=chuted-test-bench-dep
cleanup() {
  stop_registry
  for r in "$W"/root*; do
    [ -d "$r" ] && "$BIN/chuted" --root "$r" --run-root "$W/run/$(basename "$r")" chute rm "$NAME" >/dev/null 2>&1
  done
  [ -d "$W/mem/root" ] && "$BIN/chuted" --root "$W/mem/root" --run-root "$W/run/mem" chute rm "$NAME" >/dev/null 2>&1
  # the bench's bridge and nft table: one root's prune removes them (any root of the bridge)
  for r in "$W"/root* "$W/mem/root"; do
    [ -d "$r" ] && "$BIN/chuted" --root "$r" --run-root "$W/run/x" network prune >/dev/null 2>&1 && break
  done
  grep " $W" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
  rmdir /sys/fs/cgroup/*/"$CHUTED_CGROUP_PARENT" 2>/dev/null
}
trap cleanup EXIT

median() { sort -n "$1" | awk '{a[NR]=$1} END{ if (NR) print a[int((NR+1)/2)]; else print "n/a" }'; }

# timed FILE CMD...: run CMD (a deploy-engine command printing its events),
# append "TOTAL STARTED STOP OUTAGE" in ms to FILE (- when an event did not
# come): total wall time, to "waiting for health", stopping old -> starting,
# stopping old -> waiting for health. Timestamps from bash's own clock.
timed() {
  local f=$1 a b t line so=0 st=0 wh=0
  shift
  a=${EPOCHREALTIME/./}
  while IFS= read -r line; do
    t=${EPOCHREALTIME/./}
    case $line in
      *": stopping old") so=$t ;;
      *": starting") st=$t ;;
      *": waiting for health") wh=$t ;;
    esac
  done < <("$@" 2>"$W/err")
  b=${EPOCHREALTIME/./}
  # a failed command has no figure
  if ! wait $! || [ -s "$W/err" ]; then
    echo "bench: $* failed: $(tail -2 "$W/err")" >&2
    echo "- - - -" >> "$f"
    return
  fi
  since() { if [ "$1" -gt 0 ] && [ "$2" -gt 0 ]; then echo $((($2 - $1) / 1000)); else echo -; fi; }
  echo "$(since "$a" "$b") $(since "$a" "$wh") $(since "$so" "$st") $(since "$so" "$wh")" >> "$f"
}
col() { awk -v c="$2" '$c != "-" {print $c}' "$1" > "$W/col"; median "$W/col"; }

echo "building the image..." >&2
R0=$W/rootfs
mkdir -p "$R0"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$R0/bin/"
for a in sh sleep cat echo; do ln -s busybox "$R0/bin/$a"; done
"$BIN/chuted-image" mkimage "$R0" /usr/lib/python3.11 /usr/share/perl \
  --cmd '["/bin/sh","-c","trap \"exit 0\" TERM; sleep 100000 & wait"]' --tag bench:1 -o "$W/img.tar" || exit 1
mkdir -p "$W/lay" && tar -xf "$W/img.tar" -C "$W/lay"
gz=$(du -cb $(jq -r '.manifests[0].digest' "$W/lay/index.json" | cut -c8- |
  xargs -I{} jq -r '.layers[].digest' "$W/lay/blobs/sha256/{}" | cut -c8- | sed "s|^|$W/lay/blobs/sha256/|") | tail -1 | cut -f1)
rm -rf "$W/lay"
start_registry || exit 1
REG=127.0.0.1:$REG_PORT
push_image "$W/img.tar" bench:1 || exit 1
mkdir -p "$W/v1" "$W/v2" "$W/run"
mount -t tmpfs -o size=64m,mode=0755 chuted-test-bench-deploy "$W/run"
for v in v1 v2; do
  printf 'name: %s\nversion: "%s"\nimage: %s/bench:1\nenvironment: {V: "%s"}\n' "$NAME" "$v" "$REG" "$v" > "$W/$v/chute.yaml"
done
sync; sleep 2

for f in pull present start stop rm update; do : > "$W/t.$f"; done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg) fsyncs="n/a (no strace)"
for i in $(seq "$N"); do
  C=("$BIN/chuted" --root "$W/root$i" --run-root "$W/run/root$i")
  timed "$W/t.pull" "${C[@]}" deploy "$W/v1"        # pulled: a fresh root
  timed "$W/t.stop" "${C[@]}" chute stop "$NAME"
  timed "$W/t.start" "${C[@]}" chute start "$NAME"
  timed "$W/t.rm" "${C[@]}" chute rm "$NAME"
  timed "$W/t.present" "${C[@]}" deploy "$W/v1"     # the image is in the store now
  timed "$W/t.update" "${C[@]}" deploy "$W/v2"
  "${C[@]}" chute rm "$NAME" >/dev/null 2>&1
  # where a present deploy's time goes: the engine's durable writes
  if [ "$i" = 1 ] && command -v strace >/dev/null; then
    strace -w -c -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$W/strace" "${C[@]}" deploy "$W/v1" >/dev/null 2>&1
    "${C[@]}" chute rm "$NAME" >/dev/null 2>&1
    fsyncs=$(awk '$NF ~ /sync/ {n += $4; t += $2} $NF ~ /^rename/ {m += $4; u += $2}
      END{printf "%d fsync calls in %.0f ms, %d renames in %.0f ms", n, t * 1000, m, u * 1000}' "$W/strace")
  fi
  [ "$i" -gt 1 ] && rm -rf "$W/root$((i - 1))"
done

# the same with the root on a tmpfs, where fsync costs nothing: the
# engine's work without its durable writes (the difference is the disk's)
mkdir -p "$W/mem"
mount -t tmpfs -o size=400m,mode=0700 chuted-test-bench-deploy-mem "$W/mem"
CM=("$BIN/chuted" --root "$W/mem/root" --run-root "$W/run/mem")
"${CM[@]}" pull -q "$REG/bench:1" >/dev/null || echo "bench: pull into the tmpfs root failed" >&2
for f in present start stop rm update; do : > "$W/m.$f"; done
for i in $(seq "$N"); do
  timed "$W/m.present" "${CM[@]}" deploy "$W/v1"
  timed "$W/m.stop" "${CM[@]}" chute stop "$NAME"
  timed "$W/m.start" "${CM[@]}" chute start "$NAME"
  timed "$W/m.update" "${CM[@]}" deploy "$W/v2"
  timed "$W/m.rm" "${CM[@]}" chute rm "$NAME"
done
mes=$(col "$W/m.present" 2) mss=$(col "$W/m.start" 2) mso=$(col "$W/m.stop" 1) mrm=$(col "$W/m.rm" 1)
muo=$(col "$W/m.update" 4)

pt=$(col "$W/t.pull" 1) ps=$(col "$W/t.pull" 2)
et=$(col "$W/t.present" 1) es=$(col "$W/t.present" 2)
st=$(col "$W/t.start" 1) ss=$(col "$W/t.start" 2)
so=$(col "$W/t.stop" 1) rm_=$(col "$W/t.rm" 1)
ut=$(col "$W/t.update" 1) us=$(col "$W/t.update" 3) uo=$(col "$W/t.update" 4)
ok() { awk -v v="$1" -v g="$2" 'BEGIN{ if (v == "n/a") print "n/a"; else if (v + 0 <= g) print "met"; else print "**missed**" }'; }
out=$(mktemp)
{
  echo "<!-- deploy-bench:start -->"
  echo "## Deploy engine: the seed's table (tests/bench/deploy.sh, $(date -u +%F), $(nproc) CPUs, median of $N)"
  echo
  echo "Command: \`make bench\` (or \`tests/bench/deploy.sh\`). Image: busybox + /usr/lib/python3.11 + /usr/share/perl,"
  echo "$(awk -v b="$gz" 'BEGIN{printf "%.1f", b/1e6}') MB gzipped in 3 layers; registry: Debian's docker-registry on 127.0.0.1; run state on a tmpfs."
  echo "\"to started\": until the engine's \`waiting for health\` event (the chute runs); \"total\": the command,"
  echo "including the default health gate (process alive 3 s, by design). The seed: ParaDrop on a 1 GHz APU."
  echo "\"root on tmpfs\": the same with \`--root\` on a tmpfs (fsync free), to started (stop, delete: the command): the engine's work without its durable writes."
  echo "Load average before: $LOAD. A present deploy's durable writes (chuted itself, strace -w -c): $fsyncs."
  echo
  echo "| operation | seed | chuted: to started | chuted: total | goal | | root on tmpfs |"
  echo "|---|---|---|---|---|---|---|"
  echo "| deploy, image pulled from the registry | 527 s | $ps ms | $pt ms | <= 2 s | $(ok "$ps" 2000) | |"
  echo "| deploy, image present | (527 s) | $es ms | $et ms | <= 100 ms | $(ok "$es" 100) | $mes ms |"
  echo "| start (\`chute start\`) | 5 s | $ss ms | $st ms | <= 50 ms | $(ok "$ss" 50) | $mss ms |"
  echo "| stop (\`chute stop\`, exits on SIGTERM) | 17 s | | $so ms | <= 50 ms | $(ok "$so" 50) | $mso ms |"
  echo "| delete (\`chute rm\` of the running chute) | 7 s | | $rm_ ms | <= 50 ms | $(ok "$rm_" 50) | $mrm ms |"
  echo "| update's outage (stopping old -> new started) | | $uo ms (stop $us ms) | $ut ms | <= 100 ms | $(ok "$uo" 100) | $muo ms |"
  echo
  echo "Where the time goes: \"total\" minus \"to started\" is the health gate (the process alive 3 s by default,"
  echo "issue 10's design; \`health: {grace: 1s}\` is the shortest a chute file takes, in whole seconds). A registry"
  echo "deploy is mostly the pull and the unpack of ~75 MB in ~5000 files (the image bench above has them alone)."
  echo "The disk and tmpfs columns differ by the engine's durable writes and the chute's state on disk: each progress"
  echo "event rewrites the change's journal record (write, fsync, rename, directory fsync), besides the id counter, the"
  echo "desired state, chute.json and the kept version; on this host's virtio disk a rename or an unlink costs ~1.5 ms"
  echo "(up to 20 ms behind another writer's journal commit), an fsync less. A stop (strace) does 8 renames and ~16"
  echo "unlinks (its writable layer and bundle go), woken by the monitor's pidfd when it exits: 50-150 ms with other"
  echo "helpers' tests on the disk, ~13 ms on the tmpfs. An update's stop renames the old version's directories aside"
  echo "instead and removes them after the new one's health gate. With other work on the disk these set the figures."
  echo
  echo "<!-- deploy-bench:end -->"
} > "$out"
cat "$out"
python3 "$TOP/tests/bench/put_section.py" deploy-bench < "$out"
rm -f "$out"
