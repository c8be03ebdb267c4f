#!/usr/bin/env bash
# What a podman user expects of `chuted run`, each really enforced: volumes
# (-v HOST:DIR[:ro], named volumes that outlive the chute, `chuted volume`),
# --cap-add/--cap-drop, --security-opt seccomp=/no-new-privileges,
# --device, --privileged; `rm a missing b` and `rmi` of an image in use.
# Bad input: one line, exit 125, nothing made.
. "$(dirname "$0")/../lib.sh"
# the deployed chute below is on a bridge of this test's own
export CHUTED_BRIDGE=chtcli0 CHUTED_SUBNET=10.231.157.0/24
R=$(make_rootfs)
if [ -x "$BIN/chuted-sys-probe" ]; then
  cp "$BIN/chuted-sys-probe" "$R/bin/sys_probe"
elif ! gcc -static -O2 -o "$R/bin/sys_probe" "$(dirname "$0")/sys_probe.c" 2>"$T_DIR/gcc.err"; then
  fail "build sys_probe: $(head -3 "$T_DIR/gcc.err")"; finish
fi
run() { "$CHUTED" run --rm --net none --rootfs "$R" "$@"; }

# bad_input DESC ARGS...: refused on one line with 125, and no chute, no volume left
bad_input() {
  local d=$1 out rc; shift
  out=$("$CHUTED" run --net none --rootfs "$R" "$@" true 2>&1); rc=$?
  if [ $rc -eq 125 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [ -z "$(chuted ps -a -q)" ] \
    && [ -z "$(chuted volume ls -q)" ]; then pass "$d refused: $out"
  else fail "$d: rc=$rc out='$out' chutes='$(chuted ps -a -q)' volumes='$(chuted volume ls -q)'"; fi
}

# ---- volumes
H=$T_DIR/host; mkdir -p "$H"; echo from-host > "$H/f"
eq "-v HOST:DIR binds the host dir" "$(run -v "$H:/h" sh -c 'cat /h/f; echo from-chute > /h/g' 2>&1)" "from-host"
eq "a write through a rw bind lands on the host" "$(cat "$H/g" 2>&1)" "from-chute"
out=$(run -v "$H:/h:ro" sh -c 'cat /h/f; (echo x > /h/ro) 2>/dev/null && echo wrote || echo refused' 2>&1)
eq "-v HOST:DIR:ro is read-only" "$(echo $out)" "from-host refused"
[ -e "$H/ro" ] && fail "a ro bind let a file through" || pass "nothing written through a ro bind"
run -v data:/data sh -c 'echo kept > /data/p' >/dev/null 2>&1
eq "a named volume is made under ROOT/volumes" "$(cat "$T_ROOT/volumes/data/_data/p" 2>&1)" "kept"
eq "a named volume survives rm and is there at the next run" "$(run -v data:/data:ro cat /data/p 2>&1)" "kept"
eq "a ro named volume is read-only" "$(run -v data:/data:ro sh -c 'touch /data/x 2>/dev/null || echo refused' 2>&1)" "refused"
"$CHUTED" create --name vuser --net none --rootfs "$R" -v data:/data true >/dev/null
eq "volume ls names the chute using it" "$(chuted volume ls | awk '$1=="data"{print $3}')" "vuser"
out=$(chuted volume rm data 2>&1); rc=$?
if [ $rc -eq 125 ] && echo "$out" | grep -q "used by chute \`vuser\`"; then pass "volume rm of a volume in use refused, naming the chute"
else fail "volume rm of a volume in use: rc=$rc $out"; fi
eq "volume inspect: mountpoint and chutes" \
  "$(chuted volume inspect data | tr -d ' \n' | grep -o '"mountpoint":"[^"]*","created":"[^"]*","chutes":\["vuser"\]' | cut -d'"' -f4)" \
  "$T_ROOT/volumes/data/_data"
chuted volume create spare >/dev/null
check_fails "volume create of an existing volume fails" chuted volume create spare
eq "volume prune removes only unused volumes" "$(chuted volume prune)" "spare"
chuted rm vuser >/dev/null
eq "volume rm once no chute uses it" "$(chuted volume rm data)" "data"
[ -e "$T_ROOT/volumes/data" ] && fail "volume rm left its directory" || pass "volume rm removed its directory"
check_fails "volume rm of a missing volume fails" chuted volume rm nope
check "volume rm -f of a missing volume is no error" chuted volume rm -f nope
bad_input "-v with a relative host path" -v ./x:/d
bad_input "-v with a missing host path" -v "$T_DIR/missing:/d"
bad_input "-v with a relative chute path" -v data:rel
bad_input "-v with an unknown mode" -v data:/d:rx
bad_input "-v with a bad volume name" -v 'a$b:/d'
bad_input "two volumes on one path" -v "$H:/d" -v data:/d

# ---- capabilities
check_fails "without NET_ADMIN, ip link set lo up fails" run ip link set lo up
check "--cap-add net_admin lets it through" run --cap-add net_admin ip link set lo up
check "--cap-add CAP_NET_ADMIN (podman's other spelling)" run --cap-add CAP_NET_ADMIN ip link set lo up
check_fails "--cap-drop CHOWN: chown fails" run --cap-drop CHOWN chown 1 /tmp
eq "--cap-drop ALL --cap-add NET_ADMIN: that one only" \
  "$(run --cap-drop ALL --cap-add NET_ADMIN awk '/^CapEff/{print $2}' /proc/self/status 2>&1)" "0000000000001000"
bad_input "--cap-add of an unknown capability" --cap-add BOGUS

# ---- seccomp, no-new-privileges
eq "the default seccomp profile denies keyctl" "$(run sys_probe keyctl 2>&1)" "keyctl=EPERM"
eq "--security-opt seccomp=unconfined lets it through" "$(run --security-opt seccomp=unconfined sys_probe keyctl 2>&1)" "keyctl=ok"
echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' > "$T_DIR/prof.json"
check_fails "--security-opt seccomp=FILE: the profile's denial holds" run --security-opt "seccomp=$T_DIR/prof.json" mkdir /tmp/x
check "... and the rest is allowed" run --security-opt "seccomp=$T_DIR/prof.json" touch /tmp/x
bad_input "a seccomp file that is no JSON" --security-opt "seccomp=$R/etc/passwd"
echo '{"defaultAction":"SCMP_ACT_NOPE"}' > "$T_DIR/bad.json"
bad_input "a seccomp profile the runtime would refuse" --security-opt "seccomp=$T_DIR/bad.json"
bad_input "an unknown --security-opt" --security-opt apparmor=foo
eq "no_new_privs by default" "$(run awk '/^NoNewPrivs/{print $2}' /proc/self/status 2>&1)" "1"
eq "--security-opt no-new-privileges=false" \
  "$(run --security-opt no-new-privileges=false awk '/^NoNewPrivs/{print $2}' /proc/self/status 2>&1)" "0"

# ---- devices: /dev/net/tun is outside the default device rules
if [ -c /dev/net/tun ]; then
  out=$(run sh -c 'mkdir -p /dev/net; mknod /dev/net/tun c 10 200 2>&1; cat /dev/net/tun 2>&1' 2>&1)
  case $out in *"not permitted"*) pass "without --device, a node of the chute's own is refused";;
    *) fail "without --device: $out";; esac
  out=$(run --device /dev/net/tun sh -c 'cat /dev/net/tun' 2>&1)
  case $out in *"bad state"*) pass "--device /dev/net/tun: the node is there and opens";;
    *) fail "--device /dev/net/tun: $out";; esac
  out=$(run --device /dev/net/tun:/dev/tun0:r sh -c 'cat /dev/tun0; echo x > /dev/tun0' 2>&1)
  case $out in *"bad state"*"not permitted"*) pass "--device HOST:CTR:r: there, readable, not writable";;
    *) fail "--device HOST:CTR:r: $out";; esac
else
  skip "no /dev/net/tun on this host"
fi
bad_input "--device of a missing node" --device /dev/chuted-test-nope
bad_input "--device of a directory" --device /tmp
bad_input "--device with bad permissions" --device /dev/null:/dev/n:rwx

# ---- --privileged
eq "--privileged: every capability chuted holds" "$(run --privileged awk '/^CapEff/{print $2}' /proc/self/status 2>&1)" \
  "$(awk '/^CapBnd/{print $2}' /proc/self/status)"
eq "--privileged: no seccomp, mount allowed" "$(run --privileged sys_probe mount keyctl 2>&1 | tr '\n' ' ')" "mount=ok keyctl=ok "
eq "--privileged: no masked paths, /sys writable" \
  "$(run --privileged sh -c 'grep -c " /proc/keys " /proc/self/mountinfo; awk "\$5==\"/sys\"{print substr(\$6,1,2)}" /proc/self/mountinfo' 2>&1 | tr '\n' ' ')" "0 rw "
eq "(masked and read-only by default)" \
  "$(run sh -c 'grep -c " /proc/keys " /proc/self/mountinfo; awk "\$5==\"/sys\"{print substr(\$6,1,2)}" /proc/self/mountinfo' 2>&1 | tr '\n' ' ')" "1 ro "

# ---- rm of several names, one missing
for n in ra rb rc; do "$CHUTED" create --name $n --net none --rootfs "$R" true >/dev/null; done
out=$(chuted rm -f ra nope rb 2>&1); rc=$?
eq "rm -f a missing b: both removed, exit 0" "$rc|$(chuted ps -a -q | tr '\n' ' ')" "0|rc "
case $out in *"no such chute \`nope\`"*) pass "rm -f says which was missing";; *) fail "rm -f: $out";; esac
out=$(chuted rm nope rc 2>&1); rc=$?
eq "rm missing c: c removed, exit 125" "$rc|$(chuted ps -a -q)" "125|"

# ---- rmi of an image a chute uses
"$TOP/tools/mkimage" "$R" --cmd '["true"]' --tag cam:1 -o "$T_DIR/img.tar" >/dev/null 2>&1 \
  && chuted load "oci-archive:$T_DIR/img.tar" >/dev/null
# load: a progress line on a tty (script(1) gives it one), none otherwise
if command -v script >/dev/null; then
  out=$(script -qec "$CHUTED load --tag cam:tty oci-archive:$T_DIR/img.tar" /dev/null 2>&1 | tr '\r' '\n')
  case $out in *"reading "*" MB"*"Loaded image: cam:tty"*) pass "load shows progress on a tty";;
    *) fail "load on a tty: $out";; esac
fi
eq "load without a tty: no progress line" "$(chuted load --tag cam:notty "oci-archive:$T_DIR/img.tar" 2>&1)" \
  "Loaded image: cam:notty"
chuted rmi cam:tty cam:notty >/dev/null
"$CHUTED" create --name imguser --net none cam:1 >/dev/null
out=$(chuted rmi cam:1 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "used by chute \`imguser\`" && chuted images -q | grep -qx cam:1; then
  pass "rmi of an image in use refused, naming the chute"
else fail "rmi of an image in use: rc=$rc $out"; fi
chuted rm imguser >/dev/null

# ---- --storage-opt size=SIZE: enforced while the chute runs (its layer on an ext4 image of SIZE)
if command -v mkfs.ext4 >/dev/null || [ -x /sbin/mkfs.ext4 ]; then
  fill='dd if=/dev/zero of=/big bs=1M count=24 2>&1 | grep -o "No space left" | head -1; echo small > /s && cat /s'
  eq "--storage-opt size=16m: a 24 MB write fails, a small one works" \
    "$("$CHUTED" run --name quota --net none --storage-opt size=16m cam:1 sh -c "$fill" 2>&1 | tr '\n' ' ')" "No space left small "
  eq "... and after a restart (the image is kept)" \
    "$("$CHUTED" start -a quota 2>&1 | tr '\n' ' ')" "No space left small "
  eq "without it the same write fits" "$(run sh -c "$fill" 2>&1 | tr '\n' ' ')" "small "
  chuted rm quota >/dev/null
  eq "rm detaches its loop device" "$(losetup -a | grep -c "$T_DIR")" "0"
  bad_input "--storage-opt size below 16m" --storage-opt size=1m
  bad_input "an unknown --storage-opt" --storage-opt overlay.mount_program=x
  bad_input "--storage-opt size with --rootfs" --storage-opt size=16m
  eq "--disk 16m given: enforced as well" \
    "$("$CHUTED" run --rm --net none --disk 16m cam:1 sh -c "$fill" 2>&1 | tr '\n' ' ')" "No space left small "
  out=$("$CHUTED" run --net none --disk 8m cam:1 true 2>&1); rc=$?
  check "--disk below 16m with an image refused in one line ($out)" \
    test $rc -eq 125 -a "$(wc -l <<<"$out")" = 1 -a -z "$(chuted ps -a -q)"
else
  skip "no mkfs.ext4: --storage-opt size not tested"
fi

# ---- chute.yaml's volumes: {data: /data}: the named volume CHUTE.data, kept across an update and rm
for v in 1 2; do mkdir -p "$T_DIR/v$v"; cat > "$T_DIR/v$v/chute.yaml" <<EOT
name: voldep
version: "$v"
image: cam:1
command: "echo v$v >> /data/log; trap 'exit 0' TERM; while :; do sleep 1 & wait; done"
volumes: {data: /data}
health: {grace: 1s}
EOT
done
chuted deploy "$T_DIR/v1" >/dev/null 2>&1 && chuted deploy "$T_DIR/v2" >/dev/null 2>&1
eq "chute.yaml volumes: the data of v1 is there in v2" "$(chuted exec voldep cat /data/log 2>&1 | tr '\n' ' ')" "v1 v2 "
chuted chute rm voldep >/dev/null 2>&1
eq "... and kept after the chute is removed" "$(cat "$T_ROOT/volumes/voldep.data/_data/log" 2>&1 | tr '\n' ' ')" "v1 v2 "
chuted volume rm voldep.data >/dev/null
chuted network prune >/dev/null
check "rmi once no chute uses it" chuted rmi cam:1
# ---- man page and bash completion, made from the option tables
if chuted __man | cmp -s - "$TOP/docs/man/chuted.1"; then pass "docs/man/chuted.1 is what the option tables make"
else fail "docs/man/chuted.1 drifted from the option tables: regenerate it with make man"; fi
if command -v man >/dev/null; then
  out=$(MANWIDTH=200 man -l "$TOP/docs/man/chuted.1" 2>&1)
  case $out in *"--security-opt OPT"*) pass "man renders the page, with run's options";; *) fail "man -l: $(echo "$out" | head -3)";; esac
fi
drift=""
for c in $(chuted __man --list); do
  chuted __man "$c" | cmp -s - "$TOP/docs/man/chuted-$c.1" || drift="$drift chuted-$c.1"
done
[ "$(ls "$TOP"/docs/man/chuted-*.1 | wc -l)" = "$(chuted __man --list | wc -l)" ] || drift="$drift (a page of no command)"
eq "a page per command, chuted-CMD(1), as the option tables make it (make man)" "${drift:-none}" none
if command -v man >/dev/null; then
  out=$(MANWIDTH=200 man --warnings -l "$TOP/docs/man/chuted-deploy.1" 2>&1)
  case $out in *"--change-id"*) pass "man renders chuted-deploy(1), with its options";; *) fail "man -l chuted-deploy.1: $(echo "$out" | head -3)";; esac
fi
comp() { bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _chuted; echo "${COMPREPLY[*]}"' \
  _ "$TOP/tools/completion/chuted.bash" "$CHUTED" "$@"; }
eq "completion: a command" "$(comp ru)" "run"
eq "completion: after global options" "$(comp --root "$T_ROOT" vol)" "volume"
eq "completion: a command's options" "$(comp run --cap-)" "--cap-add --cap-drop"
eq "completion: an option's fixed values" "$(comp run --restart un)" "unless-stopped"
eq "completion: a group's subcommands" "$(comp volume "")" "ls create inspect rm prune"
"$CHUTED" create --name compme --net none --rootfs "$R" true >/dev/null
eq "completion: chute names" "$(comp stop comp)" "compme"
chuted rm compme >/dev/null
no_leftovers "57_cli_run"
finish
