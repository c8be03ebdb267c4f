#!/usr/bin/env bash
# vm: host side
# Issue 12 end to end in the QEMU APU: the cloud on the host, the AP in the
# VM. On the host (tests/vm/run.sh runs `host-start DIR` before the boot and
# `host-stop DIR` after): a CA and broker/registry/AP/operator certificates
# made by openssl, mosquitto with TLS and the ACL of docs/CLOUD.md, Debian's
# docker-registry with TLS holding the chute's image, and chutectl, all on
# 127.0.0.1, which the guest reaches as 10.0.2.2 through QEMU's user
# network. chutectl runs on the host through a small operator service
# (python) with a fixed set of commands, so that the guest side can sequence
# them and check every step where it happens.
# In the VM: `chuted daemon --cloud mqtts://10.0.2.2:...` with the AP's
# certificate; `chutectl deploy --wait` of a Wi-Fi chute -> the AP pulls the
# image over TLS from the host's registry (its CA in ROOT/certs.d/HOST:PORT/),
# brings up a WPA2 SSID on a mac80211_hwsim radio; a station on the other
# radio associates, takes a lease and fetches the chute's page; `chutectl
# nodes` on the host shows the AP online, the chute healthy; `chutectl rm`
# leaves nothing in the VM.
N=chuted-test-cwifi
NODE=ap-vm
SSID=chuted-test-cloud
PAGE="hello from the cloud"
GUEST_NET=10.0.2.15/24 # QEMU user network: the host's loopback is 10.0.2.2

# --- the host ----------------------------------------------------------------
host_start() { # DIR: the servers' files; DIR/guest is handed to the guest
  local H=$1 TOP BIN P G MPORT RPORT OPORT n t
  TOP=$(cd "$(dirname "$0")/../.." && pwd)
  BIN=${CHUTED_BIN:-$TOP/build}
  P=$H/pki G=$H/guest
  for t in /usr/sbin/mosquitto /usr/bin/docker-registry /usr/bin/skopeo /usr/bin/openssl /usr/bin/python3 /usr/bin/curl "$BIN/chutectl"; do
    [ -x "$t" ] || { echo "$t missing"; return 1; }
  done
  mkdir -p "$P" "$G"
  : >"$H/pids"
  # --- certificates: the broker and the registry answer as 10.0.2.2 to the
  # guest and as 127.0.0.1 to chutectl and skopeo on the host
  . "$TOP/tests/cloud_pki.sh"
  pki_ca "$P" || return 1
  if ! { pki_cert "$P" broker IP:10.0.2.2,IP:127.0.0.1 && pki_cert "$P" registry IP:10.0.2.2,IP:127.0.0.1 &&
    pki_cert "$P" "$NODE" && pki_cert "$P" operator; }; then
    echo "openssl failed"
    return 1
  fi
  { read -r MPORT; read -r RPORT; read -r OPORT; } < <(free_ports 3)

  mosquitto_tls_conf "$H" "$MPORT" "$P" "persistence false"
  /usr/sbin/mosquitto -c "$H/mosquitto.conf" </dev/null >"$H/mosquitto.out" 2>&1 &
  echo $! >>"$H/pids"

  # --- docker-registry with TLS (the AP is not on the registry's loopback:
  # it pulls over https, trusting the CA as chuted does for any registry)
  cat >"$H/registry.yml" <<X
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $H/registry}}
http:
  addr: 127.0.0.1:$RPORT
  secret: chuted-test-secret
  tls: {certificate: $P/registry.crt, key: $P/registry.key}
X
  docker-registry serve "$H/registry.yml" </dev/null >"$H/registry.log" 2>&1 &
  echo $! >>"$H/pids"
  n=100
  until curl -sf --cacert "$P/ca.crt" -o /dev/null "https://127.0.0.1:$RPORT/v2/" &&
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$MPORT)).close()" 2>/dev/null; do
    n=$((n - 1))
    [ $n -gt 0 ] || { echo "the broker or the registry did not start: $(tail -2 "$H/mosquitto.log" "$H/registry.log" | tr '\n' ' ')"; return 1; }
    sleep 0.1
  done

  # --- the chute's image (busybox httpd serving one page) in the registry
  . "$TOP/tests/vm/data_disk.sh"
  vm_busybox_rootfs "$H/rootfs"
  mkdir -p "$H/rootfs/var/www"
  echo "$PAGE" >"$H/rootfs/var/www/index.html"
  "$TOP/tools/mkimage" "$H/rootfs" --tag cwifi:1 -o "$H/img.tar" >/dev/null || { echo "mkimage failed"; return 1; }
  skopeo copy --quiet --dest-tls-verify=false "oci-archive:$H/img.tar" "docker://127.0.0.1:$RPORT/cwifi:1" ||
    { echo "skopeo copy to the registry failed"; return 1; }
  rm -rf "$H/rootfs" "$H/img.tar"

  # --- the chute file chutectl deploys: the AP's first radio that can be an
  # AP holds the SSID; the health probe fetches the page inside the chute;
  # the shell, PID 1, ends on SIGTERM (httpd there would ignore it until
  # the stop's SIGKILL)
  mkdir -p "$H/chute"
  cat >"$H/chute/chute.yaml" <<X
name: $N
version: "1"
image: 10.0.2.2:$RPORT/cwifi:1
command: "trap exit TERM; httpd -f -p 80 -h /var/www & wait"
health: {http: "80/", timeout: 60s}
net:
  wifi: {intfName: wlan0, ssid: $SSID, key: s3cretpass, dhcp: {start: 100, limit: 50, lease: 12h}}
X
  "$BIN/chutectl" keygen "$H/ops" >/dev/null || { echo "chutectl keygen failed"; return 1; }

  # --- the operator service: GET /VERB runs one chutectl command, answers
  # 200 (exit 0) or 500 with its output
  CHUTECTL_BROKER=mqtts://127.0.0.1:$MPORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt \
    CHUTECTL_KEY=$P/operator.key CHUTECTL_SIGNING_KEY=$H/ops.key \
    python3 -c '
import http.server, subprocess, sys
port, ctl, node, chute_dir, name = sys.argv[1:]
verbs = {"/nodes": ["nodes", "--json"], "/nodes-text": ["nodes"],
         "/deploy": ["deploy", "--wait", node, chute_dir], "/rm": ["rm", "--wait", node, name]}
class Op(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in verbs:
            self.send_error(404)
            return
        p = subprocess.run([ctl] + verbs[self.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=200)
        sys.stderr.write("%s: exit %d\n%s" % (self.path, p.returncode, p.stdout.decode(errors="replace")))
        self.send_response(200 if p.returncode == 0 else 500)
        self.send_header("Content-Length", str(len(p.stdout)))
        self.end_headers()
        self.wfile.write(p.stdout)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(port)), Op).serve_forever()
' "$OPORT" "$BIN/chutectl" "$NODE" "$H/chute" "$N" </dev/null >/dev/null 2>"$H/operator.log" &
  echo $! >>"$H/pids"
  n=100
  until curl -s -o /dev/null "http://127.0.0.1:$OPORT/"; do
    n=$((n - 1))
    [ $n -gt 0 ] || { echo "the operator service did not start: $(tail -2 "$H/operator.log")"; return 1; }
    sleep 0.1
  done

  # --- what the AP is given: its certificate, the CA, the operator's key
  cp "$P/ca.crt" "$P/$NODE.crt" "$P/$NODE.key" "$H/ops.pub" "$G/"
  printf 'MPORT=%s\nRPORT=%s\nOPORT=%s\n' "$MPORT" "$RPORT" "$OPORT" >"$G/env"
  echo "broker 127.0.0.1:$MPORT, registry 127.0.0.1:$RPORT, operator service 127.0.0.1:$OPORT"
}

host_stop() { # DIR
  local p n pids
  [ -f "$1/pids" ] || return 0
  pids=$(cat "$1/pids")
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do
    n=50
    while [ -d "/proc/$p" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$1"
}

case "${1:-}" in
  host-start) host_start "$2"; exit ;;
  host-stop) host_stop "$2"; exit ;;
esac

# --- inside the VM -------------------------------------------------------------
. "$(dirname "$0")/../lib.sh"
IP=/usr/sbin/ip
STA=$TEST_PREFIX-csta
FW=/sys/firmware/qemu_fw_cfg/by_name/opt/chuted/host.tar/raw
D=$T_DIR/w
mkdir -p "$D"
DPID="" ETH=""

modprobe qemu_fw_cfg 2>/dev/null
if [ ! -r "$FW" ]; then
  skip "no host side: tests/vm/run.sh starts the broker, the registry and chutectl on the host"
  finish
fi
if ! command -v curl >/dev/null; then
  skip "no curl in the VM image (tools/vm/binaries.list)"
  finish
fi
tar -xf "$FW" -C "$T_DIR" || { fail "the host side's files (fw_cfg opt/chuted/host.tar) do not unpack"; finish; }
G=$T_DIR/60_cloud_wifi/guest
# shellcheck disable=SC1091
. "$G/env"

stop_all() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  chuted rm -f "$N" >/dev/null 2>&1
  [ -f "$D/wpa.pid" ] && kill "$(cat "$D/wpa.pid")" 2>/dev/null
  $IP netns del "$STA" 2>/dev/null
  sleep 0.3
  rmmod mac80211_hwsim 2>/dev/null
  [ -n "$ETH" ] && $IP addr flush dev "$ETH" && $IP link set "$ETH" down
  rmmod virtio_net qemu_fw_cfg 2>/dev/null
}
trap 'stop_all; t_cleanup' EXIT

# --- the VM's WAN: QEMU's user network, the host's loopback as 10.0.2.2
check "virtio-net: the VM's uplink" modprobe virtio_net
ETH=$(ls /sys/bus/virtio/drivers/virtio_net/*/net/ 2>/dev/null | head -1)
$IP addr add "$GUEST_NET" dev "${ETH:-none}" && $IP link set "$ETH" up
# op VERB: chutectl on the host (the operator service); its output in $D/op.out
op() { curl -s --max-time 200 -o "$D/op.out" -w '%{http_code}' "http://10.0.2.2:$OPORT/$1"; }
check "the host's operator service answers through QEMU's user network ($ETH)" wait_for 100 sh -c "curl -s -o /dev/null http://10.0.2.2:$OPORT/"
[ "$T_FAILS" = 0 ] || finish

# --- radios: the first for the AP, the second a station in its own netns
check "mac80211_hwsim: two radios" modprobe mac80211_hwsim radios=2
sta_phy=$(ls /sys/class/ieee80211 | sort -V | tail -1)
ap_phy=$(ls /sys/class/ieee80211 | sort -V | head -1)
sta_if=$(ls /sys/class/ieee80211/"$sta_phy"/device/net | head -1)
$IP netns add "$STA"
iw phy "$sta_phy" set netns name "$STA"
$IP netns exec "$STA" $IP link set lo up
for i in /sys/class/ieee80211/"$ap_phy"/device/net/*; do $IP link set "${i##*/}" down; done

# --- the AP: its daemon with the cloud link; the registry's CA for its pulls
mkdir -p "$T_ROOT/certs.d/10.0.2.2:$RPORT"
cp "$G/ca.crt" "$T_ROOT/certs.d/10.0.2.2:$RPORT/ca.crt"
"$CHUTED" daemon --cloud "mqtts://10.0.2.2:$MPORT" --node "$NODE" --cert "$G/$NODE.crt" --key "$G/$NODE.key" \
  --ca "$G/ca.crt" --trust "$G/ops.pub" >"$D/daemon.log" 2>&1 &
DPID=$!
ms() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }
t0=${EPOCHREALTIME/./}
online() { [ "$(op nodes)" = 200 ] && [ "$(jq -r --arg n "$NODE" '.[$n].status.state' "$D/op.out")" = online ]; }
check "chutectl nodes (host): $NODE online through the host's broker (mqtts://10.0.2.2:$MPORT)" wait_for 600 online
[ "$T_FAILS" = 0 ] || { sed 's/^/  daemon: /' "$D/daemon.log" | tail -5; finish; }
echo "INFO: $T_NAME: daemon started to online at the host's broker: $(ms "$t0") ms"

# --- the deploy from the host
t0=${EPOCHREALTIME/./}
code=$(op deploy)
echo "INFO: $T_NAME: chutectl deploy --wait (pull over TLS, start, health gate): $(ms "$t0") ms"
eq "chutectl deploy --wait $NODE (host) of the Wi-Fi chute: applied" "$code" 200
[ "$code" = 200 ] || { sed 's/^/  chutectl: /' "$D/op.out" | tail -5; tail -5 "$D/daemon.log"; }
eq "the AP pulled the image from the host's registry over TLS" "$(chuted images -q | grep -c "^10.0.2.2:$RPORT/cwifi:1$")" 1
chuted wifi ls --json >"$D/ls.json" 2>&1
eq "the chute holds the SSID, hostapd up" "$(jq -r --arg c "$N" '.networks[] | select(.chute == $c) | .ssid + " " + .security + " " + .hostapd.state' "$D/ls.json")" \
  "$SSID wpa2-psk ENABLED"
addr=$(jq -r --arg c "$N" '.networks[] | select(.chute == $c) | .address' "$D/ls.json")

# --- a station: WPA2, a lease, the chute's page
printf 'ctrl_interface=%s/wpa\nnetwork={\n  ssid="%s"\n  psk="s3cretpass"\n  key_mgmt=WPA-PSK\n  scan_freq=2412\n}\n' "$D" "$SSID" >"$D/sta.conf"
t0=${EPOCHREALTIME/./}
$IP netns exec "$STA" wpa_supplicant -B -i "$sta_if" -c "$D/sta.conf" -P "$D/wpa.pid" -f "$D/wpa.log"
associated() { [ "$($IP netns exec "$STA" wpa_cli -p "$D/wpa" -i "$sta_if" status 2>/dev/null | sed -n 's/^wpa_state=//p')" = COMPLETED ]; }
check "a station associates with WPA2" wait_for 200 associated
cat >"$D/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && /usr/sbin/ip addr add "$ip/$mask" dev "$interface"
exit 0
EOF
chmod +x "$D/udhcpc.sh"
check "the station takes a lease" $IP netns exec "$STA" udhcpc -i "$sta_if" -n -q -t 10 -T 1 -s "$D/udhcpc.sh"
lease=$($IP netns exec "$STA" $IP -4 -o addr show dev "$sta_if" | awk '{print $4}')
host=${lease%/*}
host=${host##*.}
if [ "${lease%.*}" = "${addr%.*}" ] && [ "${host:-0}" -ge 100 ] && [ "$host" -le 149 ]; then pass "lease $lease in ${addr%.*}.100-149"
else fail "lease '$lease' not in ${addr%.*}.100-149"; fi
eq "the station fetches the chute's page over Wi-Fi" "$($IP netns exec "$STA" timeout 20 wget -q -O - "http://${addr%/*}/" 2>&1)" "$PAGE"
echo "INFO: $T_NAME: station started to the page fetched (WPA2, lease, HTTP): $(ms "$t0") ms"

# --- what the cloud sees
op nodes >/dev/null
eq "chutectl nodes --json (host): $NODE online, the chute running and healthy" \
  "$(jq -r --arg n "$NODE" --arg c "$N" '.[$n] | .status.state + " " + .reported.chutes[$c].actual + " " + .reported.chutes[$c].health' "$D/op.out")" \
  "online running healthy"
op nodes-text >/dev/null
check "chutectl nodes (host): $(grep "^$NODE " "$D/op.out" | tr -s ' ')" grep -q "^$NODE  *online .*$N:1:healthy" "$D/op.out"

# --- chutectl rm: nothing left in the VM
t0=${EPOCHREALTIME/./}
eq "chutectl rm --wait $NODE $N (host): applied" "$(op rm)" 200
echo "INFO: $T_NAME: chutectl rm --wait: $(ms "$t0") ms"
check "...the chute is gone from the AP" sh -c "! '$CHUTED' ps -a -q | grep -qx '$N'"
eq "...and from its desired state" "$(chuted chutes --json)" "[]"
gone() { ! associated; }
check "...the station loses the network" wait_for 100 gone
eq "...no Wi-Fi network left" "$(chuted wifi ls --json | jq '.networks | length')" 0
check_fails "...no hostapd left" pgrep -x hostapd
check_fails "...no dnsmasq left" pgrep -x dnsmasq
op nodes >/dev/null
eq "chutectl nodes --json (host): $NODE reports no chute" "$(jq -c --arg n "$NODE" '.[$n].reported.chutes' "$D/op.out")" "{}"
kill "$DPID" && wait "$DPID" 2>/dev/null
DPID=
check "the daemon's log has no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error' '$D/daemon.log'"
no_leftovers "cloud wifi"
finish
