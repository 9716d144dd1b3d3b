#!/bin/sh
# Rotation and shutdown lose nothing: connlogd captures a namespace's
# loopback while a sender opens 240 UDP "connections" (one source port each)
# over about six seconds.  conn.log rotates every 2 s by interval and on
# three SIGHUPs (one with a broken config file, which must be refused and
# leave the daemon running), and SIGTERM ends it with connections still
# open.  Every connection must then be in exactly one file, every file must
# end with #close, and the rotated names must follow conn.<open>_<close>.log.
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need curl python3

make_netns
cat >"$tmp/connlogd.conf" <<CONF
[capture]
interfaces = lo
ignore_checksums = true
[conn]
udp_inactivity_timeout = 1 sec
wall_clock_grace = 0.5
[output]
logdir = $tmp/logs
rotate_interval = 2
[http]
listen = 127.0.0.1:8080
CONF
cp "$tmp/connlogd.conf" "$tmp/good.conf"
start_daemon -c "$tmp/connlogd.conf"

# The sender: 240 sockets kept open (so no source port repeats), one
# datagram each to a listening port, 25 ms apart; ports listed in order.
nsx python3 - "$tmp/ports" <<'PY' &
import socket, sys, time
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 9999))
socks, ports = [], []
for i in range(240):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(b"x%d" % i, ("127.0.0.1", 9999))
    socks.append(s)
    ports.append(s.getsockname()[1])
    time.sleep(0.025)
with open(sys.argv[1], "w") as f:
    f.write("\n".join(map(str, ports)) + "\n")
PY
sender=$!
sleep 1.5
kill -HUP "$daemon_pid"
sleep 1.5
echo "[capture" >"$tmp/connlogd.conf"          # broken: must be refused
kill -HUP "$daemon_pid"
sleep 1.5
cp "$tmp/good.conf" "$tmp/connlogd.conf"
kill -HUP "$daemon_pid"
wait $sender || fail "sender failed"
wait_for "s['config']['reload_failures']" 1 5
wait_for "s['config']['reloads']" 3 5
grep -q "reload: .*keeping the running configuration" "$tmp/daemon.err" \
    || fail "the broken config was not reported"
stop_daemon                                    # the last connections are still open here

ls "$tmp/logs" >"$tmp/files"
nfiles=$(grep -c '^conn\.' "$tmp/files")
[ "$nfiles" -ge 5 ] || fail "expected at least 5 rotated files, have: $(cat "$tmp/files")"
grep -v -E '^conn\.log$|^conn\.[0-9]{4}(-[0-9]{2}){5}_[0-9]{4}(-[0-9]{2}){5}(-[0-9]+)?\.log$' \
    "$tmp/files" && fail "unexpected file names"
for f in "$tmp"/logs/conn*.log; do
    [ "$(tail -n 1 "$f" | cut -f 1)" = "#close" ] || fail "$f does not end with #close"
    [ "$(grep -c '^#open' "$f")" -eq 1 ] || fail "$f has not exactly one #open"
done

# each sender port exactly once over all files (id.orig_p, to port 9999)
cat "$tmp"/logs/conn*.log | awk -F '\t' '!/^#/ && $6 == 9999 && $7 == "udp" { print $4 }' \
    | sort -n >"$tmp/logged"
sort -n "$tmp/ports" >"$tmp/sent"
if ! cmp -s "$tmp/sent" "$tmp/logged"; then
    diff "$tmp/sent" "$tmp/logged" | head -n 20
    fail "logged connections differ from those sent ($(wc -l <"$tmp/sent") sent, $(wc -l <"$tmp/logged") logged)"
fi
used=0
for f in "$tmp"/logs/conn*.log; do
    awk -F '\t' '!/^#/ && $6 == 9999 { n++ } END { exit !n }' "$f" && used=$((used + 1))
done
[ "$used" -ge 3 ] || fail "the rows should spread over several files, only $used have any"
echo "PASS: 240 connections across $nfiles files (interval + SIGHUP rotation, SIGTERM), each once"
