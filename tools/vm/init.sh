#!/bin/busybox sh
# /init of the VM image. Stage 1 copies the initramfs into a tmpfs and
# switch_roots into it: pivot_root (which chute rootfs setup uses) refuses to
# run while / is the initramfs rootfs. Stage 2 mounts the system (cgroup v2
# only), then runs the test suite and powers off. Kernel command line:
#   chuted.vm=probe   print the probe marker and power off (accelerator trial)
#   chuted.tests=GLOB run only tests whose label (NN_x for tests/vm, integration/NN_x) matches
export PATH=/usr/sbin:/usr/bin
M='@@CHVM@@'
bb=/usr/bin/busybox

if [ ! -e /.stage2 ]; then
  $bb mount -t proc proc /proc
  case " $(cat /proc/cmdline) " in *" chuted.vm=probe "*) echo "$M PROBE-OK"; $bb poweroff -f ;; esac
  $bb mount -t tmpfs -o mode=755 root /newroot
  for e in /*; do
    case "$e" in /proc|/sys|/dev|/newroot) continue ;; esac
    $bb cp -a "$e" /newroot/
  done
  $bb mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/newroot
  : > /newroot/.stage2
  $bb umount /proc
  exec $bb switch_root /newroot /init
  echo "$M FATAL switch_root failed"; $bb poweroff -f
fi

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
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# The whole tree gets every controller, as a systemd host delegates them.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
echo /usr/sbin/modprobe > /proc/sys/kernel/modprobe
$bb hostname apu
/usr/sbin/ip link set lo up
# Loaded up front: devices and link types some tools expect without asking.
/usr/sbin/modprobe -a loop veth bridge overlay 2>/dev/null

tests=$(sed -n 's/.*chuted\.tests=\([^ ]*\).*/\1/p' /proc/cmdline)
cd /chuted
HOME=/root TERM=dumb CHUTED_BIN=/chuted/build /usr/bin/bash /chuted/tools/vm/run-suite.sh "${tests:-*}"
echo "$M EXIT rc=$?"
$bb sync
$bb poweroff -f
