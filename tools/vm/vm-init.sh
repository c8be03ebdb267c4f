#!/bin/busybox sh
# PID 1 on the VM's root disk (/sbin/chuted-vm-init, started by the boot
# initramfs): mounts the system like a pure cgroup v2 host, then runs the test
# suite (/chuted/tools/vm/run-suite.sh) and powers off. Kernel command line:
#   chuted.tests=GLOB  run only tests whose label (NN_x for tests/vm, integration/NN_x) matches
#   chuted.verbose=1   every test's whole output on the console
#   chuted.test_timeout=S  per-test bound
#   chuted.powercut=1  tests/vm/powercut.sh's guest side instead of the suite
#   chuted.bench=restore  tests/vm/bench_restore.sh's guest side instead of the suite
export PATH=/usr/sbin:/usr/bin
M='@@CHVM@@'
bb=/usr/bin/busybox

$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
$bb mkdir -p /dev/pts /dev/shm
# bash process substitution needs /dev/fd
$bb ln -sf /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do $bb ln -sf /proc/self/fd/${i%%:*} /dev/${i#*:}; done
$bb mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
$bb mount -t tmpfs -o mode=1777 shm /dev/shm
$bb mount -t tmpfs -o mode=755 run /run
$bb mkdir -p /run/netns
$bb mount -t tmpfs -o mode=1777 tmp /tmp
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# The whole tree gets every controller, as a systemd host delegates them.
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
echo /usr/sbin/modprobe > /proc/sys/kernel/modprobe
$bb hostname apu
/usr/sbin/ip link set lo up
# Loaded up front: devices and link types some tools expect without asking.
/usr/sbin/modprobe -a loop veth bridge overlay 2>/dev/null

arg() { $bb sed -n "s/.*chuted\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
tests=$(arg tests)
cd /chuted
if [ -n "$(arg powercut)" ]; then
  # tests/vm/powercut.sh's boots: the host cuts the power, no suite runs
  HOME=/root TERM=dumb /usr/bin/bash /chuted/tests/vm/powercut.sh guest
elif [ "$(arg bench)" = restore ]; then
  HOME=/root TERM=dumb /usr/bin/bash /chuted/tests/vm/bench_restore.sh guest
else
HOME=/root TERM=dumb CHUTED_BIN=/chuted/build CHUTED_VM_VERBOSE=$(arg verbose) CHUTED_VM_TEST_TIMEOUT=$(arg test_timeout) \
  /usr/bin/bash /chuted/tools/vm/run-suite.sh "${tests:-*}"
fi
echo "$M EXIT rc=$?"
$bb sync
$bb poweroff -f
