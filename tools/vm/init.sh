#!/bin/busybox sh
# /init of the small boot initramfs: load virtio-blk + ext4, mount the root
# disk (build/vm/root.ext4, attached with snapshot=on so runs never change it)
# and switch_root to it. A root on a real filesystem, not the initramfs,
# is what lets pivot_root (chute rootfs setup) work, and keeps the 256 MB of
# RAM for the tests instead of an unpacked initramfs.
#   chuted.vm=probe   print the probe marker and power off (accelerator trial)
bb=/bin/busybox
M='@@CHVM@@'
$bb mount -t proc proc /proc
case " $($bb cat /proc/cmdline) " in *" chuted.vm=probe "*) echo "$M PROBE-OK"; $bb poweroff -f ;; esac
$bb mount -t devtmpfs dev /dev
while read -r ko; do $bb insmod "/modules/$ko" 2>/dev/null; done < /modules/order
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do $bb usleep 50000; n=$((n + 1)); done
$bb mkdir -p /newroot
if ! $bb mount -t ext4 /dev/vda /newroot; then
  echo "$M FATAL cannot mount the root disk /dev/vda"; $bb poweroff -f
fi
$bb umount /dev
$bb umount /proc
exec $bb switch_root /newroot /sbin/chuted-vm-init
echo "$M FATAL switch_root failed"
$bb poweroff -f
