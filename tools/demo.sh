#!/usr/bin/env bash
# make demo: a demo chute from an image built locally (no network): a busybox
# rootfs → tools/mkimage → chuted load → chuted run -d with a web page.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
D=$(mktemp -d /tmp/chuted-demo.XXXXXX)
export CHUTED_ROOT=$D/root CHUTED_RUN_ROOT=$D/run CHUTED_CGROUP_PARENT=chuted-demo CHUTED_NET_ROOT=$D/netroot
# the bridge and its nftables table outlive the last chute: prune them too
cleanup() {
  "$B/chuted" rm -f demo >/dev/null 2>&1 || true
  "$B/chuted" network prune >/dev/null 2>&1 || true
  rm -rf "$D"; rmdir /sys/fs/cgroup/*/chuted-demo 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$D/rootfs"/{bin,etc,proc,sys,dev,tmp,var/www}
cp /bin/busybox "$D/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$D/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$D/rootfs/etc/passwd"
echo '<h1>hello from a chute</h1>' > "$D/rootfs/var/www/index.html"

echo "== building the demo image (tools/mkimage)"
"$TOP/tools/mkimage" "$D/rootfs" --cmd '/bin/httpd -f -p 8080 -h /var/www' --tag demo:1 -o "$D/demo.tar"
echo "== chuted load oci-archive:$D/demo.tar"
"$B/chuted" load "oci-archive:$D/demo.tar"
"$B/chuted" images
echo "== chuted run -d --name demo --memory 32M --cpu-shares 512 --pids 64 -p 18080:8080 demo:1"
"$B/chuted" run -d --name demo --memory 32M --cpu-shares 512 --pids 64 -p 18080:8080 demo:1
"$B/chuted" ps
echo "== the chute answers on its own address:"
addr=$("$B/chuted" inspect demo | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["network"]["address"].split("/")[0])')
for i in $(seq 50); do out=$(timeout 2 busybox wget -q -O - "http://$addr:8080/" 2>/dev/null) && break; sleep 0.1; done
echo "   $out"
echo "== chuted exec demo -- ps"
"$B/chuted" exec demo -- ps
echo "== chuted stop demo; chuted rm demo"
"$B/chuted" stop -t 2 demo
"$B/chuted" rm demo
echo "demo done"
