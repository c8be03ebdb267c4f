#!/usr/bin/env bash
# A libcurl for chuted-image-pull: Debian's own curl source package (the
# version of the installed libcurl4-openssl-dev, with Debian's patches),
# built static with HTTP and HTTPS over OpenSSL and nothing else.
#
# Why: Debian's libcurl4 is built with every protocol (LDAP, RTMP, SSH, ...),
# GSSAPI, IDN, PSL, HTTP/2 and brotli, and loads ~40 shared libraries: a pull
# peaks at 15.6 MB RSS with it, 8.3 MB even with all of that linked
# statically, where the target is 8 MB. A registry pull needs none of it. An
# AP's firmware builds its libcurl the same way (OpenWrt's libcurl is
# configured per feature).
#
#   tools/libcurl-min.sh fetch DIR   download the source into DIR/src (needs the Debian archive)
#   tools/libcurl-min.sh build DIR   DIR/libcurl.a, fetching first if needed; exit 1 if impossible
#
# The Makefile links Debian's shared libcurl instead when `build` fails (an
# offline machine without the source), and says so.
set -eu
. "$(dirname "$0")/debsrc.sh"
verb=${1:?usage: libcurl-min.sh fetch|build DIR}
dir=${2:?usage: libcurl-min.sh fetch|build DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

fetch() {
  [ -f "$dir/src/configure" ] && return 0
  local apt=$dir/apt
  rm -rf "$dir/src"
  debsrc_download "$dir" curl libcurl4-openssl-dev || return 1
  # Debian's patches up to the ones that turn the tree into its gnutls and
  # nss flavours (the openssl flavour is built without them)
  (cd "$apt/dl" && dpkg-source -x --skip-patches curl_*.dsc "$dir/src.tmp") >>"$apt/log" 2>&1
  (cd "$dir/src.tmp" && while read -r p; do
    case "$p" in '' | '#'*) continue ;; 90_gnutls.patch) break ;; esac
    patch -p1 -s < "debian/patches/$p"
  done < debian/patches/series) >>"$apt/log" 2>&1 || { echo "libcurl-min: applying Debian's patches failed" >&2; return 1; }
  mv "$dir/src.tmp" "$dir/src"
  rm -rf "$apt/dl" "$apt/cache"
}

build() {
  [ -f "$dir/libcurl.a" ] && return 0
  fetch || return 1
  cd "$dir/src"
  ./configure --quiet --disable-shared --enable-static --with-openssl --enable-threaded-resolver \
    --without-libpsl --without-libidn2 --without-nghttp2 --without-brotli --without-zstd --without-librtmp \
    --without-libssh2 --without-libgsasl --without-gssapi --disable-ldap --disable-ldaps --disable-rtsp \
    --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
    --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-manual --disable-ntlm \
    --disable-ntlm-wb --disable-alt-svc --disable-cookies --disable-hsts --disable-websockets \
    --without-ca-bundle --with-ca-path=/etc/ssl/certs >"$dir/build.log" 2>&1 &&
    make -C lib -j"$(nproc)" >>"$dir/build.log" 2>&1 ||
    { echo "libcurl-min: build failed, see $dir/build.log: $(tail -1 "$dir/build.log")" >&2; return 1; }
  cp lib/.libs/libcurl.a "$dir/libcurl.a.tmp" && mv "$dir/libcurl.a.tmp" "$dir/libcurl.a"
}

case "$verb" in
  fetch) fetch ;;
  build) build ;;
  *) echo "usage: libcurl-min.sh fetch|build DIR" >&2; exit 2 ;;
esac
