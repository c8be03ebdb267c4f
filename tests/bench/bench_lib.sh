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

# bench_private_libs DIR PROGRAM...: the programs' shared libraries, but libc
# and the loader (which every process of an AP maps), copied into DIR, for a
# measured process to run with LD_LIBRARY_PATH=DIR. On this shared host other
# programs map the same files (other daemons under test, the broker, the
# benches' own clients), and PSS would split those pages among them; on an AP
# nothing else maps libmicrohttpd, GnuTLS or, with the link, libmosquitto and
# OpenSSL: with private copies its PSS counts them whole, as there.
bench_private_libs() {
  local d=$1; shift
  mkdir -p "$d"
  for b; do [ -x "$b" ] && ldd "$b"; done |
    awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | grep -v -e '/libc\.so' -e '/ld-linux' |
    while read -r l; do cp "$l" "$d/"; done
}

# bench_smaps PID: where a process's PSS goes, from /proc/PID/smaps, as the
# rows of a markdown table, in KiB: per file mapped (the program, each
# library), its pages written (copied on write: relocations, .data/.bss)
# apart from its file pages (code, read-only data; PSS: shared ones split),
# and per kind of anonymous memory (heap, stack, other anonymous: thread
# stacks, malloc arenas, mmapped buffers).
bench_smaps() {
  python3 - "$1" <<'PY'
import os, re, sys
pid = sys.argv[1]
rows, cur = {}, None
head = re.compile(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$")
for line in open("/proc/%s/smaps" % pid):
    m = head.match(line)
    if m:
        perms, name = m.group(1), m.group(2).strip()
        if name.startswith("/"):
            name = os.path.basename(name)
        elif name == "":
            name = "anonymous (arenas, thread stacks, mmaps)"
        cur = rows.setdefault(name, {"Pss": 0, "Anonymous": 0})
        continue
    k, _, v = line.partition(":")
    if cur is not None and k in cur:
        cur[k] += int(v.split()[0])
total = sum(r["Pss"] for r in rows.values())
print("| mapping | PSS | written (anonymous: relocations, .data/.bss, heap, stacks) | file pages (code, read-only data) |")
print("|---|---|---|---|")
for name, r in sorted(rows.items(), key=lambda x: -x[1]["Pss"]):
    if r["Pss"] == 0:
        continue
    print("| %s | %d | %d | %d |" % (name, r["Pss"], r["Anonymous"], r["Pss"] - r["Anonymous"]))
anon = sum(r["Anonymous"] for r in rows.values())
print("| **total** | **%d** | **%d** | **%d** |" % (total, anon, total - anon))
PY
}
