#!/usr/bin/env bash
# Confinement of `chuted oci` containers: capabilities, seccomp (Docker's
# default profile), no_new_privs, and one test per CVE class:
# 2019-5736 (host binary overwrite), 2024-21626 (leaked fd / cwd escape),
# 2021-30465 (mount target symlink escape).
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
# the probe is built by `make unit` (so the VM, which has no compiler, has it too)
if [ -x "$BIN/chuted-sys-probe" ]; then
  cp "$BIN/chuted-sys-probe" "$B/rootfs/bin/sys_probe"
elif ! gcc -static -O2 -o "$B/rootfs/bin/sys_probe" "$(dirname "$0")/sys_probe.c" 2>"$T_DIR/gcc.err"; then
  fail "build sys_probe: $(head -3 "$T_DIR/gcc.err")"; finish
fi
# and `make vm-check` alone builds it first: the VM has no gcc to fall back on
if [ -f "$TOP/Makefile" ] && command -v make >/dev/null; then
  check "make vm-check builds chuted-sys-probe before the VM suite runs" sh -c \
    "make -s -n -W tests/integration/sys_probe.c -C '$TOP' vm-check 2>/dev/null | sed '/^tests\/vm\/run.sh/q' | grep -q 'chuted-sys-probe'"
else
  skip "make vm-check's prerequisites: no Makefile or make here (the VM)"
fi
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
cfg() { jq "$1" "$T_DIR/config.orig" > "$B/config.json"; }
N=0
run_c() { # ARGS_JSON [JQ]
  N=$((N + 1)); cfg ".process.args = $1 ${2:+| $2}"
  OUT=$(timeout 20 "$CHUTED" oci run --bundle "$B" "chuted-test-s$N" 2>&1); RC=$?
}
val() { echo "$OUT" | sed -n "s/^$1=//p"; }

# --- default profile: capabilities, no_new_privs, seccomp
run_c '["sh", "-c", "grep -E \"^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):\" /proc/self/status | tr -d \"\\t\" | tr \":\" \"=\""]'
eq "effective caps = Docker's 14" "$(val CapEff)" 00000000a80425fb
eq "bounding set = Docker's 14" "$(val CapBnd)" 00000000a80425fb
eq "no inheritable caps" "$(val CapInh)" 0000000000000000
eq "no_new_privs set" "$(val NoNewPrivs)" 1
eq "seccomp filter active" "$(val Seccomp)" 2

run_c '["sys_probe", "mount", "keyctl", "unshare", "clone_newns", "clone3", "reboot", "personality", "vsock", "fork", "inet", "chown"]'
eq "mount denied" "$(val mount)" EPERM
eq "keyctl denied" "$(val keyctl)" EPERM
eq "unshare denied" "$(val unshare)" EPERM
eq "clone with namespace flags denied" "$(val clone_newns)" EPERM
eq "clone3 answers ENOSYS (glibc falls back to clone)" "$(val clone3)" ENOSYS
eq "reboot denied" "$(val reboot)" EPERM
eq "personality outside the allowlist denied" "$(val personality)" EPERM
eq "AF_VSOCK sockets denied" "$(val vsock)" EPERM
eq "plain fork allowed" "$(val fork)" ok
eq "AF_INET sockets allowed" "$(val inet)" ok
eq "chown allowed (CAP_CHOWN)" "$(val chown)" ok
run_c '["reboot", "-f"]'
check_fails "busybox reboot -f fails" test "$RC" -eq 0

# seccomp and capabilities each hold on their own
run_c '["sys_probe", "keyctl", "mount", "chown"]' 'del(.linux.seccomp) | .process.capabilities = {}'
eq "without seccomp: keyctl reaches the kernel" "$(val keyctl)" ok
eq "without caps: mount still denied" "$(val mount)" EPERM
eq "without CAP_CHOWN: chown denied" "$(val chown)" EPERM
run_c '["sys_probe", "mount"]' '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
eq "CAP_SYS_ADMIN alone: seccomp still denies mount" "$(val mount)" EPERM
run_c '["sys_probe", "mount"]' 'del(.linux.seccomp) | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
eq "CAP_SYS_ADMIN and no seccomp: mount works (the probe is real)" "$(val mount)" ok
run_c '["sys_probe", "keyctl", "chown"]' '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["keyctl", "no_such_syscall_chuted"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}, {"names": ["chown", "fchownat"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]}]}'
eq "custom profile: errnoRet honoured, unknown names skipped" "$(val keyctl)" ENOSYS
eq "custom profile: argument filter" "$(val chown)" EPERM
# compiled programs are cached under a non-cryptographic hash of the profile:
# one whose stored profile is not this one is never used (here: an allow-all
# program next to another profile's text, as a hash collision would leave)
SC=$T_RUNROOT/oci/.seccomp
eq "the compiled filters are cached with their profiles" "$(ls "$SC"/*.bpf | wc -l)" "$(ls "$SC"/*.json | wc -l)"
for f in "$SC"/*.bpf; do printf '\x06\x00\x00\x00\x00\x00\xff\x7f' > "$f"; echo '{"other": "profile"}' > "${f%.bpf}.json"; done
run_c '["sys_probe", "keyctl"]' '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["keyctl", "no_such_syscall_chuted"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}, {"names": ["chown", "fchownat"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]}]}'
eq "a cached program made from another profile is not used" "$(val keyctl)" ENOSYS
run_c '["sh", "-c", "grep NoNewPrivs /proc/self/status | tr -d \"\\t\""]' '.process.noNewPrivileges = false'
eq "noNewPrivileges=false honoured (filter still loads)" "$OUT" "NoNewPrivs:0"

# --- CVE-2019-5736: nothing in the container may reach a writable host binary
SHA=$(sha256sum "$CHUTED" | cut -d' ' -f1)
cfg '.process.args = ["sh", "-c", "while :; do for e in /proc/[0-9]*/exe; do echo pwned 2>/dev/null >> $e && echo WROTE $e; done; done"]'
"$CHUTED" oci create --bundle "$B" --pid-file "$T_DIR/pid" chuted-test-x >/dev/null 2>&1
PID=$(cat "$T_DIR/pid")
# sealed: through a private read-only overlayfs where the kernel has one
# (runtime/selfexe.c), else a sealed memfd copy
sealed_how() { # PID: overlay, memfd or what its exe is
  case "$(readlink "/proc/$1/exe")" in
    /memfd:*) echo memfd ;;
    *) if [ "$(stat -L -f -c %T "/proc/$1/exe" 2>/dev/null)" = overlayfs ]; then echo overlay
       else readlink "/proc/$1/exe"; fi ;;
  esac
}
WANT=memfd; grep -qw overlay /proc/filesystems && WANT=overlay
eq "5736: the waiting init runs sealed ($WANT), not $CHUTED" "$(sealed_how "$PID")" "$WANT"
check_fails "5736: the init's exe cannot be opened for writing" sh -c "echo pwned >> /proc/$PID/exe"
if [ "$WANT" = overlay ]; then
  eq "5736: ...whose mount is attached nowhere" "$(grep -c "overlay.*$(basename "$BIN")" /proc/self/mountinfo)" 0
fi
chuted oci start chuted-test-x
for i in 1 2 3 4 5; do "$CHUTED" oci exec chuted-test-x -- /proc/self/exe >/dev/null 2>&1; done
OUT=$("$CHUTED" oci exec chuted-test-x -- sh -c 'readlink /proc/self/exe' 2>&1)
eq "5736: exec'd processes run their own binary" "$OUT" /bin/busybox
"$CHUTED" oci exec chuted-test-x -- sleep 3 & EXEC=$!
# it re-executes from the memfd first thing; slow machines (the VM under TCG)
# take a while to get there, a host binary would stay for the whole sleep
for i in $(seq 40); do
  [ "$(sealed_how "$EXEC")" = "$WANT" ] && break
  sleep 0.05
done
eq "5736: a running oci exec is sealed ($WANT)" "$(sealed_how "$EXEC")" "$WANT"
wait $EXEC
chuted oci delete --force chuted-test-x
# where the overlayfs cannot be made (here: the binary's directory inside the
# run root, layers that overlap), the sealed memfd copy
if [ "$WANT" = overlay ]; then
  mkdir -p "$T_RUNROOT/bin"
  cp -a "$BIN"/chuted "$BIN"/chuted-runtime "$BIN"/chuted-monitor "$BIN"/chuted-init "$T_RUNROOT/bin/" 2>/dev/null
  "$T_RUNROOT/bin/chuted" oci create --bundle "$B" --pid-file "$T_DIR/pid" chuted-test-x >/dev/null 2>&1
  eq "5736: no overlayfs to be had: a sealed memfd" "$(sealed_how "$(cat "$T_DIR/pid")")" memfd
  check_fails "5736: ...its exe cannot be opened for writing" sh -c "echo pwned >> /proc/$(cat "$T_DIR/pid")/exe"
  "$T_RUNROOT/bin/chuted" oci delete --force chuted-test-x
  rm -rf "$T_RUNROOT/bin"
  # a comma in a layer's path (older kernels join overlayfs' parameters
  # with commas): the copy too, not another option
  mkdir -p "$T_DIR/run,upperdir=x"
  CHUTED_RUN_ROOT="$T_DIR/run,upperdir=x" "$CHUTED" oci create --bundle "$B" --pid-file "$T_DIR/pid" chuted-test-x >/dev/null 2>&1
  eq "5736: a run root with a comma: a sealed memfd" "$(sealed_how "$(cat "$T_DIR/pid")")" memfd
  CHUTED_RUN_ROOT="$T_DIR/run,upperdir=x" "$CHUTED" oci delete --force chuted-test-x
  rm -rf "$T_DIR/run,upperdir=x"
fi
eq "5736: host binary unchanged" "$(sha256sum "$CHUTED" | cut -d' ' -f1)" "$SHA"

# --- CVE-2024-21626: no fd of the host reaches the container
# (ls without a pipe: the shell then holds no fd of its own while ls looks)
run_c '["sh", "-c", "ls /proc/$$/fd; true"]'
eq "21626: init holds only 0 1 2" "$(echo $OUT)" "0 1 2"
N=$((N + 1)); cfg '.process.args = ["sh", "-c", "ls /proc/$$/fd; true"]'
OUT=$("$CHUTED" oci run --bundle "$B" "chuted-test-s$N" 7</ 8>"$T_DIR/leak" 2>&1)
eq "21626: fds inherited by chuted do not reach the init" "$(echo $OUT)" "0 1 2"
for fd in 3 4 5 6 7 8 9; do
  N=$((N + 1)); cfg ".process.args = [\"sh\", \"-c\", \"pwd; ls\"] | .process.cwd = \"/proc/self/fd/$fd\""
  OUT=$("$CHUTED" oci run --bundle "$B" "chuted-test-s$N" 7</ 8<"$T_DIR" 2>&1); RC=$?
  if [ $RC -ne 0 ] || { ! echo "$OUT" | grep -q "$(basename "$T_DIR")" && ! echo "$OUT" | grep -qx "boot"; }; then
    pass "21626: cwd /proc/self/fd/$fd refused or inside ($(echo "$OUT" | head -1))"
  else
    fail "21626: cwd /proc/self/fd/$fd escaped: $OUT"
  fi
done
cfg '.process.args = ["sleep", "60"]'
"$CHUTED" oci create --bundle "$B" chuted-test-y >/dev/null 2>&1
chuted oci start chuted-test-y
OUT=$("$CHUTED" oci exec chuted-test-y -- sh -c 'ls /proc/$$/fd; true' 7</ 2>&1)
eq "21626: exec'd process holds only 0 1 2" "$(echo $OUT)" "0 1 2"
OUT=$("$CHUTED" oci exec --cwd /proc/self/fd/7 chuted-test-y -- pwd 7</ 2>&1); RC=$?
check_fails "21626: exec --cwd through a leaked fd refused ($OUT)" test $RC -eq 0
chuted oci delete --force chuted-test-y
no_leftovers "21626"

# --- CVE-2021-30465: mount targets are resolved inside the rootfs
ESC=$T_DIR/escape
mkdir -p "$T_DIR/src" && echo marker > "$T_DIR/src/marker"
mkdir -p "$B/rootfs/mnt"
ln -sfn "$ESC" "$B/rootfs/mnt/abs"
ln -sfn "../../../../../../../../..$ESC" "$B/rootfs/mnt/rel"
run_c '["sh", "-c", "cat /mnt/abs/marker /mnt/rel/marker '"$ESC"'/marker"]' \
  '.mounts += [{"destination": "/mnt/abs", "type": "bind", "source": "'"$T_DIR/src"'", "options": ["bind"]}, {"destination": "/mnt/rel/x", "type": "bind", "source": "'"$T_DIR/src"'", "options": ["bind"]}]'
check_fails "30465: absolute symlink target did not reach the host path" test -e "$ESC"
eq "30465: the bind landed inside the rootfs" "$(echo "$OUT" | head -1)" marker
check "30465: the symlinked path was created under the rootfs" test -d "$B/rootfs$ESC"
# a racing loop swaps the target between a directory and a symlink to the host
rm -rf "$B/rootfs$T_DIR" "$B/rootfs/mnt/abs" "$B/rootfs/mnt/rel"
( end=$((SECONDS + 6)); while [ $SECONDS -lt $end ]; do
    mkdir -p "$B/rootfs/mnt/race" 2>/dev/null; rm -rf "$B/rootfs/mnt/race" 2>/dev/null; ln -sfn "$ESC" "$B/rootfs/mnt/race" 2>/dev/null; rm -rf "$B/rootfs/mnt/race" 2>/dev/null
  done ) & RACER=$!
for i in $(seq 1 15); do
  N=$((N + 1)); cfg '.process.args = ["true"] | .mounts += [{"destination": "/mnt/race/m", "type": "bind", "source": "'"$T_DIR/src"'", "options": ["bind"]}]'
  "$CHUTED" oci run --bundle "$B" "chuted-test-s$N" >/dev/null 2>&1
done
kill $RACER 2>/dev/null; wait $RACER 2>/dev/null
check_fails "30465: racing symlink swap never reached the host path" test -e "$ESC"
no_leftovers "30465"
check_fails "no state dirs left" sh -c "ls '$T_RUNROOT/oci' | grep -q ."
# --- the setuid plant: a chute's root writes a setuid-root program into its
# --rootfs; if other host users can reach that directory, they run it as root.
# Such a writable rootfs is refused (unless --read-only), nothing made.
OPEN=$(mktemp -d "/tmp/$TEST_PREFIX-open.XXXXXX"); chmod 755 "$OPEN"
make_rootfs "$OPEN/rootfs" >/dev/null
out=$(chuted run --rm --net none --rootfs "$OPEN/rootfs" -- /bin/touch /planted 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q 'other host users can reach it' \
   && echo "$out" | grep -q 'chmod 0700' && echo "$out" | grep -q -- '--read-only'; then
  pass "setuid plant: a rootfs others can reach is refused, saying why and how"
else fail "setuid plant: rc=$rc out=$out"; fi
eq "setuid plant: no chute kept" "$(chuted ps -a -q)" ""
check_fails "setuid plant: no chute state" sh -c "ls -A '$T_ROOT/chutes' '$T_RUNROOT/chutes' 2>/dev/null | grep -v ':$' | grep -q ."
check_fails "setuid plant: nothing written in the rootfs" test -e "$OPEN/rootfs/planted"
check "setuid plant: --read-only is accepted" chuted run --rm --net none --read-only --rootfs "$OPEN/rootfs" -- true
check "setuid plant: a rootfs under a 0700 parent is accepted" chuted run --rm --net none --rootfs "$B/rootfs" -- true
chmod 700 "$OPEN"
check "setuid plant: closing the parent (chmod 0700) is the fix" chuted run -d --name plant --net none --rootfs "$OPEN/rootfs" -- sleep 1000
check "stop plant" chuted stop -t 0 plant
# opened again later: `start` checks again
chmod 755 "$OPEN"
out=$(chuted start plant 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'other host users can reach it'; then pass "setuid plant: start checks again"; else fail "setuid plant: start: rc=$rc out=$out"; fi
check "rm plant" chuted rm -f plant
no_leftovers "setuid plant"
rm -rf "$OPEN"
finish
