#!/usr/bin/env bash
# Inside the VM (pure cgroup v2 host): the hierarchy chuted relies on, then
# every limit of `chuted run` enforced for real and recorded by `chuted inspect`.
. "$(dirname "$0")/../lib.sh"
CG=/sys/fs/cgroup

eq "only cgroup2 is mounted" "$(awk '$3 ~ /^cgroup/ {print $3}' /proc/mounts | sort -u | tr '\n' ' ')" "cgroup2 "
for c in cpu memory pids io; do
  check "controller $c available at the root" grep -qw "$c" $CG/cgroup.controllers
  check "controller $c delegated to children" grep -qw "$c" $CG/cgroup.subtree_control
done

finish
