#!/usr/bin/env bash
# Builds the QEMU "APU" image under build/vm/ from Debian packages only:
#   build/vm/vmlinux          uncompressed Debian 6.1 kernel (PVH entry, boots with qboot)
#   build/vm/initramfs.cpio   small boot initramfs: busybox + virtio-blk/ext4 modules, mounts
#                             the root disk and switch_roots to it
#   build/vm/root.ext4        the root disk: busybox + bash + iproute2/nft + hostapd/
#                             wpa_supplicant/iw/dnsmasq + their libraries + the kernel modules
#                             + build/chuted* + the test suites (made by mke2fs -d, no mount)
# The kernel .deb is fetched with `apt-get download` into build/vm/debs/ (kept as a cache)
# and unpacked with `dpkg -x`; it is never installed on this host.
# Rebuilds only when an input changed (hash of every input in build/vm/inputs.sha256).
#
# Environment: CHUTED_BIN (dir with chuted, chuted-monitor, chuted-image; default build/),
#   CHUTED_VM_ALLOW_MISSING=1 builds without the chuted programs (their tests then SKIP),
#   CHUTED_VM_EXTRA="FILE..." copies more host programs (with their libraries) into
#   /chuted/extra/ (for trying a tool inside the VM while developing).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tools/vm
OUT=$TOP/build/vm
BIN=${CHUTED_BIN:-$TOP/build}
REQUIRED="chuted chuted-monitor"

die() { echo "tools/vm/build-image: $*" >&2; exit 1; }
log() { echo "tools/vm/build-image: $*" >&2; }

mkdir -p "$OUT/debs"

# --- the kernel package -----------------------------------------------------
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1 || :
}

kernel_deb() {
  local deb pkg
  deb=$(ls "$OUT"/debs/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || :)
  if [ -n "$deb" ]; then echo "$deb"; return; fi
  pkg=$(kernel_pkg)
  if [ -z "$pkg" ]; then
    log "no linux-image-6.1.0-*-amd64 known to apt: running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    pkg=$(kernel_pkg)
  fi
  [ -n "$pkg" ] || die "linux-image-amd64 does not depend on a linux-image-6.1.0-*-amd64 package (is this Debian 12?)"
  log "fetching $pkg"
  (cd "$OUT/debs" && apt-get download -q "$pkg" >&2 2>/dev/null) || die "apt-get download $pkg failed"
  deb=$(ls "$OUT"/debs/"$pkg"_*.deb 2>/dev/null | sort -V | tail -1 || :)
  [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $OUT/debs"
  echo "$deb"
}

# --- inputs and the rebuild decision ----------------------------------------
host_path() { # program -> "found-path:resolved-path", empty if absent
  local p
  p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$1" 2>/dev/null) || return 0
  echo "$p:$(readlink -f "$p")"
}

progs=()
dirs=()
missing=()
while read -r name pkg; do
  case "$name" in '' | '#'*) continue ;; esac
  if [ "${name#+}" != "$name" ]; then # a directory copied whole
    [ -d "${name#+}" ] || missing+=("${name#+} (Debian package $pkg)")
    dirs+=("${name#+}")
    continue
  fi
  opt=0
  if [ "${name#\?}" != "$name" ]; then opt=1; name=${name#\?}; fi
  p=$(host_path "$name")
  if [ -z "$p" ]; then
    [ $opt = 1 ] || missing+=("$name (Debian package $pkg)")
    continue
  fi
  progs+=("$name:$p")
done < "$HERE/binaries.list"
[ ${#missing[@]} -eq 0 ] || die "missing host programs: ${missing[*]} — run tools/install-deps.sh"
[ -f /lib/firmware/regulatory.db ] || die "missing /lib/firmware/regulatory.db (Debian package wireless-regdb)"
for t in depmod modprobe cpio dpkg xz ldd; do
  PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null || die "missing host tool $t"
done

# Every program `make all` left in build/ (chuted, chuted-monitor, chuted-runtime,
# chuted-image, ...): chuted finds its siblings next to itself.
chuted_progs=()
for p in "$BIN"/chuted*; do
  [ -f "$p" ] && [ -x "$p" ] && chuted_progs+=("$p")
done
for p in $REQUIRED; do
  [ -x "$BIN/$p" ] && continue
  if [ "${CHUTED_VM_ALLOW_MISSING:-0}" = 1 ]; then
    log "warning: $BIN/$p missing, image built without it"
  else
    die "$BIN/$p missing: run \`make all\` first"
  fi
done

DEB=$(kernel_deb)

test_files() { # relative to TOP
  { find tests -maxdepth 1 -type f
    echo tools/mkimage
    find tests/integration tests/vm tests/fixtures -type f 2>/dev/null || :; } | LC_ALL=C sort
}

inputs_hash() {
  {
    echo "deb $(basename "$DEB")"
    (cd "$TOP" && sha256sum tools/vm/* $(test_files))
    for p in "${chuted_progs[@]}" ${CHUTED_VM_EXTRA:-}; do sha256sum "$p"; done
    for e in "${progs[@]}"; do sha256sum "${e##*:}"; done
    for d in "${dirs[@]}"; do find "$d" -type f -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum; done
    sha256sum /lib/firmware/regulatory.db
  } | sha256sum | cut -d' ' -f1
}
HASH=$(inputs_hash)
if [ -f "$OUT/inputs.sha256" ] && [ "$(cat "$OUT/inputs.sha256")" = "$HASH" ] \
  && [ -f "$OUT/vmlinux" ] && [ -f "$OUT/initramfs.cpio" ] && [ -f "$OUT/root.ext4" ]; then
  log "image up to date ($OUT/root.ext4)"
  exit 0
fi
rm -f "$OUT/inputs.sha256"

# --- kernel: unpack, extract the uncompressed image, index the modules ------
KDIR=$OUT/kernel
KVER=$(basename "$DEB" | sed 's/^linux-image-\(6\.1\.0-[0-9]*-amd64\)_.*/\1/')
if [ ! -f "$KDIR/.unpacked-$(basename "$DEB")" ]; then
  log "unpacking $(basename "$DEB")"
  rm -rf "$KDIR"
  mkdir -p "$KDIR"
  dpkg -x "$DEB" "$KDIR"
  depmod -b "$KDIR" "$KVER"
  touch "$KDIR/.unpacked-$(basename "$DEB")"
fi
VMLINUZ=$KDIR/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "$VMLINUZ not in $(basename "$DEB")"
# qboot enters the uncompressed kernel through PVH: it is the xz payload of bzImage.
off=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1 || :)
[ -n "$off" ] || die "no xz payload in $VMLINUZ"
# xz stops after the one stream: tail's SIGPIPE is expected.
{ tail -c +$((off + 1)) "$VMLINUZ" || :; } | xz -dc --single-stream > "$OUT/vmlinux.tmp" \
  || die "cannot decompress the kernel in $VMLINUZ"
mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"

# --- the root tree ----------------------------------------------------------
R=$OUT/root
rm -rf "$R"
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/{dev,proc,sys,run,tmp,root,mnt,etc,var/lib,var/tmp}
# usr-merged like the host, so host paths (and ldd's) are valid inside.
ln -s usr/bin "$R/bin"
ln -s usr/sbin "$R/sbin"
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64"
ln -s ../run "$R/var/run"
chmod 1777 "$R/tmp"

copy_libs() { # binary
  local libs lib
  libs=$(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || :) # a static program has none
  for lib in $libs; do
    [ -e "$R$lib" ] && continue
    mkdir -p "$(dirname "$R$lib")"
    cp -L "$lib" "$R$lib"
  done
}

for e in "${progs[@]}"; do # name:found:resolved
  found=${e#*:}
  found=${found%%:*}
  p=${e##*:}
  mkdir -p "$(dirname "$R$p")"
  cp -L "$p" "$R$p"
  copy_libs "$p"
  # the path the host finds it under (e.g. /usr/sbin/ip -> /bin/ip) works inside too
  [ -e "$R$found" ] || ln -s "$p" "$R$found"
done
for d in "${dirs[@]}"; do
  mkdir -p "$R$d"
  # tests, GUI and packaging parts of a tree are not needed to run
  tar -C "$d" --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter --exclude=turtledemo \
    --exclude=ensurepip --exclude=lib2to3 --exclude=dist-packages --exclude=site-packages -cf - . | tar -C "$R$d" -xf -
  find "$R$d" -name '*.so' | while read -r so; do copy_libs "$so"; done
done
ln -sf dash "$R/usr/bin/sh"
for t in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf /usr/bin/kmod "$R/usr/sbin/$t"; done
# busybox applets fill every name no real program took.
for a in $("$R/usr/bin/busybox" --list); do
  [ -e "$R/usr/bin/$a" ] || [ -e "$R/usr/sbin/$a" ] || [ -L "$R/usr/sbin/$a" ] || ln -s busybox "$R/usr/bin/$a"
done

# --- modules: closure of modules.list, then depmod inside the tree ---------
mods=()
while read -r m; do
  case "$m" in '' | '#'*) continue ;; esac
  if [ "${m%/}" != "$m" ]; then
    for f in "$KDIR/lib/modules/$KVER/$m"*.ko; do mods+=("$(basename "$f" .ko)"); done
  else
    mods+=("$m")
  fi
done < "$HERE/modules.list"
: > "$OUT/modules.closure"
for m in "${mods[@]}"; do
  deps=$(modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" 2>/dev/null) || die "module $m not found in $KVER"
  echo "$deps" | awk '$1 == "insmod" {print $2}' >> "$OUT/modules.closure"
done
sort -u -o "$OUT/modules.closure" "$OUT/modules.closure"
while read -r ko; do
  rel=${ko#"$KDIR"/}
  mkdir -p "$(dirname "$R/$rel")"
  cp "$ko" "$R/$rel"
done < "$OUT/modules.closure"
cp "$KDIR/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"
mkdir -p "$R/lib/firmware"
cp /lib/firmware/regulatory.db "$R/lib/firmware/"
[ -f /lib/firmware/regulatory.db.p7s ] && cp /lib/firmware/regulatory.db.p7s "$R/lib/firmware/"

# --- configuration ----------------------------------------------------------
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
echo apu > "$R/etc/hostname"
: > "$R/etc/resolv.conf"

# --- chuted and the test suites ---------------------------------------------
# Same layout as the source tree so tests/lib.sh finds build/ next to tests/.
mkdir -p "$R/chuted/build" "$R/chuted/tools/vm"
for p in "${chuted_progs[@]}"; do
  cp "$p" "$R/chuted/build/"
  copy_libs "$p"
done
mkdir -p "$R/chuted/extra"
for p in ${CHUTED_VM_EXTRA:-}; do
  cp "$p" "$R/chuted/extra/"
  copy_libs "$p"
done
(cd "$TOP" && test_files | while read -r f; do
  mkdir -p "$R/chuted/$(dirname "$f")"
  cp -p "$f" "$R/chuted/$f"
done)
cp "$HERE/vm-init.sh" "$R/usr/sbin/chuted-vm-init"
cp "$HERE/run-suite.sh" "$HERE/integration.list" "$R/chuted/tools/vm/"
chmod 755 "$R/usr/sbin/chuted-vm-init" "$R/chuted/tools/vm/run-suite.sh"

# --- the root disk: room for the tests' files on top of the tree -----------
size=$(( $(du -sm "$R" | cut -f1) + 256 ))
rm -f "$OUT/root.ext4.tmp"
truncate -s "${size}M" "$OUT/root.ext4.tmp"
mke2fs -q -t ext4 -L chuted-vm -E root_owner=0:0 -d "$R" "$OUT/root.ext4.tmp" "${size}M" \
  || die "mke2fs -d failed"
mv "$OUT/root.ext4.tmp" "$OUT/root.ext4"

# --- the boot initramfs: plain newc (not gzipped) boots fastest under TCG ---
B=$OUT/boot
rm -rf "$B"
mkdir -p "$B"/{bin,dev,proc,newroot,modules}
cp "$R/usr/bin/busybox" "$B/bin/busybox"
for m in virtio_pci virtio_blk ext4; do
  modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$B/modules/"
  basename "$ko" >> "$B/modules/order"
done
cp "$HERE/init.sh" "$B/init"
chmod 755 "$B/init"
(cd "$B" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
echo "$KVER" > "$OUT/kernel.version"
echo "$HASH" > "$OUT/inputs.sha256"
log "built $OUT/root.ext4 (${size} MB, $(du -sm "$R" | cut -f1) MB used) and $OUT/initramfs.cpio ($(du -k "$OUT/initramfs.cpio" | cut -f1) kB), kernel $KVER"
