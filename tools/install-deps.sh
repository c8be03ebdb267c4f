#!/bin/sh
# Installs what chuted builds and tests with (and, with --bench / --fuzz,
# what the benchmarks and fuzzers need), from Debian 12's archive only.
# Fast when everything is already there (no apt-get update).
set -e
PKGS="
build-essential pkg-config
libseccomp-dev libcap-dev libarchive-dev libyaml-dev libjansson-dev
libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libmnl-dev libnftnl-dev zlib1g-dev
libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libmosquitto-dev libmbedtls-dev libcmocka-dev
nettle-dev liblzma-dev libzstd-dev libbz2-dev
busybox-static iproute2 nftables procps psmisc util-linux time curl openssl bsdutils
crun runc podman umoci skopeo docker-registry mosquitto
qemu-system-x86 kmod cpio xz-utils hostapd wpasupplicant iw dnsmasq-base wireless-regdb jq e2fsprogs python3
apache2-utils python3-cryptography python3-yaml
clang libclang-rt-14-dev
"
# benchmarks: peers and measuring tools (clang's libFuzzer is in the default
# set: make check runs a fuzz smoke pass; --fuzz is kept for make fuzz)
case "${1:-}" in
  --bench) PKGS="$PKGS hyperfine iperf3 podman gnuplot-nox" ;;
  --fuzz) ;;
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
# docker-registry and mosquitto come with system services: the tests run their
# own instances on 127.0.0.1, so the packaged ones must not start now, nor at
# boot when this run is what installed them. A service already there (the
# user's, or one an earlier run installed) is left as it is.
# shellcheck disable=SC2086  # one word per package
"$(dirname "$0")/hold-services.sh" apt-get install -y -qq --no-install-recommends $missing >/dev/null
for s in docker-registry mosquitto; do
  case " $missing " in *" $s "*) ;; *) continue ;; esac
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --quiet "$s.service" 2>/dev/null && continue
  elif update-rc.d "$s" disable >/dev/null 2>&1; then
    continue
  fi
  echo "install-deps: could not disable $s's service: it will start at boot" >&2
done
