# Sourced by the host side of the VM scripts that boot the APU image with a
# persistent data disk (/dev/vdb, the chuted root): tests/vm/powercut.sh,
# tests/vm/bench_restore.sh. Needs TOP.

# vm_busybox_rootfs DIR: a busybox rootfs to make the scripts' image from
vm_busybox_rootfs() {
  mkdir -p "$1"/{bin,etc,proc,sys,dev,tmp,root}
  cp /bin/busybox "$1/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
}

# vm_data_disk SEED FILE: FILE, a fresh 256 MB ext4 holding SEED's tree
vm_data_disk() {
  rm -f "$2"
  truncate -s 256M "$2"
  mke2fs -q -t ext4 -d "$1" "$2"
}

# vm_qemu_cmd DATA CMDLINE: VM_QEMU, the qemu command line of the APU image
# (the accelerator tests/vm/run.sh found to work, else TCG) with DATA as its
# second disk and CMDLINE added to the kernel's
vm_qemu_cmd() {
  local out=$TOP/build/vm accel="-accel tcg,thread=multi -cpu max" cache bios=()
  cache=$out/accel.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
  [ -f "$cache" ] && accel=$(cat "$cache")
  [ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
  # shellcheck disable=SC2206  # the accelerator's words
  VM_QEMU=(qemu-system-x86_64 -M pc "${bios[@]}" $accel -m 256 -smp 2
    -kernel "$out/vmlinux" -initrd "$out/initramfs.cpio"
    -drive "file=$out/root.ext4,format=raw,if=virtio,snapshot=on"
    -drive "file=$1,format=raw,if=virtio"
    -append "console=ttyS0 panic=-1 quiet loglevel=1 cgroup_no_v1=all $2"
    -display none -monitor none -serial stdio -nic none -no-reboot)
  VM_ACCEL=$accel
}
