# Sourced by tools/lib*-min.sh: Debian's source package of a library the
# programs link statically, in the version of its installed -dev package
# (with Debian's patches), fetched through an apt configuration of our own:
# the host's sources.list (binary packages only, usually) stays untouched.
#
#   debsrc_download DIR SRCPKG DEVPKG   DIR/apt/dl/SRCPKG_*.dsc and its files;
#                                       DIR/apt/log says why when it fails
debsrc_download() {
  local dir=$1 pkg=$2 dev=$3 apt=$1/apt ver
  command -v dpkg-source >/dev/null || { echo "$pkg: dpkg-source missing (dpkg-dev)" >&2; return 1; }
  rm -rf "$apt"
  mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
  : > "$apt/sources.list"
  cat > "$apt/sources/debian.sources" <<'X'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root -q)
  apt-get "${opts[@]}" update >"$apt/log" 2>&1 || { echo "$pkg: apt-get update (deb-src) failed: $(tail -1 "$apt/log")" >&2; return 1; }
  ver=$(dpkg-query -W -f='${Version}' "$dev" 2>/dev/null || true)
  (cd "$apt/dl" && { apt-get "${opts[@]}" source --download-only "$pkg${ver:+=$ver}" >>"$apt/log" 2>&1 ||
    apt-get "${opts[@]}" source --download-only "$pkg" >>"$apt/log" 2>&1; }) ||
    { echo "$pkg: apt-get source $pkg failed: $(tail -1 "$apt/log")" >&2; return 1; }
}

#   debsrc_unpack DIR SRCPKG DEVPKG     DIR/src: the source package unpacked with
#                                       Debian's patches (the download removed)
debsrc_unpack() {
  local dir=$1 pkg=$2
  rm -rf "$dir/src" "$dir/src.tmp"
  debsrc_download "$@" || return 1
  (cd "$dir/apt/dl" && dpkg-source -x "${pkg}"_*.dsc "$dir/src.tmp") >>"$dir/apt/log" 2>&1 ||
    { echo "$pkg: unpacking the source failed, see $dir/apt/log" >&2; return 1; }
  mv "$dir/src.tmp" "$dir/src"
  # dpkg-source leaves a copy of the upstream tarball beside src
  rm -rf "$dir/apt/dl" "$dir/apt/cache" "$dir/${pkg}"_*.orig.tar.*
}

#   debsrc_target SCRIPT LIB VERB DIR   a tools/lib*-min.sh's `build DIR`: a
#                                       usage error exits 2, DIR/LIB already
#                                       built exits 0, else DIR is made and
#                                       $dir set to its absolute path
debsrc_target() {
  local script=$1 lib=$2 verb=$3 target=$4
  [ "$verb" = build ] && [ -n "$target" ] || { echo "usage: $script build DIR" >&2; exit 2; }
  [ -f "$target/$lib" ] && exit 0
  mkdir -p "$target"
  dir=$(cd "$target" && pwd)
}
