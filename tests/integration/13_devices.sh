#!/usr/bin/env bash
# The device cgroup: a chute (CAP_MKNOD by default) cannot make and open the
# host's consoles, loop disks, fuse or tun; the usual /dev nodes work; a
# config.json rule lets exactly its device through.
. "$(dirname "$0")/../lib.sh"

B=$T_DIR/bundle
mkdir -p "$B"
R=$(make_rootfs "$B/rootfs")
chuted oci spec --bundle "$B"
cp "$B/config.json" "$T_DIR/config.orig"

# For each NAME:MAJOR:MINOR: "NAME=<error of mknod, or of open>" or NAME=open.
PROBE='for d in $DEVS; do
  set -- $(echo "$d" | tr : " ")
  rm -f /tmp/$1
  if ! e=$(mknod /tmp/$1 c $2 $3 2>&1); then echo "$1=$e"; continue; fi
  if e=$( (exec 3</tmp/$1) 2>&1); then echo "$1=open"; else echo "$1=$e"; fi
done
for f in null zero full random urandom tty ptmx; do
  if e=$( (exec 3<>/dev/$f) 2>&1); then echo "$f=open"; else echo "$f=$e"; fi
done'
HOSTDEVS="tty1:4:1 ttyS0:4:64 console:5:1 loop0:7:0 fuse:10:229 tun:10:200"

val() { echo "$OUT" | sed -n "s/^$1=//p"; }
refused() { # NAME...: each was refused with EPERM
  for n in "$@"; do
    case "$(val "$n")" in
      *"Operation not permitted"*) pass "$WHAT: $n refused" ;;
      *) fail "$WHAT: $n not refused: '$(val "$n")'" ;;
    esac
  done
}
usable() { # NAME...: each opened, or failed for a reason that is not the cgroup's
  for n in "$@"; do
    case "$(val "$n")" in
      "" | *"Operation not permitted"*) fail "$WHAT: $n refused: '$(val "$n")'" ;;
      *) pass "$WHAT: $n usable ($(val "$n" | sed 's/.*: //'))" ;;
    esac
  done
}

oci_run() { # NAME JQ
  jq --arg p "$PROBE" --arg d "$HOSTDEVS" ".process.args = [\"sh\", \"-c\", \$p] | .process.env += [\"DEVS=\" + \$d] | .root.readonly = false | $2" \
    "$T_DIR/config.orig" > "$B/config.json"
  OUT=$(timeout 20 "$CHUTED" oci run --bundle "$B" "chuted-test-$1" 2>&1)
}

eq "oci spec: runc's deny-all rule" "$(jq -c .linux.resources.devices "$T_DIR/config.orig")" '[{"access":"rwm","allow":false}]'

# --- no rules in config.json: runc's default set all the same
WHAT="oci, no rules"
oci_run dev1 'del(.linux.resources)'
refused tty1 ttyS0 console loop0 fuse tun
usable null zero full random urandom tty ptmx
eq "$WHAT: /dev/null opens" "$(val null)" open

# --- one allow rule: that device and no other
WHAT="oci, allow fuse"
oci_run dev2 '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
usable fuse
refused tty1 ttyS0 console loop0 tun
usable null zero urandom

# a later deny wins over an earlier allow of the same device
WHAT="oci, allow then deny fuse"
oci_run dev3 '.linux.resources.devices = [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}, {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
refused fuse
usable tun
# a deny narrowing a wildcard allow: v1 cannot express it, so it is refused
# (v2's BPF program can: there it holds)
oci_run dev3b '.linux.resources.devices = [{"allow": true, "type": "c", "major": 10, "access": "rwm"}, {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
if [ -d /sys/fs/cgroup/devices ]; then
  case "$OUT" in
    *"cgroup v1 cannot express"*) pass "v1: deny inside a wildcard allow refused" ;;
    *) fail "v1: deny inside a wildcard allow: $OUT" ;;
  esac
else
  WHAT="v2, deny inside a wildcard allow"
  refused fuse
  usable tun
fi

# linux.devices: the runtime makes the node; opening it needs a rule
WHAT="oci, linux.devices fuse"
oci_run dev4 '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}] | .process.args = ["sh", "-c", "ls -l /dev/fuse; (exec 3</dev/fuse) 2>&1; echo rc=$?"]'
case "$OUT" in
  *"crw-rw-rw-"*"10,"*"229"*) pass "$WHAT: node made" ;;
  *) fail "$WHAT: node not made: $OUT" ;;
esac
case "$OUT" in *"Operation not permitted"*) pass "$WHAT: not opened without a rule" ;; *) fail "$WHAT: opened: $OUT" ;; esac

# bad rules are refused with the key named
jq '.linux.resources.devices = [{"allow": true, "type": "x", "access": "rwm"}]' "$T_DIR/config.orig" > "$B/config.json"
out=$(timeout 20 "$CHUTED" oci run --bundle "$B" chuted-test-dev5 2>&1)
case "$out" in *"linux.resources.devices[0].type"*) pass "bad type named" ;; *) fail "bad type: $out" ;; esac
jq '.linux.resources.devices = [{"allow": true, "access": "rwx"}]' "$T_DIR/config.orig" > "$B/config.json"
out=$(timeout 20 "$CHUTED" oci run --bundle "$B" chuted-test-dev6 2>&1)
case "$out" in *"linux.resources.devices[0].access"*) pass "bad access named" ;; *) fail "bad access: $out" ;; esac

# --- chuted run gets the default set too
WHAT="chuted run"
OUT=$(DEVS=$HOSTDEVS timeout 20 "$CHUTED" run --rm --net none -e "DEVS=$HOSTDEVS" --rootfs "$R" -- /bin/sh -c "$PROBE" 2>&1)
refused tty1 ttyS0 console loop0 fuse tun
usable null zero full random urandom tty ptmx

no_leftovers "device tests"
finish
