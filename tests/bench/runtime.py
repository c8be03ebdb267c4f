#!/usr/bin/env python3
"""chuted oci run vs crun run vs runc run, same busybox bundle, /bin/true.

Runs interleaved (chuted, crun, runc, chuted, ...) so drift hits all alike.
For each run: wall time (perf_counter around fork..wait), CPU (user+sys of
the runtime process and everything it waited for) and the runtime process's
own peak RSS (wait4's ru_maxrss). Prints a Markdown table with medians and
ratios to crun. Must run as root inside a mount namespace where the hybrid
cgroup2 mount is gone (crun refuses the hybrid layout): run.sh does that.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

N = int(os.environ.get("BENCH_RUNS", "40"))
top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
chuted = os.path.join(os.environ.get("CHUTED_BIN", os.path.join(top, "build")), "chuted")

work = tempfile.mkdtemp(prefix="chuted-test-bench-")
bundle = os.path.join(work, "bundle")
rootfs = os.path.join(bundle, "rootfs")
os.makedirs(os.path.join(rootfs, "bin"))
for d in ("proc", "sys", "dev", "tmp", "etc"):
    os.makedirs(os.path.join(rootfs, d))
shutil.copy("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
os.symlink("busybox", os.path.join(rootfs, "bin/true"))
os.symlink("busybox", os.path.join(rootfs, "bin/sh"))
subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
cfg = json.load(open(os.path.join(bundle, "config.json")))
cfg["process"]["terminal"] = False
cfg["process"]["args"] = ["/bin/true"]
cfg["root"]["readonly"] = False
json.dump(cfg, open(os.path.join(bundle, "config.json"), "w"), indent=2)

def cmd(rt, i):
    cid = f"bench-{rt}-{i}"
    if rt == "chuted":
        return [chuted, "--run-root", os.path.join(work, "chuted-state"), "--cgroup-parent", "chuted-test-bench",
                "oci", "run", "--bundle", bundle, cid]
    return [rt, "--root", os.path.join(work, rt + "-state"), "run", "--bundle", bundle, cid]

def one(argv):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        os.dup2(fd, 0); os.dup2(fd, 1)
        try:
            os.execv(argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0]), argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss

res = {rt: [] for rt in ("chuted", "crun", "runc")}
for rt in res:  # warm-up: page cache, first cgroup creation
    one(cmd(rt, "warm"))
for i in range(N):
    for rt in res:
        res[rt].append(one(cmd(rt, i)))
shutil.rmtree(work, ignore_errors=True)

med = {rt: [statistics.median(x[k] for x in v) for k in range(3)] for rt, v in res.items()}
print(f"| runtime | median wall (ms) | median CPU (ms) | peak RSS (KiB) | wall / crun | RSS / crun |")
print(f"|---|---|---|---|---|---|")
for rt, (w, c, r) in med.items():
    print(f"| {rt} | {w*1000:.2f} | {c*1000:.2f} | {r:.0f} | {w/med['crun'][0]:.2f} | {r/med['crun'][2]:.2f} |")
print(f"\n{N} runs each, interleaved; /bin/true in a busybox bundle (runc's default spec).")
