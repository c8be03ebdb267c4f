# Sourced by the benches. bench_rm_root CHUTED W: what a bench made under its
# own root is removed by path only (never by name on the host): every chute
# of the root (CHUTED_ROOT and friends set), its networks, the mounts under W,
# the directories of its cgroup parent (CHUTED_CGROUP_PARENT), W itself.
bench_rm_root() {
  local c h
  for c in $("$1" ps -a -q 2>/dev/null); do "$1" rm -f "$c" >/dev/null 2>&1; done
  "$1" network prune >/dev/null 2>&1 # the bridge and table outlive the last chute
  grep " $2" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l
  for h in /sys/fs/cgroup/*/"$CHUTED_CGROUP_PARENT" /sys/fs/cgroup/"$CHUTED_CGROUP_PARENT"; do
    [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$2"
}
