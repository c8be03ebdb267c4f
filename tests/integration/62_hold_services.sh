#!/usr/bin/env bash
# tools/hold-services.sh (what tools/install-deps.sh runs apt-get under):
# a policy-rc.d that denies every service start exists only while its command
# runs, and whatever policy-rc.d was there before is put back. Against a fake
# root: invoke-rc.d and deb-systemd-invoke look for $DPKG_ROOT/usr/sbin/policy-rc.d.
. "$(dirname "$0")/../lib.sh"
HOLD=$TOP/tools/hold-services.sh
export DPKG_ROOT=$T_DIR/fake
P=$DPKG_ROOT/usr/sbin/policy-rc.d
mkdir -p "${P%/*}"

printf '#!/bin/sh\nexit 0\n' > "$P"; chmod 755 "$P"; cp "$P" "$T_DIR/orig"
eq "during the command the policy denies starts (101)" "$("$HOLD" sh -c '"$DPKG_ROOT"/usr/sbin/policy-rc.d mosquitto start; echo $?')" 101
check "the previous policy-rc.d is back, unchanged" cmp "$P" "$T_DIR/orig"
eq "nothing else left in usr/sbin" "$(ls -A "${P%/*}")" policy-rc.d

"$HOLD" sh -c 'exit 7'; rc=$?
eq "the command's exit status is passed on" "$rc" 7
check "restored after a failing command" cmp "$P" "$T_DIR/orig"

# interrupted like a Ctrl-C (the whole process group), once its policy is in place
setsid "$HOLD" sleep 1000 2>/dev/null & H=$!  # sh says "Terminated" for sleep
wait_for 100 grep -q 'exit 101' "$P"
{ kill -TERM -- -"$H"; wait "$H"; rc=$?; } 2>/dev/null
eq "interrupted: exit status" "$rc" 130
check "interrupted: the previous policy-rc.d is back" cmp "$P" "$T_DIR/orig"
eq "interrupted: nothing else left" "$(ls -A "${P%/*}")" policy-rc.d

rm -f "$P"
"$HOLD" true
eq "none before, none after" "$(ls -A "${P%/*}")" ""

if [ -x /usr/bin/deb-systemd-invoke ]; then
  out=$("$HOLD" /usr/bin/deb-systemd-invoke start chuted-test-none.service 2>&1); rc=$?
  if [ $rc -eq 0 ] && echo "$out" | grep -q 'returned 101, not running'; then
    pass "deb-systemd-invoke does not start a service under it"; else fail "deb-systemd-invoke: rc=$rc $out"; fi
else skip "no deb-systemd-invoke here"; fi
finish
