#!/usr/bin/env bash
# chuted run from images: oci-archive, a pulled registry image, the image's
# CMD/ENTRYPOINT/ENV/WORKDIR/USER honoured, and the CLI front (`chuted pull|
# load|images|rmi|image prune|login` exec chuted-image). Removing a chute never
# touches the shared layers.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/registry.sh"
MKIMAGE="$TOP/tools/mkimage"
export CHUTED_BIN=$BIN
trap 'stop_registry; t_cleanup' EXIT

if [ ! -x "$CHUTED" ] || ! "$CHUTED" --help 2>&1 | grep -q "run"; then
  skip "chuted (with run) not built yet"; finish
fi

make_rootfs "$T_DIR/rootfs" >/dev/null
mkdir -p "$T_DIR/rootfs/srv"
"$MKIMAGE" "$T_DIR/rootfs" --entrypoint '["/bin/sh","-c"]' --cmd '["echo $GREETING from $(pwd) as $(id -u)"]' \
  --env GREETING=hello --workdir /srv --user 65534 --tag cam:1.2 -o "$T_DIR/img.tar"

out=$(chuted run --rm --net none "oci-archive:$T_DIR/img.tar" 2>&1)
eq "run oci-archive: ENTRYPOINT+CMD+ENV+WORKDIR+USER" "$out" "hello from /srv as 65534"
eq "load via chuted" "$(chuted load "oci-archive:$T_DIR/img.tar")" "Loaded image: cam:1.2"
eq "images via chuted" "$(chuted images -q)" "cam:1.2"
# every program reads the global options with the one parser (common/globals.c)
eq "--root=DIR and --root DIR alike, in chuted and chuted-image" \
  "$(CHUTED_ROOT= chuted --root="$T_ROOT" images -q)|$(CHUTED_ROOT= "$BIN/chuted-image" --root "$T_ROOT" images -q)" \
  "cam:1.2|cam:1.2"
for p in chuted chuted-runtime chuted-image chuted-image-pull; do
  msg=$("$BIN/$p" --root=rel/dir list 2>&1); rc=$?
  check "$p: a relative --root is refused ($(head -1 <<<"$msg"))" \
    test $rc = 2 -a "$(grep -c "\-\-root \`rel/dir\`: not an absolute path" <<<"$msg")" = 1
done
out=$(chuted run --rm --net none cam:1.2 'echo overridden cmd' 2>&1)
eq "run args replace CMD, keep ENTRYPOINT" "$out" "overridden cmd"
out=$(chuted run --rm --net none -e GREETING=bye -w /tmp -u 0 cam:1.2 2>&1)
eq "run -e/-w/-u override the image" "$out" "bye from /tmp as 0"

# a present image is mounted by chuted itself: it runs with no chuted-image
# next to it; anything to import or pull still needs chuted-image
mkdir -p "$T_DIR/bin"
cp "$BIN/chuted" "$BIN/chuted-runtime" "$BIN/chuted-monitor" "$T_DIR/bin/"
eq "a present image runs without chuted-image" \
  "$(CHUTED_BIN=$T_DIR/bin "$T_DIR/bin/chuted" run --rm --net none cam:1.2 'echo in-process' 2>&1)" "in-process"
msg=$("$T_DIR/bin/chuted" run --rm --net none "oci-archive:$T_DIR/img.tar" 2>&1); rc=$?
check "an archive to import needs chuted-image, says so ($msg)" test $rc -ne 0 -a "$(grep -c chuted-image <<<"$msg")" = 1
# --rm: nothing of the upper dir survives, so no syncs for it (podman does the same)
root_line=$(chuted run --rm --net none cam:1.2 'grep " / / " /proc/self/mountinfo' 2>&1)
check "a --rm chute's root is an overlay ($root_line)" grep -q " - overlay " <<<"$root_line"
check "...mounted volatile" grep -q "volatile" <<<"$root_line"

layers=$(ls "$T_ROOT/images/layers")
check "run -d from an image" chuted run -d --name chuted-test-img --net none -u 0 cam:1.2 'echo started > /srv/mark; exec sleep 1000'
wait_for 50 test -f "$T_ROOT/chutes/chuted-test-img/overlay/upper/srv/mark"
check "the chute writes into its own upper dir" test -f "$T_ROOT/chutes/chuted-test-img/overlay/upper/srv/mark"
mnt=$(grep " $T_RUNROOT/chutes/chuted-test-img/rootfs " /proc/self/mountinfo)
check "a kept chute's rootfs is an overlay" grep -q " - overlay " <<<"$mnt"
check "...not volatile" test "$(grep -c volatile <<<"$mnt")" = 0
check "rm -f the chute" chuted rm -f chuted-test-img
eq "shared layers untouched by rm" "$(ls "$T_ROOT/images/layers")" "$layers"
check "chute overlay removed by rm" test ! -e "$T_ROOT/chutes/chuted-test-img/overlay"
check "rmi via chuted" chuted rmi cam:1.2
check "image prune via chuted" chuted image prune
eq "store empty" "$(ls "$T_ROOT/images/layers" | wc -l)" 0

if command -v docker-registry >/dev/null && start_registry; then
  R=127.0.0.1:$REG_PORT
  push_image "$T_DIR/img.tar" cam:1.2
  check "pull via chuted" chuted pull -q "$R/cam:1.2"
  eq "run a pulled image" "$(chuted run --rm --net none "$R/cam:1.2" 2>&1)" "hello from /srv as 65534"
  ci_rmi=$(chuted rmi "$R/cam:1.2")
  eq "run pulls a missing image itself" "$(chuted run --rm --net none "$R/cam:1.2" 2>&1)" "hello from /srv as 65534"
  # a failed implicit pull says why, in one line, as the pull found it
  msg=$(chuted run --rm --net none "$R/cam:9" 2>&1); rc=$?
  check "run of a tag the registry lacks: one line, the registry's cause ($msg)" \
    test $rc -ne 0 -a "$(wc -l <<<"$msg")" = 1 -a "$(grep -c "manifest unknown" <<<"$msg")" = 1
  chuted rmi "$R/cam:1.2" >/dev/null
  stop_registry
  msg=$(chuted run --rm --net none "$R/cam:1.2" 2>&1); rc=$?
  check "run from a registry that refuses the connection: one line, the cause ($msg)" \
    test $rc -ne 0 -a "$(wc -l <<<"$msg")" = 1 -a "$(grep -ci "connect" <<<"$msg")" = 1
  if command -v htpasswd >/dev/null && start_registry --htpasswd chuted:s3cret; then
    R=127.0.0.1:$REG_PORT
    push_image "$T_DIR/img.tar" cam:1.2 --dest-creds chuted:s3cret
    msg=$(chuted run --rm --net none "$R/cam:1.2" 2>&1); rc=$?
    check "run from a registry that wants a login: one line, the cause ($msg)" \
      test $rc -ne 0 -a "$(wc -l <<<"$msg")" = 1 -a "$(grep -c "authentication required" <<<"$msg")" = 1
    # the class travels with the message: pull tool -> chuted-image -> its caller
    rec=$("$BIN/chuted-image" mount --result-fd 3 "$R/cam:1.2" --chute chuted-test-rec 3>&1 >/dev/null 2>&1)
    eq "chuted-image mount's record names the class" "$(jq -r .status <<<"$rec")" "unauthorized"
    stop_registry
  else
    skip "htpasswd missing"
  fi
  no_leftovers "failed pulls"
else
  skip "docker-registry missing"
fi
msg=$(chuted run --rm --net none nope:1 2>&1); rc=$?
check "run of a missing image: fails with one line ($msg)" test $rc -ne 0 -a "$(echo "$msg" | wc -l)" = 1
no_leftovers "run from image"
finish
