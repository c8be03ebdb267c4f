#!/usr/bin/env bash
# linux.resources fields beyond limits: memory swappiness, disableOOMKiller,
# kernelTCP, hugepageLimits, network (net_cls/net_prio). Each is written
# where this host has its controller and file, and refused with a line
# naming the field where it has not (never dropped).
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
make_rootfs "$B/rootfs" >/dev/null
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"
N=0
# create IN_JSON: OUT = its output, CG = its cgroup path, RC = exit code
create() {
  N=$((N + 1)); ID=chuted-test-r$N; CG=$T_CGPARENT/r$N
  jq --arg p "/$CG" ".linux.cgroupsPath = \$p | .process.args = [\"sleep\", \"1000\"] | .linux.resources += $1" \
    "$T_DIR/config.orig" > "$B/config.json"
  timeout 20 "$CHUTED" oci create --bundle "$B" "$ID" </dev/null >/dev/null 2>"$T_DIR/err"; RC=$?
  OUT=$(cat "$T_DIR/err")
}
gone() { "$CHUTED" oci delete --force "$ID" >/dev/null 2>&1; }
refused() { # DESC WORDS...: the create failed, its message has every word, no cgroup left
  local d=$1 w; shift
  if [ "$RC" -eq 0 ]; then fail "$d: accepted"; gone; return; fi
  for w in "$@"; do
    case "$OUT" in *"$w"*) ;; *) fail "$d: message lacks '$w': $OUT"; return ;; esac
  done
  if ls -d /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" >/dev/null 2>&1; then fail "$d: cgroup left"; else pass "$d"; fi
}

if [ -d /sys/fs/cgroup/memory ]; then
  M=/sys/fs/cgroup/memory
  create '{"memory": {"swappiness": 17, "disableOOMKiller": true}}'
  eq "swappiness written" "$(cat "$M/$CG/memory.swappiness" 2>&1)" 17
  eq "OOM killer disabled" "$(awk '/^oom_kill_disable/ {print $2}' "$M/$CG/memory.oom_control" 2>&1)" 1
  gone
  create '{"memory": {"swappiness": 101}}'
  refused "swappiness 101" "linux.resources.memory.swappiness" "0..100"
  create '{"memory": {"kernelTCP": 16777216}}'
  if [ -e "$M/memory.kmem.tcp.limit_in_bytes" ]; then
    eq "kernelTCP written" "$(cat "$M/$CG/memory.kmem.tcp.limit_in_bytes" 2>&1)" 16777216
    gone
  else
    refused "kernelTCP without memory.kmem.tcp" "linux.resources.memory.kernelTCP"
  fi
else
  create '{"memory": {"swappiness": 17}}'
  refused "v2: swappiness" "linux.resources.memory.swappiness" "cgroup v2"
  create '{"memory": {"disableOOMKiller": true}}'
  refused "v2: disableOOMKiller" "linux.resources.memory.disableOOMKiller" "cgroup v2"
  create '{"memory": {"kernelTCP": 16777216}}'
  refused "v2: kernelTCP" "linux.resources.memory.kernelTCP" "cgroup v2"
  create '{"memory": {"disableOOMKiller": false}}'
  check "v2: disableOOMKiller false is fine" test "$RC" -eq 0
  gone
fi

# hugetlb: written where the controller is, refused where it is not
size=2MB
create "{\"hugepageLimits\": [{\"pageSize\": \"$size\", \"limit\": 4194304}]}"
if [ -d /sys/fs/cgroup/hugetlb ]; then
  eq "hugetlb limit (v1)" "$(cat "/sys/fs/cgroup/hugetlb/$CG/hugetlb.$size.limit_in_bytes" 2>&1)" 4194304; gone
elif [ ! -d /sys/fs/cgroup/memory ] && grep -qw hugetlb /sys/fs/cgroup/cgroup.controllers \
  && [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
  eq "hugetlb limit (v2)" "$(cat "/sys/fs/cgroup/$CG/hugetlb.$size.max" 2>&1)" 4194304; gone
else
  refused "hugepageLimits without hugetlb" "linux.resources.hugepageLimits"
fi
create '{"hugepageLimits": [{"pageSize": "../x", "limit": 1}]}'
refused "a page size with a slash" "linux.resources.hugepageLimits[0].pageSize"

# net_cls / net_prio
create '{"network": {"classID": 1048577}}'
if [ -d /sys/fs/cgroup/net_cls ]; then
  eq "net_cls.classid" "$(cat "/sys/fs/cgroup/net_cls/$CG/net_cls.classid" 2>&1)" 1048577; gone
else
  refused "classID without net_cls" "linux.resources.network" "net_cls"
fi
create '{"network": {"priorities": [{"name": "lo", "priority": 3}]}}'
if [ -d /sys/fs/cgroup/net_prio ]; then
  check "net_prio.ifpriomap" grep -qx "lo 3" "/sys/fs/cgroup/net_prio/$CG/net_prio.ifpriomap"; gone
else
  refused "priorities without net_prio" "linux.resources.network" "net_prio"
fi

no_leftovers "resource fields"
finish
