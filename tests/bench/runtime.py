#!/usr/bin/env python3
"""chuted oci run vs crun run vs runc run, same busybox bundle, /bin/true.

Runs interleaved, in a shuffled order each round, so drift hits all alike.
For each run (through tests/bench/spawn.c, a small static launcher): wall
time around fork..wait, CPU (user+sys of the runtime process and everything
it waited for) and the runtime process's own peak RSS (wait4's ru_maxrss). Prints a Markdown table with medians and
ratios to crun. Must run as root inside a mount namespace where the hybrid
cgroup2 mount is gone (crun refuses the hybrid layout): run.sh does that.
"""
import json, os, random, shutil, statistics, subprocess, sys, tempfile, time

N = int(os.environ.get("BENCH_RUNS", "200"))
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

spawn = os.path.join(work, "spawn")
subprocess.run(["cc", "-O2", "-static", "-o", spawn, os.path.join(top, "tests/bench/spawn.c")], check=True)

def one(argv):
    out = subprocess.run([spawn] + argv, capture_output=True, text=True, check=True).stdout.split()
    wall_ns, cpu_us, rss_kb, code = (int(x) for x in out)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed: exit {code}")
    return wall_ns / 1e9, cpu_us / 1e6, rss_kb

res = {rt: [] for rt in ("chuted", "crun", "runc")}
for rt in res:  # warm-up: page cache, first cgroup creation
    one(cmd(rt, "warm"))
rng = random.Random(1)
for i in range(N):
    # a new order each round: the first cgroup.procs write after an idle
    # spell waits for an RCU grace period, so whoever runs first would pay more
    order = list(res)
    rng.shuffle(order)
    for rt in order:
        res[rt].append(one(cmd(rt, i)))
shutil.rmtree(work, ignore_errors=True)
for h in os.listdir("/sys/fs/cgroup"):  # the (empty) parent the chuted runs used
    try:
        os.rmdir(os.path.join("/sys/fs/cgroup", h, "chuted-test-bench"))
    except OSError:
        pass

med = {rt: [statistics.median(x[k] for x in v) for k in range(3)] for rt, v in res.items()}
print(f"| runtime | median wall (ms) | median CPU (ms) | peak RSS (KiB) | wall / crun | RSS / crun |")
print(f"|---|---|---|---|---|---|")
for rt, (w, c, r) in med.items():
    print(f"| {rt} | {w*1000:.2f} | {c*1000:.2f} | {r:.0f} | {w/med['crun'][0]:.2f} | {r/med['crun'][2]:.2f} |")
print(f"\n{N} runs each, interleaved; /bin/true in a busybox bundle (runc's default spec).")
