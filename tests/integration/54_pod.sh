#!/usr/bin/env bash
# A chute of two services (ParaDrop 0.12's `services:`, a pod): one
# network (each service reaches the other on localhost), one container,
# monitor and cgroup per service under the chute's cgroup, which carries
# the chute's memory limit; stop/start/update/rm act on both; a service
# that cannot start takes the whole version down and the old one back.
. "$(dirname "$0")/../lib.sh"
export CHUTED_BRIDGE=chtpod0 CHUTED_SUBNET=10.231.154.0/24
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
N=chuted-test-pod

make_rootfs "$T_DIR/rootfs" >/dev/null
echo pod-ok >"$T_DIR/rootfs/var/www/index.html"
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh"]' --tag pod:1 -o "$T_DIR/img.tar"
check "image loaded" chuted load "oci-archive:$T_DIR/img.tar"

# mk DIR NAME VERSION PROBE_COMMAND [HOST_PORT]: web serves on 8080 (published
# on HOST_PORT), probe fetches from it
mk() {
  local ports=""
  [ -n "${5:-}" ] && ports="    requests: {port-bindings: [{external: $5, internal: 8080}]}"
  mkdir -p "$T_DIR/$1"
  cat >"$T_DIR/$1/chute.yaml" <<EOF
name: $2
version: "$3"
environment: {VER: "$3"}
resource: {memory: 64M}
health: {grace: 1s}
services:
  web:
    image: pod:1
    command: "trap 'kill \$!; exit 0' TERM; echo \$VER > /tmp/ver; echo web \$VER up; httpd -f -p 8080 -h /var/www & wait"
$ports
  probe:
    image: pod:1
    command: $4
EOF
}
PROBE='"trap \x27exit 0\x27 TERM; while :; do wget -q -O /tmp/got http://127.0.0.1:8080/ && mv /tmp/got /tmp/seen; sleep 0.2 & wait; done"'
HP=18754
mk v1 "$N" v1 "$PROBE" $HP
mk v2 "$N" v2 "$PROBE" $HP
mk v3 "$N" v3 '[/nope/probe]' $HP
# v2's health gate probes web's port: through the pod's one network
sed -i 's|^health: {grace: 1s}|health: {grace: 1s, http: "8080/", interval: 1s, timeout: 20s}|' "$T_DIR/v2/chute.yaml"

row() { chuted chutes --json | js "[(c['version'], c['actual'], [(s['name'], s['actual']) for s in c['services']]) for c in d if c['name']=='$N']"; }
fetch() { chuted exec "$N+$1" wget -q -O- http://127.0.0.1:8080/ 2>&1; }

out=$(chuted deploy "$T_DIR/v1" 2>&1); rc=$?
eq "deploy of a two-service chute exits 0 ($(tail -1 <<<"$out"))" "$rc" 0
eq "chutes: one chute, both services running" "$(row)" "[('v1', 'running', [('web', 'running'), ('probe', 'running')])]"
eq "chutes' table: SERVICES 2/2" "$(chuted chutes | awk -v n="$N" '$1 == n {print $5}')" 2/2
eq "ps: a container per service" "$(chuted ps -q | sort | tr '\n' ' ')" "$N+probe $N+web "
eq "probe reaches web on localhost" "$(fetch probe)" "pod-ok"
check "probe's own loop got the page" chuted exec "$N+probe" sh -c 'for i in $(seq 50); do [ -s /tmp/seen ] && exit 0; sleep 0.1; done; exit 1'
eq "one network namespace" "$(chuted exec "$N+web" readlink /proc/self/ns/net)" "$(chuted exec "$N+probe" readlink /proc/self/ns/net)"
check_fails "...but each service its own mount namespace" test "$(chuted exec "$N+web" readlink /proc/self/ns/mnt)" = "$(chuted exec "$N+probe" readlink /proc/self/ns/mnt)"
eq "run --network container:CHUTE joins the pod's network" \
  "$(chuted run --rm --network "container:$N" --rootfs "$T_DIR/rootfs" wget -q -O- http://127.0.0.1:8080/ 2>&1)" pod-ok
check "...and leaves it to the pod" test -e "$T_RUNROOT/netns/$N"
out=$(chuted run --rm --network container:nosuch --rootfs "$T_DIR/rootfs" true 2>&1); rc=$?
check "run --network container:NAME of no running chute refused ($out)" test $rc -ne 0 -a "$(grep -c "no network up" <<<"$out")" = 1
eq "the chute's published port reaches web" "$(/bin/busybox wget -q -O- "http://127.0.0.1:$HP/" 2>&1)" pod-ok
check "each service its own log" sh -c "'$CHUTED' logs '$N+web' | grep -q 'web v1 up' && ! '$CHUTED' logs '$N+probe' | grep -q 'web v1 up'"
addr() { chuted inspect "$N+$1" | js 'd[0]["network"].get("address", "none")'; }
check "inspect: both services have the pod's address ($(addr web))" test "$(addr web)" = "$(addr probe)" -a "$(addr web)" != none
eq "host name: the chute's" "$(chuted exec "$N+probe" hostname)" "$N"

# cgroups: CGROUP_PARENT/NAME/SERVICE, the chute's limit on CGROUP_PARENT/NAME
# the host's view of a service's cgroup (the chute has a cgroup namespace of its own)
cg_of() {
  local pid; pid=$(chuted inspect "$N+$1" | js 'd[0]["state"]["pid"]')
  awk -F: '$2 ~ /(^|,)memory(,|$)/ || $2 == "" {print $3}' "/proc/$pid/cgroup" | sort -u | tail -1
}
eq "web's cgroup is a leaf under the chute's" "$(cg_of web)" "/$T_CGPARENT/$N/web"
eq "probe's too" "$(cg_of probe)" "/$T_CGPARENT/$N/probe"
memlimit() { # the memory limit of cgroup $1 (v1 memory controller or v2)
  if [ -f "/sys/fs/cgroup/memory/$1/memory.limit_in_bytes" ]; then cat "/sys/fs/cgroup/memory/$1/memory.limit_in_bytes"
  else cat "/sys/fs/cgroup/$1/memory.max"; fi
}
eq "the chute's memory limit is on its cgroup" "$(memlimit "$T_CGPARENT/$N")" 67108864
check "...not on a service's" test "$(memlimit "$T_CGPARENT/$N/web")" != 67108864

check "chute stop" chuted chute stop "$N"
eq "...both services stopped" "$(row)" "[('v1', 'stopped', [('web', 'stopped'), ('probe', 'stopped')])]"
check "...the chute's cgroup is gone" test ! -e "/sys/fs/cgroup/memory/$T_CGPARENT/$N" -a ! -e "/sys/fs/cgroup/$T_CGPARENT/$N"
check "...and its network" test ! -e "$T_RUNROOT/netns/$N"
check "chute start" chuted chute start "$N"
eq "...both running" "$(row)" "[('v1', 'running', [('web', 'running'), ('probe', 'running')])]"
eq "...and together again" "$(fetch probe)" "pod-ok"

# a service whose monitor dies is reaped alone: the pod's network stays with the other
mpid=$(chuted inspect "$N+probe" | js 'd[0]["state"]["monitor_pid"]')
kill -9 "$mpid"
chuted ps -a >/dev/null
eq "monitor of probe killed: probe reaped, web runs on" "$(row)" "[('v1', 'stopped', [('web', 'running'), ('probe', 'stopped')])]"
eq "...web still serves on the pod's localhost" "$(fetch web)" "pod-ok"
check "...the pod's network is still there" test -e "$T_RUNROOT/netns/$N"
check "reconcile brings probe back" chuted reconcile
eq "...both running, together" "$(row) $(fetch probe)" "[('v1', 'running', [('web', 'running'), ('probe', 'running')])] pod-ok"
web_pid=$(chuted inspect "$N+web" | js 'd[0]["state"]["pid"]')
check "reconcile of a pod as desired" chuted reconcile
eq "...leaves it running, untouched" "$(row) $(chuted inspect "$N+web" | js 'd[0]["state"]["pid"]')" \
  "[('v1', 'running', [('web', 'running'), ('probe', 'running')])] $web_pid"
check "chute stop, then reconcile and start --all (the boot path)" sh -c "$CHUTED chute stop $N && $CHUTED reconcile && $CHUTED start --all"
eq "...a pod desired stopped stays stopped" "$(row)" "[('v1', 'stopped', [('web', 'stopped'), ('probe', 'stopped')])]"
check "chute restart" chuted chute restart "$N"
eq "...both running, together" "$(row) $(fetch probe)" "[('v1', 'running', [('web', 'running'), ('probe', 'running')])] pod-ok"

out=$(chuted deploy "$T_DIR/v2" 2>&1)
eq "update v1 -> v2: done" "$(tail -1 <<<"$out" | sed 's/^[^ ]* //')" "$N: done"
eq "v2's services run" "$(chuted exec "$N+web" cat /tmp/ver) $(fetch probe)" "v2 pod-ok"

out=$(chuted deploy "$T_DIR/v3" 2>&1); rc=$?
check "update to v3 (probe cannot start) fails" test $rc -ne 0
check "...and says it rolled back ($(tail -1 <<<"$out"))" grep -q "rolled back to version v2" <<<"$out"
eq "v2 runs again, both services" "$(row)" "[('v2', 'running', [('web', 'running'), ('probe', 'running')])]"
eq "...and together" "$(chuted exec "$N+web" cat /tmp/ver) $(fetch probe)" "v2 pod-ok"

# a first deploy whose second service cannot start leaves nothing
mk bad "$N-bad" v1 '[/nope/probe]'
out=$(chuted deploy "$T_DIR/bad" 2>&1); rc=$?
check "failing first deploy of a pod: non-zero ($(tail -1 <<<"$out"))" test $rc -ne 0
eq "...no container, no desired state of it" "$(chuted ps -a -q | grep -c -- "$N-bad")|$(chuted chutes --json | js "[c['name'] for c in d]")" "0|['$N']"
check "...no cgroup, no network of it" test ! -e "/sys/fs/cgroup/memory/$T_CGPARENT/$N-bad" -a ! -e "/sys/fs/cgroup/$T_CGPARENT/$N-bad" -a ! -e "$T_RUNROOT/netns/$N-bad"

# a service's name is not a name a user can take; the chute's name is taken
out=$(chuted run -d --name "$N+web" --rootfs "$T_DIR/rootfs" /bin/true 2>&1); rc=$?
check "run --name CHUTE+SERVICE refused ($out)" test $rc -ne 0 -a "$(grep -c "kept for the services of a pod" <<<"$out")" = 1
out=$(chuted run -d --name "$N" --rootfs "$T_DIR/rootfs" /bin/true 2>&1); rc=$?
check "run --name of the pod refused ($out)" test $rc -ne 0 -a "$(grep -c "already exists" <<<"$out")" = 1

check "chute rm" chuted chute rm "$N"
eq "chutes: empty, ps: empty" "$(chuted chutes --json)|$(chuted ps -a -q)" "[]|"
chuted network prune >/dev/null 2>&1
no_leftovers "pod"
finish
