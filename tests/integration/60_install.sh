#!/usr/bin/env bash
# make install / uninstall (PREFIX, DESTDIR): the programs side by side and
# stripped, chuted on PATH through a symlink, the systemd unit (checked with
# systemd-analyze verify) and the OpenWrt init script (run through a stand-in
# for /etc/rc.common), both bringing a `--restart always` chute back.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)
SAN=""
[ "$BIN" = "$TOP/build-asan" ] && SAN=1
PROGS="chuted chuted-runtime chuted-monitor chuted-image chuted-image-pull chuted-init chuted-daemon chuted-daemon-cloud"
mk() { make -s -C "$TOP" SAN="$SAN" INIT="systemd procd" "$@"; }

# 1. a package's tree: DESTDIR, PREFIX=/usr
D=$T_DIR/dest
check "make install DESTDIR PREFIX=/usr" mk install DESTDIR="$D" PREFIX=/usr
missing=""
for p in $PROGS; do [ -x "$D/usr/libexec/chuted/$p" ] || missing="$missing $p"; done
eq "the programs side by side in libexec/chuted" "$missing" ""
debug=""
for p in $PROGS; do readelf -S "$D/usr/libexec/chuted/$p" | grep -qE '\.(debug_|symtab)' && debug="$debug $p"; done
eq "the programs are stripped" "$debug" ""
eq "bin/chuted is a relative symlink" "$(readlink "$D/usr/bin/chuted")" ../libexec/chuted/chuted
check "the installed chuted runs" sh -c "'$D/usr/bin/chuted' --version | grep -q '^chuted version'"
eq "the unit runs the installed daemon" "$(grep '^ExecStart=' "$D/usr/lib/systemd/system/chuted.service")" "ExecStart=/usr/bin/chuted daemon"
eq "the init script runs the installed daemon" "$(grep -c '^	procd_set_param command /usr/bin/chuted daemon$' "$D/etc/init.d/chuted")" 1
check "the init script is executable" test -x "$D/etc/init.d/chuted"
check "the man pages chuted(1), chute.yaml(5) and bash completion are installed" \
  test -f "$D/usr/share/man/man1/chuted.1" -a -f "$D/usr/share/man/man5/chute.yaml.5" -a -f "$D/usr/share/bash-completion/completions/chuted"
check "make uninstall" mk uninstall DESTDIR="$D" PREFIX=/usr
eq "uninstall leaves only directories" "$(find "$D" ! -type d)" ""

# 2. installed for real under a prefix of the test's: the boot scripts run it
P=$T_DIR/prefix
check "make install PREFIX" mk install PREFIX="$P" INITDIR="$P/etc/init.d"
C=$P/bin/chuted
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$P/lib/systemd/system/chuted.service" 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ -z "$out" ]; then pass "systemd-analyze verify chuted.service"; else fail "systemd-analyze verify: rc=$rc $out"; fi
else skip "no systemd-analyze here"; fi

# OpenWrt runs `/etc/rc.common /etc/init.d/chuted start`: rc.common sources
# the script and, for a procd one, calls start_service, whose procd_* calls
# hand procd the instance to run. The stand-in runs that instance.
cat > "$T_DIR/rc.common" <<'EOF'
initscript=$1 action=$2
procd_open_instance() { cmd=; }
procd_set_param() { [ "$1" = command ] && { shift; cmd="$*"; }; :; }
procd_close_instance() { $cmd >"$T_DIR_LOG" 2>&1 & echo $! >"$T_DIR_PID"; }
. "$initscript"
echo "START=$START USE_PROCD=$USE_PROCD"
"${action}_service"
EOF
sock=$T_RUNROOT/api.sock
# the daemon the boot script or unit started: its API answers, the chute runs
served() {
  wait_for 100 curl -sf --unix-socket "$sock" http://x/api/v1/info &&
    [ "$("$C" ps | awk '$1=="boot"{print $2}')" = running ]
}
stop_daemon() { kill "$(cat "$T_DIR/pid")" && wait_for 50 sh -c "! kill -0 $(cat "$T_DIR/pid")"; }
check "an always chute, run by the installed chuted" "$C" run -d --name boot --restart always --net none --rootfs "$R" -- sleep 1000
check "stopped" "$C" stop -t 0 boot
out=$(T_DIR_LOG=$T_DIR/daemon.log T_DIR_PID=$T_DIR/pid sh "$T_DIR/rc.common" "$P/etc/init.d/chuted" start 2>&1); rc=$?
eq "init script start: a procd instance" "$rc $out" "0 START=99 USE_PROCD=1"
check "init script start: the daemon serves, the chute runs" served
check "stopping the daemon" stop_daemon
eq "...leaves the chutes alone" "$("$C" ps | awk '$1=="boot"{print $2}')" running
# systemd here is not pid 1: run the unit's ExecStart= as it would
check "stopped again" "$C" stop -t 0 boot
exec_start=$(sed -n 's/^ExecStart=//p' "$P/lib/systemd/system/chuted.service")
$exec_start >"$T_DIR/daemon.log" 2>&1 & echo $! >"$T_DIR/pid"
check "the unit's ExecStart=: the daemon serves, the chute runs" served
check "SIGTERM (systemctl stop, KillMode=process) stops the daemon" stop_daemon
eq "...not the chute" "$("$C" ps | awk '$1=="boot"{print $2}')" running
kill -9 "$(cat "$T_DIR/pid")" 2>/dev/null # a daemon a failed check left
check "rm -f" "$C" rm -f boot
check "make uninstall PREFIX" mk uninstall PREFIX="$P" INITDIR="$P/etc/init.d"
eq "uninstall leaves only directories" "$(find "$P" ! -type d)" ""
no_leftovers "install"
finish
