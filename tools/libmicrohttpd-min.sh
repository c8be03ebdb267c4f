#!/usr/bin/env bash
# A static libmicrohttpd for the daemon (chuted-daemon, chuted-daemon-cloud):
# Debian's own libmicrohttpd source package (the version of the installed
# libmicrohttpd-dev, with Debian's patches), built without HTTPS, with
# -ffunction-sections. The REST API's optional TLS is the daemon's own, on
# mbedTLS (mgmt/tls.h, mgmt/daemon_tls.c): libmicrohttpd serves the
# cleartext end of each TLS connection.
#
# Why: Debian's libmicrohttpd is built with GnuTLS, which, there whether a
# TLS API is served or not, cost the daemon ~1.1 MB PSS (its pages, p11-kit,
# libunistring, libffi: docs/BENCHMARKS.md, "Cloud link").
#
#   tools/libmicrohttpd-min.sh build DIR   DIR/libmicrohttpd.a, fetching the source first if
#                                          needed; exit 1 if impossible
#
# The Makefile links Debian's libmicrohttpd (and GnuTLS) instead when
# `build` fails (an offline machine without the source), and says so.
set -eu
. "$(dirname "$0")/debsrc.sh"
debsrc_target libmicrohttpd-min.sh libmicrohttpd.a "${1:-}" "${2:-}"

[ -f "$dir/src/configure" ] || debsrc_unpack "$dir" libmicrohttpd libmicrohttpd-dev || exit 1
cd "$dir/src"
./configure --quiet --disable-shared --enable-static --disable-https --without-gnutls --disable-curl \
  --disable-doc --disable-examples --disable-tools --disable-nls --disable-dauth --disable-httpupgrade \
  CFLAGS="-O2 -g -ffunction-sections -fdata-sections" >"$dir/build.log" 2>&1 &&
  make -C src/microhttpd -j"$(nproc)" >>"$dir/build.log" 2>&1 ||
  { echo "libmicrohttpd-min: build failed, see $dir/build.log: $(tail -1 "$dir/build.log")" >&2; exit 1; }
cp src/microhttpd/.libs/libmicrohttpd.a "$dir/libmicrohttpd.a.tmp" &&
  mv "$dir/libmicrohttpd.a.tmp" "$dir/libmicrohttpd.a"
