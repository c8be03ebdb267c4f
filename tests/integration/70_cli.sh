#!/usr/bin/env bash
# The command line as a podman user expects it: help from the one command
# table (chuted help, CMD --help), typo suggestions, exit codes 125/2, a
# missing option value named, version/info, ps columns/--json/--format in
# every state, logs --since/--until, load naming, login asking on a tty.
. "$(dirname "$0")/../lib.sh"
R=$(make_rootfs)
export CHUTED_BIN=$BIN

# --- help for every command of the table
cmds=$(chuted help | awk '/^commands:/{on=1; next} on && /^$/{exit} on{print $1}')
eq "help lists the commands" "$(echo "$cmds" | tr '\n' ' ' | grep -o 'run create start stop' )" "run create start stop"
bad=""
for c in $cmds; do
  out=$(chuted "$c" --help 2>&1) || bad="$bad $c(rc)"
  echo "$out" | head -1 | grep -q "^usage: chuted $c" || bad="$bad $c(usage)"
  echo "$out" | grep -q -- "-h, --help\|    --help" || bad="$bad $c(options)"
  [ "$(chuted help "$c")" = "$out" ] || bad="$bad $c(help CMD differs)"
done
eq "CMD --help exits 0 with its usage, for every command" "$bad" ""
icmds=$(chuted help | awk '/^image commands/{on=1; next} on && /^$/{exit} on{print $1}')
eq "help lists the image commands" "$(echo $icmds)" "pull load images rmi image login logout"
bad=""
for c in $icmds; do
  out=$(chuted "$c" --help 2>&1) || bad="$bad $c(rc)"
  echo "$out" | head -1 | grep -q "^usage: chuted $c" || bad="$bad $c(usage)"
  [ "$(chuted help "$c")" = "$out" ] || bad="$bad $c(help CMD differs)"
done
eq "image CMD --help exits 0 with its usage" "$bad" ""
check "inspect --help is help, not a chute name" sh -c "'$CHUTED' inspect --help | grep -q '^usage: chuted inspect'"
check "run -h stays --hostname (podman's meaning)" sh -c "'$CHUTED' run --help | grep -q -- '-h, --hostname NAME'"
check "run --help lists --memory with its value" sh -c "'$CHUTED' run --help | grep -q -- '-m, --memory SIZE'"
check "start --help advertises -a (attach), which works (43_signals)" sh -c "'$CHUTED' start --help | grep -q -- '-a, --attach'"
eq "help of an unknown command: exit 2" "$(chuted help nope >/dev/null 2>&1; echo $?)" 2

# --- typos, exit codes, missing values
out=$(chuted rnu 2>&1); rc=$?
eq "typo: did you mean" "$out" 'chuted: unknown command "rnu"; did you mean "run"?'
eq "typo: exit 2" "$rc" 2
out=$(chuted xyzzyq 2>&1)
check "no suggestion when nothing is close ($out)" sh -c "echo '$out' | grep -q 'unknown command \"xyzzyq\"' && ! echo '$out' | grep -q 'did you mean'"
out=$(chuted update --memory 2>&1); rc=$?
eq "missing value: named" "$out" "chuted: update: option --memory needs a value (see chuted update --help)"
eq "missing value: exit 2" "$rc" 2
out=$(chuted run -m 2>&1); rc=$?
check "missing short value named by its long name ($out)" sh -c "echo '$out' | grep -q 'option --memory needs a value'"
eq "unknown option: exit 2" "$(chuted ps --bogus >/dev/null 2>&1; echo $?)" 2
eq "missing operand: exit 2" "$(chuted logs >/dev/null 2>&1; echo $?)" 2
for c in "start nope" "stop nope" "rm nope" "logs nope" "inspect nope" "kill nope" "update --memory 64M nope" "exec nope true"; do
  eq "own error: $c exits 125" "$(chuted $c >/dev/null 2>&1; echo $?)" 125
done
eq "image command error: exit 125" "$(chuted rmi no-such-image >/dev/null 2>&1; echo $?)" 125
out=$("$BIN/chuted-image" load --tag 2>&1); rc=$?
eq "chuted-image: missing value named" "$out" "chuted-image: load: option --tag needs a value"
eq "chuted-image: usage error exit 2" "$rc" 2

# --- version, info
eq "version" "$(chuted version)" "chuted version $("$CHUTED" --version | awk '{print $NF}')"
info=$(chuted info --json)
eq "info --json keys" "$(echo "$info" | jq -r 'keys_unsorted | join(" ")')" "version kernel cgroups overlay nftables radios storage runtime"
eq "info: kernel is uname's" "$(echo "$info" | jq -r .kernel.release)" "$(uname -r)"
check "info: cgroup layout named" sh -c "echo '$info' | jq -e '.cgroups | test(\"^(v1|v2|hybrid)$\")'"
eq "info: storage is --root" "$(echo "$info" | jq -r .storage.root.path)" "$T_ROOT"
eq "info: the runtime beside chuted" "$(echo "$info" | jq -r '.runtime.path + " " + (.runtime.present|tostring)')" "$BIN/chuted-runtime true"
check "info (text) names the kernel" sh -c "'$CHUTED' info | grep -q \"^kernel *$(uname -r)\""

# --- ps in every state: columns, --json keys (all present), -a, --format
check "create (a port recorded)" chuted create --name cr --rootfs "$R" -p 18080:80 -- true
check "run -d" chuted run -d --name up --net none --rootfs "$R" -- sleep 1000
check "run, exits 3" sh -c "'$CHUTED' run --name ex --net none --rootfs '$R' -- sh -c 'exit 3'; test \$? = 3"
eq "ps header" "$(chuted ps | head -1 | tr -s ' ')" "NAME STATUS PID UPTIME IMAGE PORTS COMMAND"
eq "ps: only the running one" "$(chuted ps | awk 'NR>1{print $1}')" "up"
eq "ps -a: created shows its port" "$(chuted ps -a | awk '$1=="cr"{print $2, $6}')" "created 18080:80"
eq "ps -a: exited" "$(chuted ps -a | awk '$1=="ex"{print $2}')" "exited(3)"
eq "ps --json honours -a (running only)" "$(chuted ps --json | jq -r '.[].name')" "up"
eq "ps -a --json: all three" "$(chuted ps -a --json | jq -r '.[].name' | sort | tr '\n' ' ')" "cr ex up "
keys="command created exit_code image name pid ports rootfs status uptime"
for n in cr ex up; do
  eq "ps --json: every key for $n" "$(chuted ps -a --json | jq -r --arg n $n '.[] | select(.name==$n) | keys | join(" ")')" "$keys"
done
eq "ps --json: null where not applicable" \
  "$(chuted ps -a --json | jq -c '[.[] | {name, pid: (.pid|type), exit_code, image, ports}] | sort_by(.name)')" \
  '[{"name":"cr","pid":"null","exit_code":null,"image":null,"ports":["18080:80"]},{"name":"ex","pid":"null","exit_code":3,"image":null,"ports":[]},{"name":"up","pid":"number","exit_code":null,"image":null,"ports":[]}]'
eq "ps --format: podman's field names (ExitCode is exit_code)" \
  "$(chuted ps -a --format '{{.Names}} {{.Status}} {{.ExitCode}}/{{.exit_code}} {{.Ports}}' 2>&1 | sort | tr '\n' '|')" \
  "cr created / 18080:80|ex exited 3/3 |up running / |"
eq "ps --format: names and status" "$(chuted ps -a --format '{{.Names}} {{.Status}}' | sort | tr '\n' '|')" "cr created|ex exited|up running|"
eq "ps --format: an unknown field is a usage error" "$(chuted ps --format '{{.Nope}}' >/dev/null 2>&1; echo $?)" 2

# --- logs --since / --until (the stamps of the log itself, no clock assertion)
check "run a chute that logs twice" chuted run --name lg --net none --rootfs "$R" -- sh -c 'echo first; sleep 1; echo second'
t1=$(chuted logs -t lg | awk '/first/{print $1}')
t2=$(chuted logs -t lg | awk '/second/{print $1}')
eq "logs: both" "$(chuted logs lg | tr '\n' ' ')" "first second "
eq "logs --since the second's stamp" "$(chuted logs --since "$t2" lg)" "second"
eq "logs --until the first's stamp" "$(chuted logs --until "$t1" lg)" "first"
eq "logs --since 1h (a duration)" "$(chuted logs --since 1h lg | tr '\n' ' ')" "first second "
eq "logs --until 1h: nothing that old" "$(chuted logs --until 1h lg)" ""
eq "logs --since with a zone offset" "$(chuted logs --since 2000-01-01T02:00:00+02:00 lg | tr '\n' ' ')" "first second "
eq "logs --until 2000: nothing" "$(chuted logs --until 2000-01-01T00:00:00Z lg)" ""
out=$(chuted logs --since yesterday lg 2>&1); rc=$?
check "logs --since junk: one line ($out)" sh -c "[ $rc -ne 0 ] && [ \$(echo '$out' | wc -l) = 1 ] && echo '$out' | grep -q RFC"

for c in cr up ex lg; do chuted rm -f "$c" >/dev/null; done
eq "all removed" "$(chuted ps -a -q)" ""

# --- load names an OCI layout's tag-only ref DIR:TAG (was 1:latest)
"$TOP/tools/mkimage" "$R" --tag cli:7 -o "$T_DIR/img.tar" >/dev/null
skopeo copy --quiet "oci-archive:$T_DIR/img.tar" "oci:$T_DIR/myimg:1" >/dev/null 2>&1
eq "load oci:DIR:1 names it DIR:1" "$(chuted load "oci:$T_DIR/myimg:1")" "Loaded image: myimg:1"
eq "load of an archive keeps a full name" "$(chuted load "oci-archive:$T_DIR/img.tar")" "Loaded image: cli:7"
chuted rmi myimg:1 cli:7 >/dev/null

# --- login asks on a terminal, without echo (the registry is not there: it fails after asking)
out=$(python3 - "$CHUTED" <<'PY'
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "login", "-u", "me", "127.0.0.1:1"])
buf = b""
def read_until(tok):
    global buf
    while tok not in buf:
        try:
            d = os.read(fd, 1024)
        except OSError:
            return
        if not d:
            return
        buf += d
read_until(b"Password: ")
os.write(fd, b"hunter2\n")
read_until(b"\xff")  # to the end
os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
PY
)
check "login asks for the password on a tty" grep -q "Password: " <<<"$out"
check_fails "the password is not echoed" grep -q hunter2 <<<"$out"
check "login went on with what was typed (then failed to connect)" grep -q "127.0.0.1:1" <<<"$out"
out=$(chuted login -u me 127.0.0.1:1 </dev/null 2>&1)
check "login with no tty and no password: one line ($out)" sh -c "echo '$out' | grep -q -- '--password-stdin'"

no_leftovers "cli"
finish
