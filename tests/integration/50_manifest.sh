#!/usr/bin/env bash
# chute.yaml through `chuted deploy --dry-run`: the broken corpus
# (tests/data/manifests/bad/*.yaml, the expected line in the sibling .err)
# gives one line each and creates nothing; the good files give their plan;
# conflicts with chutes already on the host are found.
. "$(dirname "$0")/../lib.sh"
D=$TOP/tests/data/manifests
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
empty_root() { [ -z "$(find "$T_ROOT" "$T_RUNROOT" -mindepth 1 2>/dev/null)" ]; }

n=0
for f in "$D"/bad/*.yaml; do
  b=$(basename "$f" .yaml)
  chuted deploy --dry-run "$f" >"$T_DIR/out" 2>"$T_DIR/err"
  rc=$?
  want="chuted: $f:$(cat "${f%.yaml}.err")"
  if [ "$rc" -ne 0 ] && [ ! -s "$T_DIR/out" ] && [ "$(wc -l <"$T_DIR/err")" -eq 1 ] && [ "$(cat "$T_DIR/err")" = "$want" ]; then
    n=$((n + 1))
  else
    fail "bad/$b: rc=$rc, stdout $(wc -c <"$T_DIR/out") bytes, stderr: $(head -c 300 "$T_DIR/err" | tr '\n' '|') (want: $want)"
  fi
done
total=$(ls "$D"/bad/*.yaml | wc -l)
[ "$total" -ge 30 ] && pass "bad corpus has $total files" || fail "bad corpus has only $total files (want >= 30)"
eq "every broken file: one line FILE:LINE:COL, non-zero exit" "$n" "$total"
if empty_root; then pass "broken files created nothing under the root"; else fail "left under the root: $(find "$T_ROOT" "$T_RUNROOT" -mindepth 1 | head -5 | tr '\n' ' ')"; fi

# the literal seed text (Fig. 9): refused where its YAML breaks
out=$(chuted deploy --dry-run "$D/seccam-seed-literal.yaml" 2>&1)
eq "seed's literal SecCam refused at 1:20" "$out" "chuted: $D/seccam-seed-literal.yaml:1:20: not valid YAML: mapping values are not allowed in this context"

# the repaired SecCam, by directory (chute.yaml inside) and --json
mkdir -p "$T_DIR/seccam"
cp "$D/good/seccam.yaml" "$T_DIR/seccam/chute.yaml"
check "SecCam repaired: plan printed" sh -c "'$CHUTED' deploy --dry-run '$T_DIR/seccam' | grep -q 'dry run: nothing was created'"
p=$(chuted deploy --dry-run --json "$T_DIR/seccam/")
eq "SecCam: one service named after the chute" "$(echo "$p" | js '[s["name"] for s in d["services"]]')" "['seccam']"
eq "SecCam: Wi-Fi as the paper gives it" "$(echo "$p" | js 'd["network"]["wifi"]["ssid"], d["network"]["wifi"]["intf"], d["network"]["wifi"]["dhcp"]')" \
  "seccamv2 wlan0 {'start': 100, 'limit': 50, 'lease_secs': 43200}"
eq "SecCam: resources mapped (cpu shares, 128M, wan)" \
  "$(echo "$p" | js 'd["resources"]["cpu"]["shares"], d["resources"]["memory"]["limit"], d["resources"]["wan"]')" \
  "1024 134217728 {'down_kbit': 25000, 'up_kbit': 10000}"

p=$(chuted deploy --dry-run --json "$D/good/paradrop012.yaml")
eq "ParaDrop 0.12: two services, one netns" "$(echo "$p" | js '[s["name"] for s in d["services"]], d["network"]["mode"]')" "['web', 'cache'] bridge"
eq "ParaDrop 0.12: port-bindings become ports" "$(echo "$p" | js 'd["network"]["ports"]')" "['8080:80', '8443:443']"
eq "ParaDrop 0.12: chute environment before the service's" "$(echo "$p" | js 'd["services"][0]["environment"]')" "['MODE=demo', 'BACKEND=localhost:6379']"
p=$(chuted deploy --dry-run --json "$D/good/chuted-all.yaml")
eq "ours: restart, health, volumes" "$(echo "$p" | js 'd["restart"], d["health"]["probe"], d["health"]["grace_secs"], d["volumes"]["data"]')" "on-failure http 5 /data"
if empty_root; then pass "good files: dry run created nothing"; else fail "dry run left: $(find "$T_ROOT" "$T_RUNROOT" -mindepth 1 | head -5 | tr '\n' ' ')"; fi

# a mapping of more keys than the repeat check is bounded to
{ printf 'name: cam\nimage: busybox\nenvironment:\n'; seq 0 4999 | sed 's/.*/  K&: v/'; } >"$T_DIR/keys.yaml"
out=$(chuted deploy --dry-run "$T_DIR/keys.yaml" 2>&1)
eq "5000 keys refused" "$out" "chuted: $T_DIR/keys.yaml:4:3: environment: more than 4096 keys"

# --json is the dry run's (a deploy prints its progress; tests/integration/51_deploy.sh)
out=$(chuted deploy --json "$D/good/seccam.yaml" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "goes with --dry-run"; then pass "deploy --json without --dry-run refused"; else fail "deploy --json without --dry-run: rc=$rc $out"; fi
tar -C "$T_DIR/seccam" -czf "$T_DIR/seccam.tar.gz" chute.yaml
out=$(chuted deploy --dry-run "$T_DIR/seccam.tar.gz" 2>&1); rc=$?
eq "a package's dry run: the plan (tests/integration/55_package.sh has the rest)" "$rc|$(tail -1 <<<"$out")" "0|dry run: nothing was created"
check_fails "missing file refused" chuted deploy --dry-run "$T_DIR/nope.yaml"

# conflicts with a chute already on the host: host port and SSID
R=$(make_rootfs)
chuted create --read-only --name holder -p 18080:80 --wifi ssid=h9cam --rootfs "$R" -- /bin/true >/dev/null
printf 'name: other\nimage: busybox\nnet:\n  ports: ["18080:80"]\n' >"$T_DIR/port.yaml"
out=$(chuted deploy --dry-run "$T_DIR/port.yaml" 2>&1)
eq "conflict: host port held by another chute" "$out" "chuted: $T_DIR/port.yaml:4:11: net.ports[0]: host port 18080/tcp is already taken by chute \`holder\`"
printf 'name: other\nimage: busybox\nnet:\n  wifi: {ssid: h9cam}\n' >"$T_DIR/ssid.yaml"
out=$(chuted deploy --dry-run "$T_DIR/ssid.yaml" 2>&1)
eq "conflict: SSID held by another chute" "$out" "chuted: $T_DIR/ssid.yaml:4:16: net.wifi.ssid: SSID \`h9cam\` is already claimed by chute \`holder\`"
sed -i 's/name: other/name: holder/' "$T_DIR/ssid.yaml"
check "the chute's own SSID is no conflict (an update)" chuted deploy --dry-run "$T_DIR/ssid.yaml"
chuted rm holder >/dev/null
check "after rm the port is free" chuted deploy --dry-run "$T_DIR/port.yaml"
no_leftovers "manifest"
# chute.yaml(5) names every key the parser takes
keys=$( { grep -o 'strcmp (key, "[A-Za-z_-]*")' "$TOP/mgmt/manifest_parse.c" | cut -d'"' -f2
          grep -o '{ "[a-z]*", &m->' "$TOP/mgmt/manifest_parse.c" | cut -d'"' -f2; } | sort -u)
missing=""
for k in $keys; do
  grep -q -- "$(printf '%s' "$k" | sed 's/-/\\\\-/g')" "$TOP/docs/man/chute.yaml.5" || missing="$missing $k"
done
eq "chute.yaml(5) documents every key the parser takes" "${missing:-none}" none
if command -v man >/dev/null; then
  out=$(MANWIDTH=100 man --warnings -l "$TOP/docs/man/chute.yaml.5" 2>&1 >/dev/null)
  eq "chute.yaml(5) renders without warnings" "$out" ""
fi
finish
