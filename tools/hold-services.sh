#!/bin/sh
# hold-services.sh CMD [ARG...]: run CMD (an apt-get install) with Debian's
# packaged services kept from starting. Maintainer scripts start a service
# through invoke-rc.d (sysvinit) or deb-systemd-invoke (systemd); both first
# run $DPKG_ROOT/usr/sbin/policy-rc.d and do nothing when it exits 101. That
# file is ours only for CMD's run: an existing one is put back afterwards,
# also when CMD fails or we are interrupted. Exits with CMD's status.
set -eu
policy=${DPKG_ROOT:-}/usr/sbin/policy-rc.d
saved=$policy.chuted-saved
if [ -e "$saved" ] || [ -L "$saved" ]; then
  echo "hold-services: $saved exists (an interrupted run?): put it back as $policy first" >&2
  exit 1
fi
mkdir -p "${policy%/*}"
# shellcheck disable=SC2317  # run by the EXIT trap
restore() {
  rm -f "$policy" "$policy.tmp"
  if [ -e "$saved" ] || [ -L "$saved" ]; then mv "$saved" "$policy"; fi
}
if [ -e "$policy" ] || [ -L "$policy" ]; then mv "$policy" "$saved"; fi
trap restore EXIT
trap 'exit 130' INT TERM HUP
printf '#!/bin/sh\n# tools/hold-services.sh (chuted): no service starts during this install\nexit 101\n' > "$policy.tmp"
chmod 755 "$policy.tmp"
mv "$policy.tmp" "$policy"
rc=0
"$@" || rc=$?
exit "$rc"
