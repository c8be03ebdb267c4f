#!/usr/bin/env bash
# config.json features beyond the basics: the init's order under a seccomp
# profile, hooks and their failure rules, rootfs propagation, inherited and
# joined namespaces, namespaced settings refused in the host's namespaces,
# tmpcopyup, supplementary groups, fields this host cannot apply.
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
if [ -x "$BIN/chuted-sys-probe" ]; then
  cp "$BIN/chuted-sys-probe" "$B/rootfs/bin/sys_probe"
else
  fail "chuted-sys-probe is not built (make unit)"; fi
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
cfg() { jq "$1" "$T_DIR/config.orig" > "$B/config.json"; }
N=0
# run_c ARGS_JSON [JQ]: `oci run` in the foreground, output in $OUT, exit code in $RC
run_c() {
  N=$((N + 1)); cfg ".process.args = $1 ${2:+| $2}"
  OUT=$(timeout 20 "$CHUTED" oci run --bundle "$B" "chuted-test-p$N" 2>&1); RC=$?
}
val() { echo "$OUT" | sed -n "s/^$1=//p"; }
state_of() { "$CHUTED" oci state "$1" 2>/dev/null | jq -r .status; }

# --- seccomp: the profile governs the container's process, not the init's setup
ALLOW_BUT() { # SYSCALL...: allow everything except these (EPERM)
  local names; names=$(printf '"%s",' "$@"); names=${names%,}
  echo ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [$names], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}"
}
for nnp in false true; do
  run_c '["sys_probe", "close_range", "inet"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = $nnp"
  eq "no close_range in the profile, noNewPrivileges $nnp: starts" "$RC" 0
  eq "and the profile applies to the process (nnp $nnp)" "$(val close_range)" EPERM
  run_c '["sh", "-c", "cd /tmp && pwd"]' "$(ALLOW_BUT getcwd) | .process.noNewPrivileges = $nnp"
  eq "getcwd blocked, noNewPrivileges $nnp: starts" "$RC:$OUT" "0:/tmp"
done
run_c '["sys_probe", "close_range"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = false | .process.user = {uid: 65534, gid: 65534}"
eq "noNewPrivileges false, non-root user: the filter loads while still privileged" "$RC:$(val close_range)" 0:EPERM
run_c '["sh", "-c", "ls /proc/self/fd | wc -l"]' "$(ALLOW_BUT close_range) | .process.noNewPrivileges = false"
eq "fds still closed on exec without close_range (0-2 and ls's own)" "$OUT" 4
# crun agrees (the same bundle, its own state root)
if command -v crun >/dev/null; then
  cfg ".process.args = [\"sys_probe\", \"close_range\"] | $(ALLOW_BUT close_range getcwd) | .process.noNewPrivileges = false | .linux.cgroupsPath = \"/$T_CGPARENT/crun\""
  # crun refuses the hybrid layout's cgroup2 mount: hide it in a mount namespace of its own
  OUT=$(timeout 20 unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
    crun --root "$T_DIR/crun" run --bundle "$B" chuted-test-crun 2>&1); RC=$?
  eq "crun runs the same profile the same way" "$RC:$(val close_range)" 0:EPERM
  crun --root "$T_DIR/crun" delete --force chuted-test-crun >/dev/null 2>&1
fi

# --- default profile: io_uring is refused (Docker's profile dropped it)
run_c '["sys_probe", "io_uring"]'
case "$(val io_uring)" in EPERM|ENOSYS) pass "io_uring_setup refused in a default chute ($(val io_uring))" ;; *) fail "io_uring_setup: $(val io_uring) $OUT" ;; esac
no_leftovers "seccomp order"

# --- hooks: order, state on stdin, env/args, namespaces, failure rules
HL=$T_DIR/hooks.log
HOSTMNT=$(readlink /proc/self/ns/mnt)
# hook KIND SHELL_CMD [EXTRA_JQ_FIELDS]: a hook entry running sh -c
hook() { echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", $(jq -Rn --arg c "$2" '$c')] ${3:+, $3}}"; }
LOGST='read -r s; echo "$K $(echo "$s" | jq -r .status) $(echo "$s" | jq -r .pid) $(echo "$s" | jq -r .id)" >> '$HL
HOOKS=$(cat <<EOT
.hooks = {
  "prestart": [$(hook x "K=prestart; $LOGST")],
  "createRuntime": [$(hook x "K=createRuntime; $LOGST; echo env=\$FOO arg0=\$0 >> $HL" '"env": ["FOO=bar", "PATH=/usr/bin:/bin"]')],
  "createContainer": [$(hook x "K=createContainer; $LOGST; [ \$(readlink /proc/self/ns/mnt) != $HOSTMNT ] && echo createContainer in the container mount ns >> $HL")],
  "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer in rootfs \$(cat /etc/hostname-probe)"]}],
  "poststart": [$(hook x "K=poststart; $LOGST")],
  "poststop": [$(hook x "K=poststop; $LOGST")]
}
EOT
)
echo chute-root > "$B/rootfs/etc/hostname-probe"
cfg ".process.args = [\"true\"] | $HOOKS"
check "create with every hook" sh -c "'$CHUTED' oci create --bundle '$B' --pid-file '$T_DIR/hpid' chuted-test-h1 >'$T_DIR/h1.out' 2>&1"
HPID=$(cat "$T_DIR/hpid" 2>/dev/null)
check "start" sh -c "'$CHUTED' oci start chuted-test-h1 >>'$T_DIR/h1.out' 2>&1"
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-h1 | jq -r .status)\" = stopped ]"
check "delete" chuted oci delete chuted-test-h1
eq "hooks in order, each with the state on stdin" "$(cat "$HL")" "prestart created $HPID chuted-test-h1
createRuntime created $HPID chuted-test-h1
env=bar arg0=sh
createContainer created $HPID chuted-test-h1
createContainer in the container mount ns
poststart running $HPID chuted-test-h1
poststop stopped 0 chuted-test-h1"
eq "startContainer runs in the container's root, before the process" "$(cat "$T_DIR/h1.out")" "startContainer in rootfs chute-root"
no_leftovers "hooks"

# a failing create hook: the create fails and leaves nothing (no state, cgroup, process)
for kind in prestart createRuntime createContainer; do
  : > "$HL"
  rm -f "$T_DIR/fpid"
  cfg ".process.args = [\"sleep\", \"60\"] | .hooks = {\"$kind\": [$(hook x "read -r s; echo \"\$s\" | jq -r .pid > $T_DIR/fpid; exit 3")]}"
  OUT=$(timeout 20 "$CHUTED" oci create --bundle "$B" chuted-test-hf 2>&1); RC=$?
  eq "failing $kind hook fails the create" "$RC:$OUT" "1:chuted: $kind hook \`/bin/sh\`: exit status 3"
  check_fails "failing $kind: no state" test -e "$T_RUNROOT/oci/chuted-test-hf"
  FPID=$(cat "$T_DIR/fpid" 2>/dev/null)
  check_fails "failing $kind: the init ($FPID) is gone" test -z "$FPID" -o -e "/proc/$FPID"
  no_leftovers "failing $kind hook"
done
cfg ".process.args = [\"true\"] | .hooks.prestart = [$(hook x 'sleep 30' '"timeout": 1')]"
OUT=$(timeout 20 "$CHUTED" oci create --bundle "$B" chuted-test-ht 2>&1); RC=$?
eq "a hook past its timeout is killed and fails the create" "$RC:$OUT" "1:chuted: prestart hook \`/bin/sh\`: timed out after 1 s"
check_fails "timeout: no state" test -e "$T_RUNROOT/oci/chuted-test-ht"
no_leftovers "hook timeout"
cfg ".process.args = [\"true\"] | .hooks.prestart = [{\"path\": \"relative/hook\"}]"
OUT=$(timeout 20 "$CHUTED" oci create --bundle "$B" chuted-test-hr 2>&1)
eq "a relative hook path is refused" "$OUT" 'chuted: config.json: hooks.prestart[0].path: must be an absolute path, not `relative/hook`'

# startContainer failure fails the start; poststart and poststop failures are warnings
cfg ".process.args = [\"sleep\", \"60\"] | .hooks.startContainer = [{\"path\": \"/bin/false\"}]"
"$CHUTED" oci create --bundle "$B" chuted-test-hs >/dev/null 2>&1
OUT=$("$CHUTED" oci start chuted-test-hs 2>&1); RC=$?
eq "failing startContainer hook fails the start" "$RC:$OUT" "1:chuted: startContainer hook \`/bin/false\`: exit status 1"
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-hs | jq -r .status)\" = stopped ]"
eq "and the process never ran" "$("$CHUTED" oci state chuted-test-hs | jq -r .status)" stopped
chuted oci delete chuted-test-hs
: > "$HL"
cfg ".process.args = [\"sleep\", \"60\"] | .hooks.poststart = [{\"path\": \"/bin/false\"}, $(hook x "echo second poststart >> $HL")]"
"$CHUTED" oci create --bundle "$B" chuted-test-hp >/dev/null 2>&1
OUT=$("$CHUTED" oci start chuted-test-hp 2>&1); RC=$?
eq "failing poststart hook: start succeeds with a warning" "$RC:$OUT" "0:chuted: warning: poststart hook \`/bin/false\`: exit status 1"
eq "the container runs and the next poststart hook still runs" "$("$CHUTED" oci state chuted-test-hp | jq -r .status):$(cat "$HL")" "running:second poststart"
chuted oci delete --force chuted-test-hp
: > "$HL"
cfg ".process.args = [\"true\"] | .hooks.poststop = [{\"path\": \"/bin/false\"}, $(hook x "echo second poststop >> $HL")]"
"$CHUTED" oci create --bundle "$B" chuted-test-hd >/dev/null 2>&1
"$CHUTED" oci start chuted-test-hd >/dev/null 2>&1
wait_for 50 sh -c "[ \"\$('$CHUTED' oci state chuted-test-hd | jq -r .status)\" = stopped ]"
OUT=$("$CHUTED" oci delete chuted-test-hd 2>&1); RC=$?
eq "failing poststop hook: delete succeeds with a warning" "$RC:$OUT" "0:chuted: warning: poststop hook \`/bin/false\`: exit status 1"
eq "and the next poststop hook still runs" "$(cat "$HL")" "second poststop"
no_leftovers "hook failures"

# --- linux.rootfsPropagation: every value starts, "/" gets it, nothing reaches the host
for prop in shared rshared slave rslave private rprivate unbindable runbindable; do
  run_c '["sh", "-c", "awk \"\\$5 == \\\"/\\\"\" /proc/self/mountinfo"]' ".linux.rootfsPropagation = \"$prop\""
  case $prop in
    *shared) want=shared: ;; *unbindable) want=unbindable ;; *) want=none ;;
  esac
  got=none
  case "$OUT" in *shared:*) got=shared: ;; *unbindable*) got=unbindable ;; esac
  eq "rootfsPropagation $prop: starts, / is ${want%:}" "$RC:$got" "0:$want"
done
run_c '["sh", "-c", "mount --bind / /mnt 2>&1 || echo refused"]' '.linux.rootfsPropagation = "runbindable" | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"] | del(.linux.seccomp)'
eq "runbindable: / cannot be bound" "$(echo "$OUT" | tail -1)" refused
no_leftovers "rootfsPropagation"

# --- namespaces left out are the runtime's; joined ones that are ours count as the host's
NOMNT='.linux.namespaces |= map(select(.type != "mount"))'
mkdir -p "$B/rootfs/mnt" && mount -t tmpfs chuted-test-pre "$B/rootfs/mnt"
MOUNTS_BEFORE=$(grep -c "$T_DIR" /proc/mounts)
run_c '["sh", "-c", "cat /etc/hostname-probe; ls -d /proc/1"]' "$NOMNT"
eq "no mount namespace: the runtime's is inherited, mounts made there, chrooted" "$RC:$(echo "$OUT" | tr '\n' ' ')" "0:chute-root /proc/1 "
eq "and delete takes our mounts down, not what was mounted before" "$(grep -c "$T_DIR" /proc/mounts)" "$MOUNTS_BEFORE"
cfg "$NOMNT | .process.args = [\"true\"] | .hooks.createRuntime = [{\"path\": \"/bin/false\"}]"
"$CHUTED" oci create --bundle "$B" chuted-test-nm >/dev/null 2>&1
eq "a failed create without a mount namespace leaves no mount either" "$(grep -c "$T_DIR" /proc/mounts)" "$MOUNTS_BEFORE"
umount "$B/rootfs/mnt"
run_c '["true"]' '.hostname = "x" | .linux.namespaces |= map(select(.type != "uts"))'
eq "hostname without a uts namespace: refused" "$RC:$OUT" "1:chuted: config.json: hostname: unable to set hostname without a new UTS namespace"
HOSTNAME_BEFORE=$(hostname)
run_c '["true"]' '.hostname = "chuted-test-evil" | .linux.namespaces |= map(if .type == "uts" then .path = "/proc/self/ns/uts" else . end)'
eq "hostname in a joined uts namespace that is the caller's: refused" "$RC:$OUT" "1:chuted: config.json: hostname: unable to set hostname without a new UTS namespace"
eq "the host's hostname is untouched" "$(hostname)" "$HOSTNAME_BEFORE"
run_c '["true"]' ".linux.sysctl = {\"net.ipv4.ip_local_port_range\": \"40000 40001\"} | .linux.namespaces |= map(if .type == \"network\" then .path = \"/proc/$$/ns/net\" else . end)"
eq "net sysctl in the host's network namespace: refused" "$RC:$OUT" "1:chuted: config.json: linux.sysctl: sysctl \`net.ipv4.ip_local_port_range\` not allowed in host network namespace"
run_c '["cat", "/proc/sys/net/ipv4/ip_local_port_range"]' ".linux.sysctl = {\"net.ipv4.ip_local_port_range\": \"40000 40001\"}"
eq "net sysctl in a new network namespace still works" "$RC:$(echo "$OUT" | tr '\t' ' ')" "0:40000 40001"
run_c '["true"]' '.linux.sysctl = {"kernel.shmmax": "1"} | .linux.namespaces |= map(select(.type != "ipc"))'
eq "ipc sysctl without an ipc namespace: refused" "$RC:$OUT" "1:chuted: config.json: linux.sysctl: sysctl \`kernel.shmmax\` not allowed in host IPC namespace"

# joining a mount namespace by path: the rootfs is set up in that namespace
unshare -m --propagation private sleep 60 & NSPID=$!
wait_for 50 sh -c "[ \"\$(readlink /proc/$NSPID/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ]"
mkdir -p "$T_DIR/b2"; make_rootfs "$T_DIR/b2/rootfs" >/dev/null
echo other-root > "$T_DIR/b2/rootfs/etc/hostname-probe"
jq ".process.args = [\"cat\", \"/etc/hostname-probe\"] | .linux.namespaces |= map(if .type == \"mount\" then .path = \"/proc/$NSPID/ns/mnt\" else . end)" "$T_DIR/config.orig" > "$T_DIR/b2/config.json"
OUT=$(timeout 20 "$CHUTED" oci run --bundle "$T_DIR/b2" chuted-test-m2 2>&1); RC=$?
eq "a mount namespace joined by path: the container's rootfs is set up in it" "$RC:$OUT" "0:other-root"
eq "and its mounts stay out of ours" "$(grep -c "$T_DIR/b2" /proc/mounts)" 0
kill $NSPID; wait $NSPID 2>/dev/null
no_leftovers "namespaces"

# --- tmpcopyup: a tmpfs over an image directory starts with a copy of it
mkdir -p "$B/rootfs/var/cache/sub"
echo kept > "$B/rootfs/var/cache/sub/file"; ln -sf sub/file "$B/rootfs/var/cache/link"
chown 65534:65534 "$B/rootfs/var/cache/sub"; chmod 0750 "$B/rootfs/var/cache/sub"
TMPFS='.mounts += [{"destination": "/var/cache", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "tmpcopyup", "mode=755"]}]'
run_c '["sh", "-c", "cat /var/cache/link; stat -c \"%u %a\" /var/cache/sub; awk \"\\$5 == \\\"/var/cache\\\" {print \\$9}\" /proc/self/mountinfo; echo new > /var/cache/sub/file"]' "$TMPFS"
eq "tmpcopyup: the tmpfs holds a copy (files, links, owner, mode)" "$RC:$(echo "$OUT" | tr '\n' ' ')" "0:kept 65534 750 tmpfs "
eq "tmpcopyup: the image's directory is untouched" "$(cat "$B/rootfs/var/cache/sub/file")" kept
run_c '["sh", "-c", "cat /var/cache/sub/file; touch /var/cache/x 2>/dev/null || echo read-only"]' "$TMPFS | .mounts[-1].options += [\"ro\"]"
eq "tmpcopyup with ro: filled, then read-only" "$RC:$(echo "$OUT" | tr '\n' ' ')" "0:kept read-only "

# --- supplementary groups: additionalGids and /etc/group, each gid once
cp "$B/rootfs/etc/group" "$T_DIR/group.orig"
printf 'wheel:x:10:root\naudio:x:29:root\n' >> "$B/rootfs/etc/group"
run_c '["sh", "-c", "grep ^Groups: /proc/self/status"]' '.process.user = {uid: 0, gid: 0, additionalGids: [10, 29, 29, 40]}'
eq "supplementary groups without duplicates" "$RC:$(echo "$OUT" | tr -s '\t ' ' ')" "0:Groups: 10 29 40 "
cp "$T_DIR/group.orig" "$B/rootfs/etc/group"
no_leftovers "tmpcopyup and groups"

# --- what this host cannot apply is refused (or, where nothing is lost, warned about), never silently dropped
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
  run_c '["true"]' '.process.apparmorProfile = "docker-default"'
  eq "apparmorProfile without AppArmor: refused" "$RC:$OUT" "1:chuted: config.json: process.apparmorProfile: AppArmor is not enabled on this host"
else
  skip "AppArmor is enabled here: the refusal is not testable"
fi
if [ ! -e /sys/fs/selinux ]; then
  run_c '["true"]' '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  eq "selinuxLabel without SELinux: refused" "$RC:$OUT" "1:chuted: config.json: process.selinuxLabel: SELinux is not enabled on this host"
  # no mount can carry a label here and nothing would read one: said, and
  # the container runs (runc's validator refuses only the process label)
  run_c '["true"]' '.linux.mountLabel = "system_u:object_r:container_file_t:s0"'
  eq "mountLabel without SELinux: skipped with a warning naming it" "$RC:$OUT" \
    "0:chuted: warning: linux.mountLabel \`system_u:object_r:container_file_t:s0\` ignored: SELinux is not enabled on this host"
else
  skip "SELinux is enabled here: the refusals are not testable"
fi
# memory.kernel (deprecated: "may be ignored by runtimes"): applied where the
# kernel still enforces it, otherwise a warning says it is ignored
run_c '["sh", "-c", "cat /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes 2>/dev/null || echo none"]' \
  '.linux.resources.memory = {"kernel": 104857600}'
W=$(echo "$OUT" | grep -c '^chuted: warning: linux.resources.memory.kernel ignored: ')
if echo "$OUT" | grep -qx 104857600; then
  eq "memory.kernel: applied, no warning" "$RC:$W" 0:0
else
  eq "memory.kernel: not enforced by this kernel or cgroup version, and a warning says so" "$RC:$W" 0:1
fi
# blockIO leafWeight and weightDevice: applied or refused naming the field
run_c '["true"]' '.linux.resources.blockIO = {"weightDevice": [{"major": 4095, "minor": 0, "weight": 200}]}'
eq "weightDevice for a block device this host lacks: refused naming it" \
  "$RC:$(echo "$OUT" | grep -c 'linux.resources.blockIO.weightDevice\[0\].weight: ')" 1:1
if [ -e /sys/fs/cgroup/blkio/blkio.leaf_weight ]; then
  run_c '["true"]' '.linux.resources.blockIO = {"leafWeight": 300}'
  eq "leafWeight with CFQ: applied" "$RC" 0
else
  run_c '["true"]' '.linux.resources.blockIO = {"leafWeight": 300}'
  eq "leafWeight without CFQ or on v2: refused naming it" "$RC:$(echo "$OUT" | grep -c 'linux.resources.blockIO.leafWeight: ')" 1:1
fi
run_c '["true"]' '.linux.resources.blockIO = {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 5}]}'
eq "weightDevice leafWeight out of range: refused" "$RC:$OUT" \
  "1:chuted: config.json: linux.resources.blockIO.weightDevice[0].leafWeight: 5 is outside 10..1000"
# process.capabilities the kernel cannot map or grant: one warning line
# naming each, the rest applied (runtime-spec v1.1 config.md: MUST warn,
# SHOULD NOT fail; runc alike). The runtime-tools suite's CAP_TEST.
W="chuted: warning: process.capabilities: skipping"
run_c '["sh", "-c", "grep CapBnd /proc/self/status"]' '.process.capabilities.bounding += ["CAP_TEST"] | .process.capabilities.effective += ["CAP_TEST", "cap_nope"]'
eq "unknown capabilities: warned about once each, skipped, the rest applied" "$RC:$OUT" \
  "0:$W CAP_TEST (unknown), cap_nope (unknown)
CapBnd:	00000000a80425fb"
run_c '["sh", "-c", "grep -E \"Cap(Inh|Eff)\" /proc/self/status | tr \"\\t\\n\" \"  \""]' '.process.capabilities.inheritable = ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_TIME"] | .process.capabilities.bounding += ["CAP_SYS_TIME"]'
eq "inheritable outside the bounding set, effective not permitted: skipped, named" "$RC:$OUT" \
  "0:$W CAP_SYS_ADMIN (not in process.capabilities.bounding), CAP_SYS_TIME (effective but not permitted)
CapInh: 0000000000000000 CapEff: 00000000a80425fb "
if grep -q '"CAP_NET_RAW"' "$T_DIR/config.orig"; then
  cfg '.process.args = ["sh", "-c", "grep CapEff /proc/self/status"]'
  OUT=$(timeout 20 setpriv --bounding-set -net_raw "$CHUTED" oci run --bundle "$B" chuted-test-capbnd 2>&1); RC=$?
  eq "a capability the runtime itself lacks: skipped with a warning" "$RC:$OUT" \
    "0:$W CAP_NET_RAW (not in the bounding set this runtime runs with)
CapEff:	00000000a80405fb"
  chmod 755 "$T_DIR" # the user-namespaced init must reach the rootfs
  MAP=$((200000 + RANDOM))
  cfg '.process.args = ["sh", "-c", "grep CapEff /proc/self/status"] | .linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": '$MAP', "size": 65536}] | .linux.gidMappings = [{"containerID": 0, "hostID": '$MAP', "size": 65536}]'
  OUT=$(timeout 20 setpriv --bounding-set -net_raw "$CHUTED" oci run --bundle "$B" chuted-test-capus 2>&1); RC=$?
  eq "... but in a user namespace of its own the container gets it, no warning" "$RC:$OUT" "0:CapEff:	00000000a80425fb"
  cfg '.process.args = ["true"]'
  OUT=$(timeout 20 setpriv --bounding-set -net_raw "$BIN/chuted-runtime" --log "$T_DIR/w.json" --log-format json \
    run --bundle "$B" chuted-test-caplog 2>&1); RC=$?
  eq "with --log the warning goes there (as runc's), not to stderr" "$RC:$OUT" "0:"
  eq "... one json line at level warning" "$(jq -c '[.level, .msg]' "$T_DIR/w.json" 2>&1)" \
    '["warning","process.capabilities: skipping CAP_NET_RAW (not in the bounding set this runtime runs with)"]'
else
  fail "the default config no longer asks for CAP_NET_RAW: pick another capability"
fi
OUT=$("$CHUTED" run --net none --rootfs "$B/rootfs" --cap-add TEST true 2>&1); RC=$?
eq "chuted run --cap-add TEST: a typo on chuted's own command line is refused as input" "$RC:$OUT" \
  '125:chuted: --cap-add: unknown capability `TEST` (e.g. NET_ADMIN, CAP_SYS_TIME, ALL)'
check_fails "... and leaves no chute" sh -c "'$CHUTED' ps -a -q | grep -q ."
OUT=$(timeout 20 setpriv --bounding-set -net_raw "$CHUTED" run --rm --net none --read-only --rootfs "$B/rootfs" \
  -- sh -c 'grep CapEff /proc/self/status' 2>&1); RC=$?
eq "chuted run where the host withholds a default capability: runs without it, the warning reaches the terminal" \
  "$RC:$(echo "$OUT" | sort | tr '\n' ' ')" \
  "0:CapEff:	00000000a80405fb $W CAP_NET_RAW (not in the bounding set this runtime runs with) "
run_c '["true"]' '.process.scheduler = {"policy": "SCHED_BATCH"}'
eq "process.scheduler: refused" "$RC:$OUT" "1:chuted: config.json: process.scheduler: not supported by chuted"
run_c '["true"]' '.linux.intelRdt = {"closID": "x"}'
eq "linux.intelRdt: refused" "$RC:$OUT" "1:chuted: config.json: linux.intelRdt: not supported by chuted"
for f in 'cpu.realtimeRuntime = 950000' 'cpu.burst = 1000' 'memory.useHierarchy = true' 'unified = {"memory.high": "1G"}' 'rdma = {}'; do
  run_c '["true"]' ".linux.resources.$f"
  eq "linux.resources.${f%% *}: refused" "$RC:$OUT" "1:chuted: config.json: linux.resources.${f%% *}: not supported by chuted"
done
check_fails "refusals leave no state" test -e "$T_RUNROOT/oci/chuted-test-p$N"
run_c '["sh", "-c", "uname -m; cat /proc/sys/kernel/domainname"]' '.linux.personality = {"domain": "LINUX32"} | .domainname = "chuted.test"'
eq "personality LINUX32 and domainname applied" "$RC:$(echo "$OUT" | tr '\n' ' ')" "0:i686 chuted.test "
run_c '["true"]' 'del(.hostname) | .domainname = "x" | .linux.namespaces |= map(select(.type != "uts"))'
eq "domainname without a uts namespace: refused" "$RC:$OUT" "1:chuted: config.json: domainname: unable to set domainname without a new UTS namespace"
no_leftovers "refusals"
finish
