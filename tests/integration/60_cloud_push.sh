#!/usr/bin/env bash
# Chute packages through an OCI registry (docs/CLOUD.md "Packages"):
# `chutectl push DIR` to Debian's docker-registry on 127.0.0.1 (an OCI
# artifact, reproducible), then `chutectl deploy ap-1 NAME@sha256:...` and
# `NAME:TAG`: the AP (the daemon's cloud link, a real mosquitto with TLS)
# fetches the package pinned by the signed document's digest and deploys it
# (its image archive inside); the same package named again is not fetched
# again; a package the registry does not have, or one not pinned by digest,
# is refused with a reason and changes nothing; a registry with token auth:
# push with credentials, the AP after `chuted login`.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/registry.sh"
. "$TOP/tests/cloud.sh"
export CHUTED_BRIDGE=chtcpu0 CHUTED_SUBNET=10.231.161.0/24
CTL=$BIN/chutectl
N=chuted-test-pkg
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for p in "$CTL" /usr/sbin/mosquitto /usr/bin/openssl /usr/bin/docker-registry; do
  if [ ! -x "$p" ]; then skip "$p missing"; finish; fi
done
LINKPID=
stop_mine() { [ -n "$LINKPID" ] && kill "$LINKPID" 2>/dev/null && wait "$LINKPID" 2>/dev/null; LINKPID=; stop_broker; stop_registry; }
trap 'stop_mine; t_cleanup' EXIT

check "certificates made" cloud_pki "$T_DIR/pki" ap-1 operator
cloud_broker_conf "$T_DIR" "$T_DIR/pki"
check "mosquitto with TLS + ACL" start_broker
check "docker-registry on 127.0.0.1" start_registry
[ "$T_FAILS" = 0 ] || finish
P=$T_DIR/pki R=127.0.0.1:$REG_PORT
export CHUTECTL_BROKER=mqtts://127.0.0.1:$MQ_PORT CHUTECTL_CA=$P/ca.crt CHUTECTL_CERT=$P/operator.crt \
  CHUTECTL_KEY=$P/operator.key CHUTECTL_SIGNING_KEY=$T_DIR/ops.key
"$CTL" keygen "$T_DIR/ops" >/dev/null

# two versions of a chute directory, each with its image archive inside
make_rootfs "$T_DIR/rootfs" >/dev/null
"$TOP/tools/mkimage" "$T_DIR/rootfs" --cmd '["/bin/sh"]' --tag pkg:1 -o "$T_DIR/img.tar"
mk() { # VERSION
  mkdir -p "$T_DIR/$1"
  cp "$T_DIR/img.tar" "$T_DIR/$1/img.tar"
  printf 'name: %s\nversion: "%s"\nimage: oci-archive:img.tar\ncommand: "echo %s > /tmp/ver; trap exit TERM; sleep 1000 & wait"\nhealth: {grace: 1s}\n' \
    "$N" "$1" "$1" >"$T_DIR/$1/chute.yaml"
}
mk v1; mk v2

# --- push
ref1=$("$CTL" push "$T_DIR/v1" --registry "$R" 2>&1)
check "chutectl push prints REGISTRY/NAME@DIGEST ($ref1)" grep -qxE "$R/$N@sha256:[0-9a-f]{64}" <<<"$ref1"
eq "...a push again gives the same digest (reproducible)" "$("$CTL" --registry "$R" push "$T_DIR/v1")" "$ref1"
man=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/$N/manifests/v1")
eq "...an OCI artifact of ours, tagged with the version, one layer" \
  "$(js "d['artifactType'], d['config']['mediaType'], len(d['layers']), d['annotations']['io.chuted.chute.name']" <<<"$man")" \
  "application/vnd.chuted.package.v1 application/vnd.chuted.package.config.v1+json 1 $N"
eq "...whose manifest digest is the one printed" "sha256:$(printf %s "$man" | sha256sum | cut -d' ' -f1)" "${ref1#*@}"
out=$("$CTL" push "$T_DIR/nope" --registry "$R" 2>&1); rc=$?
check "push of a directory without chute.yaml: exit 1, one line ($out)" test "$rc" = 1 -a "$(wc -l <<<"$out")" = 1

# --- the AP: the daemon hosts the link
start_ap() {
  "$CHUTED" daemon --cloud "mqtts://127.0.0.1:$MQ_PORT" --node ap-1 --cert "$P/ap-1.crt" --key "$P/ap-1.key" \
    --ca "$P/ca.crt" --trust "$T_DIR/ops.pub" 2>>"$T_DIR/link.log" & LINKPID=$!
}
start_ap
check "ap-1 online" wait_for 100 sh -c "\"$CTL\" nodes --json | grep -q '\"online\"'"
ver() { chuted exec "$N" cat /tmp/ver 2>/dev/null; }
link() { "$CTL" nodes --json | js "d['ap-1']['reported']['link']$1"; }

export CHUTECTL_REGISTRY=$R
check "chutectl deploy --wait ap-1 $N@sha256:..." "$CTL" deploy --wait ap-1 "$N@${ref1#*@}"
eq "...v1 runs on the AP, from the package's own image archive" "$(ver)" v1
eq "...the signed document pins the package by digest" \
  "$("$CTL" desired ap-1 | js "d['chutes']['$N']")" "{'package': '$ref1', 'running': True}"
ref2=$("$CTL" push "$T_DIR/v2")
check "chutectl deploy --wait ap-1 $N:v2 (a tag, resolved to its digest)" "$CTL" deploy --wait ap-1 "$N:v2"
eq "...v2 runs" "$(ver)" v2
eq "...pinned: $ref2" "$("$CTL" desired ap-1 | js "d['chutes']['$N']['package']")" "$ref2"

# the registry loses its blobs (manifests too): a new document that names
# the running package again fetches nothing
find "$REG_DIR/data/docker/registry/v2/blobs" -name data -delete
link_is() { [ "$("$CTL" nodes --json | js "d['ap-1']['reported']['link']['change'], d['ap-1']['reported']['link']['result']")" = "$1 $2" ]; }
"$CTL" desired ap-1 | python3 -c "
import json, sys
d = json.load(sys.stdin); d.pop('signature'); d['generation'] += 1; d['change'] = 'again-1'
json.dump(d, open('$T_DIR/again.json', 'w'))"
"$CTL" sign "$T_DIR/again.json" >"$T_DIR/again.signed" && "$CTL" publish ap-1 "$T_DIR/again.signed"
check "a new document naming the running package again: applied without the registry" wait_for 100 link_is again-1 done
eq "...v2 runs, not restarted" "$(ver) $(chuted changes --json | grep -c '"again-1\.')" "v2 0"

# --- refusals: nothing changes
out=$("$CTL" deploy --wait ap-1 "$N@sha256:$(printf '0%.0s' $(seq 64))" 2>&1); rc=$?
check "a digest the registry does not have: chutectl says so ($out)" test "$rc" != 0 -a -n "$(grep -i 'unknown\|404' <<<"$out")"
"$CTL" desired ap-1 | python3 -c "
import json, sys
d = json.load(sys.stdin); d.pop('signature'); d['generation'] += 1; d['change'] = 'bad-pkg'
d['chutes']['$N'] = {'package': '$R/$N:v2'}
json.dump(d, open('$T_DIR/tag.json', 'w'))
d['generation'] += 1; d['change'] = 'gone-pkg'; d['chutes']['$N'] = {'package': '${ref1%@*}@sha256:' + 'e' * 64}
json.dump(d, open('$T_DIR/gone.json', 'w'))"
"$CTL" sign "$T_DIR/tag.json" >"$T_DIR/tag.signed" && "$CTL" publish ap-1 "$T_DIR/tag.signed"
check "a signed document naming a package by tag, not digest: refused" \
  wait_for 100 sh -c "\"$CTL\" nodes --json | grep -q 'pinned by its digest'"
"$CTL" sign "$T_DIR/gone.json" >"$T_DIR/gone.signed" && "$CTL" publish ap-1 "$T_DIR/gone.signed"
check "a package the registry does not have: the change fails with the registry's reason" wait_for 100 link_is gone-pkg failed
check "...its reason names the package ($(link "['errors']"))" sh -c "\"$CTL\" nodes --json | grep -q 'package $R/$N@sha256:eeee.*manifest unknown'"
eq "...v2 still runs" "$(ver)" v2
eq "...nothing left in ROOT/deploy/tmp" "$(ls "$T_ROOT/deploy/tmp" 2>/dev/null | wc -l)" 0

# --- a registry that asks for credentials (Bearer tokens from a token server, as distribution's token auth)
stop_registry
check "a registry with token auth" start_registry --token pusher:s3cret
R=127.0.0.1:$REG_PORT
out=$("$CTL" push "$T_DIR/v1" --registry "$R" 2>&1); rc=$?
check "push without credentials: exit 1, says what to give ($out)" test "$rc" = 1 -a -n "$(grep CHUTECTL_REGISTRY_USER <<<"$out")"
export CHUTECTL_REGISTRY_USER=pusher CHUTECTL_REGISTRY_PASSWORD=s3cret
ref3=$("$CTL" push "$T_DIR/v1" --registry "$R" 2>&1)
eq "push with them (tokens for pull, then pull+push): the digest of the open registry's" "${ref3#*@}" "${ref1#*@}"
check "the AP logs in to it (chuted login)" chuted login -u pusher -p s3cret "$R"
check "chutectl deploy --wait ap-1 REGISTRY/NAME@DIGEST from it" "$CTL" deploy --wait ap-1 "$ref3"
eq "...v1 runs" "$(ver)" v1
check "chutectl rm" "$CTL" rm --wait ap-1 "$N"
stop_mine
check "the link's log has no sanitizer report" sh -c "! grep -qiE 'sanitizer|runtime error' '$T_DIR/link.log'"
chuted network prune >/dev/null 2>&1
no_leftovers "cloud-push"
finish
