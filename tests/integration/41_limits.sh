#!/usr/bin/env bash
# cgroup limits enforced on real chutes: memory (OOM kill recorded), pids
# (fork fails), cpu shares (512 vs 1024 split on one CPU).
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)
js() { python3 -c "import json,sys; d=json.load(sys.stdin)[0]; print($1)"; }

# memory: a chute that needs 64 MB under a 16 MB limit is OOM-killed, and that is recorded
chuted run -d --name hog --net none --memory 16M --memory-swap 16M --rootfs "$R" -- /bin/sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived' >/dev/null
wait_for 200 sh -c "'$CHUTED' inspect hog | grep -q '\"state\": \"exited\"'"
st=$(chuted inspect hog)
eq "memory: OOM kill recorded" "$(echo "$st" | js 'd["state"]["oom_killed"]')" True
eq "memory: killed by SIGKILL" "$(echo "$st" | js 'd["state"]["exit_code"]')" 137
check_fails "memory: it did not survive" sh -c "'$CHUTED' logs hog | grep -q survived"
chuted rm hog >/dev/null

# a chute under its limit is not OOM-killed
out=$(chuted run --rm --net none --memory 64M --rootfs "$R" -- /bin/sh -c 'x=$(head -c 8000000 /dev/zero | tr "\0" a); echo ok ${#x}')
eq "memory: within the limit runs" "$out" "ok 8000000"

# pids: fork fails past the limit
out=$(chuted run --rm --net none --pids 8 --rootfs "$R" -- /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done 2>&1; echo forked; wait' 2>&1)
if echo "$out" | grep -qi "can't fork\|Resource temporarily unavailable\|Cannot allocate"; then pass "pids: fork fails past the limit"; else fail "pids: no fork failure: $out"; fi
out=$(chuted run --rm --net none --pids 8 --rootfs "$R" -- /bin/sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')
eq "pids: limit visible inside" "$out" 8

# cpu shares: two busy chutes pinned to CPU 0, 512 vs 1024 → 1/3 vs 2/3 (±5 points)
chuted run -d --name lo --net none --cpu-shares 512 --cpuset-cpus 0 --rootfs "$R" -- /bin/sh -c 'while :; do :; done' >/dev/null
chuted run -d --name hi --net none --cpu-shares 1024 --cpuset-cpus 0 --rootfs "$R" -- /bin/sh -c 'while :; do :; done' >/dev/null
u() { chuted inspect "$1" | js 'd["cgroup"]["stats"]["cpu_usage_ns"]'; }
sleep 1
a0=$(u lo); b0=$(u hi); sleep 10; a1=$(u lo); b1=$(u hi)
share=$(python3 -c "a=$a1-$a0; b=$b1-$b0; print(round(100*a/(a+b),1))")
if python3 -c "import sys; sys.exit(0 if abs($share-33.33)<=5 else 1)"; then pass "cpu shares 512:1024 → ${share}% for the 512 chute"; else fail "cpu shares split ${share}% (want 33.3 ±5)"; fi
chuted rm -f lo hi >/dev/null
no_leftovers "limits"
finish
