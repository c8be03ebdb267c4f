#!/bin/sh
# Installs what chuted builds and tests with (and, with --bench / --fuzz /
# --conformance, what the benchmarks, fuzzers and conformance suite need), from Debian 12's archive only.
# Fast when everything is already there (no apt-get update).
set -e
PKGS="
build-essential pkg-config
libseccomp-dev libcap-dev libarchive-dev libyaml-dev libjansson-dev
libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libmnl-dev libnftnl-dev zlib1g-dev
libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libmosquitto-dev libcmocka-dev
nettle-dev liblzma-dev libzstd-dev libbz2-dev
busybox-static iproute2 nftables procps psmisc util-linux time curl openssl bsdutils
crun runc umoci skopeo docker-registry mosquitto
qemu-system-x86 kmod cpio xz-utils hostapd wpasupplicant iw dnsmasq-base wireless-regdb jq e2fsprogs python3
apache2-utils python3-cryptography
"
# benchmarks: peers and measuring tools; fuzzing: clang's libFuzzer;
# conformance: Go for the runtime-tools validation suite (Debian's
# golang-github-opencontainers-runtime-tools-dev lacks its validation/ tree)
case "${1:-}" in
  --conformance) PKGS="$PKGS golang-go git" ;;
  --bench) PKGS="$PKGS hyperfine iperf3 podman gnuplot-nox" ;;
  --fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
esac
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing (run as root)" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker-registry and mosquitto start system services on install: the tests
# run their own instances on 127.0.0.1, so stop the packaged ones.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
for s in docker-registry mosquitto; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$s" >/dev/null 2>&1 || true; fi
  pkill -x "$s" 2>/dev/null || true
  pkill -f "/usr/bin/$s" 2>/dev/null || true
done
