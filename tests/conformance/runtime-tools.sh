#!/bin/bash
# The opencontainers runtime-tools validation suite as a conformance harness:
# builds its 58 validation programs once (cached under build/conformance/),
# runs each against every runtime named on the command line and prints a TAP
# line per validation test plus the runtime's "points" (passed TAP assertions).
#
#   tests/conformance/runtime-tools.sh [-t TEST]... [RUNTIME...]
#   RUNTIME=build/chuted-runtime tests/conformance/runtime-tools.sh
#
# Debian 12 packages runtime-tools' library but not its validation/ tree, so
# the source comes from git at a pinned revision: RUNTIME_TOOLS_GIT (a URL or
# a local git directory, e.g. a mirror) and RUNTIME_TOOLS_REV, or an unpacked
# tree in RUNTIME_TOOLS_SRC. The pin is the last revision that builds with
# Debian 12's Go 1.19 (later ones need Go 1.21). It builds offline from the
# tree's vendor/ directory.
#
# The suite calls the runtime with runc's CLI and no --root; each runtime gets
# a wrapper adding a private --root (and for chuted a private --run-root and
# cgroup parent) so the run touches nothing else on the host. Every test runs
# in a private mount namespace without the hybrid layout's cgroup2 mount,
# which crun refuses (as in tests/bench/runtime.py), the same for every runtime.
#
# Results: build/conformance/results/<runtime>/ (or $CONFORMANCE_OUT/results/):
# summary.tsv (test, pass|fail|skip, passed assertions, planned, exit code),
# score.tsv, failures.txt (each failing test's failed assertions and stderr),
# <test>.tap and <test>.err as the test printed them.
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
C=${CONFORMANCE_DIR:-$here/build/conformance}
REV=${RUNTIME_TOOLS_REV:-260e151b8552afa2678ef6d41820ea0f31cd8be1}
GIT=${RUNTIME_TOOLS_GIT:-https://github.com/opencontainers/runtime-tools.git}
TIMEOUT=${CONFORMANCE_TIMEOUT:-120}
OUT=${CONFORMANCE_OUT:-$C} # run/ and results/ (the built programs stay in $C)
only=()

while getopts t:h opt; do
  case $opt in
    t) only+=("$OPTARG") ;;
    h) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) sed -n '7,8p' "$0" | sed 's/^# \{0,1\}/usage: /' >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=("${RUNTIME:-$here/build/chuted-runtime}")

die() { echo "runtime-tools.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "the validation suite creates containers: run as root"
command -v go >/dev/null || die "go not found (tools/install-deps.sh --conformance installs golang-go)"

# --- fetch and build, once per source -------------------------------------
fetch_src() {
  local dst=$1 tmp=$1.tmp
  rm -rf "$tmp" && mkdir -p "$tmp" || return 1
  if [ -n "${RUNTIME_TOOLS_SRC:-}" ]; then
    [ -d "$RUNTIME_TOOLS_SRC/validation" ] || die "$RUNTIME_TOOLS_SRC has no validation/"
    cp -a "$RUNTIME_TOOLS_SRC/." "$tmp/" || return 1
  else
    local gitdir=$GIT
    if [ ! -d "$GIT" ]; then
      gitdir=$C/runtime-tools.git
      [ -d "$gitdir" ] || git clone --quiet --bare "$GIT" "$gitdir" || die "cannot clone $GIT"
    fi
    git --git-dir="$gitdir" archive "$REV" | tar -x -C "$tmp" ||
      die "revision $REV not in $GIT (set RUNTIME_TOOLS_GIT to a clone that has it)"
  fi
  rm -rf "$dst" && mv "$tmp" "$dst"
}

tag=${RUNTIME_TOOLS_SRC:+local}
tag=${tag:-${REV:0:12}}
SRC=$C/src-$tag
BIN=$C/bin-$tag
if [ ! -e "$BIN/.built" ] || { [ -n "${RUNTIME_TOOLS_SRC:-}" ] && [ -n "$(find "$RUNTIME_TOOLS_SRC" -newer "$BIN/.built" -name '*.go' -print -quit)" ]; }; then
  echo "# building runtime-tools $tag validation programs into $BIN" >&2
  fetch_src "$SRC" || die "cannot unpack the runtime-tools source into $SRC"
  rm -rf "$BIN" && mkdir -p "$BIN" || exit 1
  # offline: modules from the tree's vendor/, no proxy, no toolchain download;
  # static runtimetest (it runs inside the test rootfs)
  export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=0 \
    GOCACHE=$C/gocache GOPATH=$C/gopath
  (cd "$SRC" && go build -p 2 -tags "netgo osusergo" -o "$BIN/runtimetest" ./cmd/runtimetest &&
    go build -p 2 -o "$BIN/" ./validation/...) || die "building the validation programs failed"
  cp "$SRC/rootfs-amd64.tar.gz" "$BIN/" && touch "$BIN/.built" || exit 1
fi

mapfile -t tests < <(cd "$BIN" && ls | grep -vx 'runtimetest\|rootfs-amd64.tar.gz')
[ ${#only[@]} -eq 0 ] || tests=("${only[@]}")

# --- run ------------------------------------------------------------------
yaml_field() { # the "error"/"stderr" lines of the YAML block after each not-ok
  awk '/^not ok/ { print "    " $0; on = 1; next }
       /^(ok|not ok) / { on = 0 }
       on && /"(error|stderr|actual|expected)":/ { sub(/^ +/, ""); print "      " substr($0, 1, 300) }' "$1"
}

run_runtime() {
  local rt=$1 name dir res t n=0 rc plan ok nok skip pts=0 total=0 tpass=0
  rt=$(command -v "$rt") || { echo "not ok - runtime $1 not found"; return 1; }
  rt=$(readlink -f "$rt")
  name=$(basename "$rt")
  dir=$OUT/run/$name
  res=$OUT/results/$name
  rm -rf "$dir" "$res" && mkdir -p "$dir/root" "$dir/tmp" "$res" || return 1
  cp "$BIN/runtimetest" "$dir/runtimetest" || return 1 # the suite copies it into each bundle: no symlink
  ln -s "$BIN/rootfs-amd64.tar.gz" "$dir/rootfs-amd64.tar.gz"
  case $name in
    chuted*) printf '#!/bin/sh\nexec %s --root %s/root --run-root %s/runroot --cgroup-parent chuted-test-conformance "$@"\n' \
      "$rt" "$dir" "$dir" ;;
    *) printf '#!/bin/sh\nexec %s --root %s/root "$@"\n' "$rt" "$dir" ;;
  esac >"$dir/rt"
  chmod +x "$dir/rt"

  echo "TAP version 13"
  echo "# runtime-tools $tag against $rt"
  echo "1..${#tests[@]}"
  : >"$res/failures.txt"
  for t in "${tests[@]}"; do
    n=$((n + 1))
    [ -x "$BIN/$t" ] || { echo "not ok $n - $t # no such validation test"; continue; }
    (cd "$dir" && RUNTIME=$dir/rt TMPDIR=$dir/tmp exec timeout -k 5 "$TIMEOUT" \
      unshare -m --propagation private sh -c \
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0"' "$BIN/$t") >"$res/$t.tap" 2>"$res/$t.err" </dev/null
    rc=$?
    # containers a failed test left behind
    for id in $(ls "$dir/root" "$dir/runroot/oci" 2>/dev/null | grep -v ':$'); do
      "$dir/rt" delete --force "$id" >/dev/null 2>&1
    done
    rm -rf "${dir:?}/tmp/"*
    plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$res/$t.tap" | head -1)
    ok=$(grep -c '^ok ' "$res/$t.tap")
    nok=$(grep -c '^not ok ' "$res/$t.tap")
    skip=$(grep -ci '^ok [0-9]* # skip' "$res/$t.tap")
    [ -n "$plan" ] || plan=$((ok + nok))
    [ "$plan" -ge $((ok + nok)) ] || plan=$((ok + nok))
    pts=$((pts + ok))
    total=$((total + plan))
    # a *_fail test passes silently (exit 0, no assertions) when the runtime
    # refused the config; a test that gives up prints an "error" diagnostic
    if [ $rc -eq 0 ] && [ "$nok" -eq 0 ] && [ "$ok" -eq "$plan" ] &&
      { [ "$plan" -gt 0 ] || ! grep -q '^ *"error":' "$res/$t.tap"; }; then
      tpass=$((tpass + 1))
      if [ "$plan" -gt 0 ] && [ "$skip" -eq "$plan" ]; then status=skip; else status=pass; fi
      echo "ok $n - $t ($ok/$plan)$([ $status = skip ] && echo ' # SKIP all assertions skipped')"
    else
      status=fail
      echo "not ok $n - $t ($ok/$plan, exit $rc)"
      {
        echo "== $t: $ok/$plan assertions, exit $rc"
        yaml_field "$res/$t.tap"
        [ "$nok" -gt 0 ] || grep -h '"error":' "$res/$t.tap" | sed 's/^ */    /' | head -4
        sort -u "$res/$t.err" | grep -v '^exit status\|^failed to create the container$' | sed 's/^/    stderr: /' | head -6
      } | tee -a "$res/failures.txt" | sed 's/^/  # /'
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$status" "$ok" "$plan" "$rc" >>"$res/summary.tsv"
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$pts" "$total" "$tpass" "${#tests[@]}" >"$res/score.tsv"
  echo "# $name: $pts points of $total; $tpass of ${#tests[@]} validation tests pass"
}

# the suite's containers use fixed cgroup paths (/cgrouptest...): one run at a time
exec 8>/run/lock/chuted-conformance.lock
flock 8
for r in "${runtimes[@]}"; do
  run_runtime "$r"
done
if [ ${#runtimes[@]} -gt 1 ]; then
  echo "# runtime | points | of | tests passed | of"
  for r in "${runtimes[@]}"; do
    name=$(basename "$(readlink -f "$(command -v "$r")")")
    [ -f "$OUT/results/$name/score.tsv" ] && sed 's/^/# /; s/\t/ | /g' "$OUT/results/$name/score.tsv"
  done
fi
exit 0
