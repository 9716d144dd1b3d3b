#!/bin/sh
# The daemon's command line without capture privileges: --check-config on
# the shipped sample and on broken files ("file:group.key: reason", exit 1),
# the no-input error, exit 2 when an input cannot be opened, exit 1 for an
# unknown --user, and a daemon with only a flow listener that starts,
# answers HTTP on an ephemeral port, and stops with exit 0 on SIGTERM.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin=$top_builddir/src/connlogd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daemon-cli.XXXXXX") || exit 1
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

# expect RC PATTERN ARGS...: exit status RC and PATTERN on stdout+stderr
expect() {
    want=$1 pat=$2
    shift 2
    "$bin" "$@" >"$tmp/out" 2>&1
    rc=$?
    [ $rc -eq "$want" ] || fail "connlogd $*: exit $rc, wanted $want: $(cat "$tmp/out")"
    grep -q -e "$pat" "$tmp/out" || fail "connlogd $*: no '$pat' in: $(cat "$tmp/out")"
}

expect 0 '^configuration OK$' -c "$top_srcdir/samples/connlogd.conf" --check-config
printf '[capture]\ninterfaces = eth0\nsnaplen = 5\n' >"$tmp/bad.conf"
expect 1 "^connlogd: $tmp/bad.conf:capture.snaplen: 5 is out of range" -c "$tmp/bad.conf" --check-config
printf '[output]\nformatt = json\n' >"$tmp/bad2.conf"
expect 1 "bad2.conf:output.formatt: unknown key" -c "$tmp/bad2.conf" --check-config
expect 1 "no such file\|No such file" -c "$tmp/missing.conf" --check-config
printf '[http]\nlisten = off\n' >"$tmp/noinput.conf"
expect 1 "no input" -c "$tmp/noinput.conf" --check-config
expect 1 "daemon.user: unknown user" -i eth0 --user no-such-user-xyz --check-config
expect 0 '^configuration OK$' -i eth0 --format json --http 127.0.0.1:0 --check-config
expect 1 "^connlogd: --http: " -i eth0 --http nowhere:80 --check-config
expect 1 "no input" --http 127.0.0.1:0 --logdir "$tmp"
expect 1 "no input: give -r FILE" 
# an interface that does not exist cannot be opened: exit 2
expect 2 "no-such-if0" -i no-such-if0 --http off --logdir "$tmp/l1"

# a flow-only daemon: starts unprivileged, serves HTTP, speaks sd_notify
# (READY, RELOADING on SIGHUP, STOPPING on SIGTERM), exits 0 on SIGTERM
python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg.replace("\n", " ") + "\n")
            out.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
listener=$!
i=0
while [ ! -S "$tmp/notify.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
NOTIFY_SOCKET=$tmp/notify.sock "$bin" --ipfix-listen udp://127.0.0.1:0 --http 127.0.0.1:0 --logdir "$tmp/l3" \
    --templates-dir "$top_srcdir/templates" >"$tmp/d.out" 2>"$tmp/d.err" &
pid=$!
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
    port=$(sed -n 's/.*HTTP on 127.0.0.1 port \([0-9]*\).*/\1/p' "$tmp/d.err")
    sleep 0.05
    i=$((i + 1))
done
[ -n "$port" ] || fail "no HTTP port announced: $(cat "$tmp/d.err")"
curl -sf "http://127.0.0.1:$port/stats" | grep -q '"flows":{"enabled":true' \
    || fail "/stats does not show the flow input"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$port/recent")
[ "$code" = 405 ] || fail "PUT /recent gave $code"
kill -HUP "$pid"
sleep 0.3
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ $rc -eq 0 ] || fail "daemon exit $rc on SIGTERM: $(cat "$tmp/d.err")"
ls "$tmp/l3" | grep -q '^conn\..*_.*\.log$' || fail "SIGHUP did not rotate: $(ls "$tmp/l3")"
wait $listener
grep -q '^READY=1' "$tmp/notify.log" || fail "no READY=1: $(cat "$tmp/notify.log")"
grep -q '^STATUS=collecting flows; HTTP port' "$tmp/notify.log" || fail "no STATUS: $(cat "$tmp/notify.log")"
grep -q '^RELOADING=1' "$tmp/notify.log" || fail "no RELOADING=1 on SIGHUP"
[ "$(grep -c '^READY=1' "$tmp/notify.log")" -eq 2 ] || fail "READY=1 must follow RELOADING=1"
[ "$(tail -n 1 "$tmp/notify.log")" = "STOPPING=1" ] || fail "STOPPING=1 not last: $(cat "$tmp/notify.log")"
tail -n 1 "$tmp/l3/conn.log" | grep -q '^#close' || fail "conn.log not closed"
echo "PASS: --check-config, exit codes, flow-only daemon lifecycle with sd_notify"
