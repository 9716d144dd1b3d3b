#!/bin/sh
# A burst bigger than the UDP receive buffer: the kernel drops datagrams the
# daemon never sees, and when they are the end of a burst no later sequence
# number reveals them.  /stats must count them (collector.socket_drops), on
# the IPFIX port and on the NetFlow port (libfixbuf's socket) alike, so that
# datagrams taken plus datagrams dropped equal datagrams sent.
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need curl python3

make_netns
# the smallest buffer the kernel grants: a few datagrams
printf '[ipfix]\nudp_rcvbuf = 4096\n[daemon]\nstats_interval = 0.2\n' >"$tmp/small.conf"
start_daemon -c "$tmp/small.conf" --ipfix-listen udp://127.0.0.1:4739 \
    --netflow-listen udp://127.0.0.1:2055 --templates-dir "$top_srcdir/templates" \
    --logdir "$tmp/logs"
grep -q "UDP receive buffer is" "$tmp/daemon.err" && fail "4096 bytes refused as root"

# Stopped, the daemon reads nothing: 300 datagrams to each port pile up.
kill -STOP "$daemon_pid"
nsx python3 - <<'PY' || { kill -CONT "$daemon_pid"; fail "sending failed"; }
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in (4739, 2055):
    for i in range(300):
        # version 0xfffe: no protocol of ours, counted as garbage when read
        s.sendto(b"\xff\xfe" + bytes(510), ("127.0.0.1", port))
PY
kill -CONT "$daemon_pid"

c="s['flows']['collector']"
wait_for "$c['datagrams'] + $c['socket_drops']" 600 10 ||
    fail "datagrams + socket_drops != 600 sent: $(stat "$c")"
drops=$(stat "$c['socket_drops']")
[ "$drops" -gt 0 ] || fail "no drops counted: $(stat "$c")"
[ "$(stat "$c['garbage']")" = "$(stat "$c['datagrams']")" ] ||
    fail "every datagram taken is garbage: $(stat "$c")"
http /metrics | grep -q 'counter="socket_drops"} '"$drops" || fail "/metrics lacks socket_drops $drops"

# The default (4 MiB, granted to root) holds the whole burst: nothing dropped.
stop_daemon
start_daemon --ipfix-listen udp://127.0.0.1:4739 --logdir "$tmp/logs2"
kill -STOP "$daemon_pid"
nsx python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"\xff\xfe" + bytes(510), ("127.0.0.1", 4739))'
kill -CONT "$daemon_pid"
wait_for "$c['datagrams']" 300 10 || fail "default buffer: $(stat "$c")"
[ "$(stat "$c['socket_drops']")" = 0 ] || fail "default buffer dropped: $(stat "$c")"
stop_daemon
echo "PASS: $drops of 600 datagrams dropped by the kernel and counted; none with the default buffer"
