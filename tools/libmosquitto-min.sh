#!/usr/bin/env bash
# A static libmosquitto for the cloud link (chuted-daemon-cloud, chuted-cloud):
# Debian's own mosquitto source package (the version of the installed
# libmosquitto-dev, with Debian's patches), its client library alone, built
# with -ffunction-sections, without threads (the link drives it from the
# daemon's loop), TLS, SOCKS or SRV, with unix sockets: it speaks cleartext
# MQTT to a unix socket of the link's, which relays it to the broker over
# TLS with mbedTLS (mgmt/cloud_conn.c, mgmt/tls.h).
#
# Why: libmosquitto's only TLS is OpenSSL, ~3.7 MB PSS of the 7.7 MB the
# daemon with the link up had (docs/BENCHMARKS.md, "Cloud link"); and
# Debian ships libmosquitto only shared, with OpenSSL.
#
#   tools/libmosquitto-min.sh build DIR   DIR/libmosquitto.a, fetching the source first if
#                                         needed; exit 1 if impossible
#
# The Makefile links Debian's shared libmosquitto instead when `build` fails
# (an offline machine without the source), and says so: it connects to unix
# sockets too, the link works the same.
set -eu
. "$(dirname "$0")/debsrc.sh"
debsrc_target libmosquitto-min.sh libmosquitto.a "${1:-}" "${2:-}"

[ -f "$dir/src/lib/Makefile" ] || debsrc_unpack "$dir" mosquitto libmosquitto-dev || exit 1
# objects of another configuration (a tree copied from elsewhere) out first
make -C "$dir/src/lib" clean >"$dir/build.log" 2>&1 || true
make -C "$dir/src/lib" -j"$(nproc)" libmosquitto.a WITH_STATIC_LIBRARIES=yes WITH_SHARED_LIBRARIES=no \
  WITH_THREADING=no WITH_TLS=no WITH_UNIX_SOCKETS=yes WITH_SOCKS=no WITH_TLS_PSK=no WITH_SRV=no WITH_CJSON=no WITH_DOCS=no \
  CFLAGS="-O2 -g -ffunction-sections -fdata-sections" >>"$dir/build.log" 2>&1 ||
  { echo "libmosquitto-min: build failed, see $dir/build.log: $(tail -1 "$dir/build.log")" >&2; exit 1; }
cp "$dir/src/lib/libmosquitto.a" "$dir/libmosquitto.a.tmp" && mv "$dir/libmosquitto.a.tmp" "$dir/libmosquitto.a"
