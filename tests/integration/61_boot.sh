#!/usr/bin/env bash
# `chuted start --all` (what the boot unit runs): after a reboot the chutes'
# state under --root is there, the run root is empty; exactly the `always`
# chutes and the `unless-stopped` ones the user did not stop come back.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)

run_d() { local name=$1 policy=$2; shift 2; chuted run -d --name "$name" --restart "$policy" --net none --rootfs "$R" -- "$@"; }
state() { chuted ps -a | awk -v n="$1" '$1==n{print $2}'; }
states() { for c in always unless stopped-us stopped-al no onfail; do printf '%s=%s ' "$c" "$(state "$c")"; done; }

# A reboot as the chutes see it: every process of theirs dies at once (no
# stop, no monitor left to restart or clean up), their cgroups and mounts
# go, and /run comes back empty (the next commands use a fresh run root;
# chuted shows a chute it has no run state for as `created`).
reboot_into() {
  local old=$CHUTED_RUN_ROOT new=$1 f pid d
  for f in "$old"/chutes/*/monitor.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f"); kill -9 "$pid" 2>/dev/null
    f=${f%/monitor.pid}/init.pid
    [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  for d in /sys/fs/cgroup/*/"$T_CGPARENT" /sys/fs/cgroup/"$T_CGPARENT"; do
    [ -d "$d" ] && wait_for 50 sh -c "find '$d' -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null; [ -z \"\$(find '$d' -mindepth 1 -type d)\" ]"
  done
  grep " $old" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  mkdir -p "$new"
  export CHUTED_RUN_ROOT=$new
}

check "run always" run_d always always sleep 1000
check "run unless-stopped" run_d unless unless-stopped sleep 1000
check "run unless-stopped, then stop it" run_d stopped-us unless-stopped sleep 1000
check "run always, then stop it" run_d stopped-al always sleep 1000
check "run --restart no" run_d no no sleep 1000
check "run --restart on-failure" run_d onfail on-failure sleep 1000
check "stop two" chuted stop -t 0 stopped-us stopped-al
check "start --all when all are up or stopped" chuted start --all
check_fails "start --all with a name is refused" chuted start --all always
eq "... and starts nothing" "$(chuted start --all)" ""

reboot_into "$T_DIR/run-b"
eq "after the reboot nothing runs" "$(chuted ps -q)" ""
out=$(chuted start --all); rc=$?
eq "start --all: exit code" "$rc" 0
eq "start --all: names what it started" "$(echo $out)" "always stopped-al unless"
eq "start --all: states" "$(states)" "always=running unless=running stopped-us=created stopped-al=running no=created onfail=created "
eq "a second start --all is a no-op" "$(chuted start --all)" ""

# starting a stopped unless-stopped chute by hand clears the mark: it comes
# back at the next boot; one whose start fails does not stop the others
check "start the stopped unless-stopped chute" chuted start stopped-us
check "run an always chute whose rootfs will vanish" chuted run -d --name gone --restart always --net none --rootfs "$(make_rootfs "$T_DIR/gone")" -- sleep 1000
reboot_into "$T_DIR/run-c"
rm -rf "$T_DIR/gone"
out=$(chuted start --all 2>"$T_DIR/err"); rc=$?
eq "start --all with one broken chute: exit code" "$rc" 125
eq "start --all with one broken chute: the others start" "$(echo $out)" "always stopped-al stopped-us unless"
if grep -q 'start `gone`' "$T_DIR/err" && grep -q 'start --all: 1 chute did not start' "$T_DIR/err"; then
  pass "start --all names the chute that failed"; else fail "start --all stderr: $(cat "$T_DIR/err")"; fi
eq "after the second reboot" "$(states)" "always=running unless=running stopped-us=running stopped-al=running no=created onfail=created "

for c in $(chuted ps -a -q); do chuted rm -f "$c" >/dev/null; done
eq "all removed" "$(chuted ps -a -q)" ""
no_leftovers "boot"
finish
