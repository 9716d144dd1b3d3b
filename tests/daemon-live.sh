#!/bin/sh
# Live capture end to end: connlogd captures on two veth interfaces in a
# network namespace while tcpreplay plays samples/tcp-basic.pcap into one
# and samples/udp-icmp.pcap into the other, at their recorded speed.  After
# SIGTERM, conn.log must hold the same connections as `connlogd -r` of the
# two files (states, history, counts; not ts/uid/duration), and /stats must
# have counted every packet on the right interface with no drops.  The
# daemon drops root for "nobody" once the interfaces are open, and must
# keep capturing and rotating as nobody.
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need tcpreplay curl python3

make_netns
make_veth tx0 cap0
make_veth tx1 cap1

off=$tmp/offline
"$connlogd" -q -r "$samples/tcp-basic.pcap" --logdir "$off/a" || fail "offline run failed"
"$connlogd" -q -r "$samples/udp-icmp.pcap" --logdir "$off/b" || fail "offline run failed"

id nobody >/dev/null 2>&1 || skip "no user nobody"
chmod 755 "$tmp"
mkdir "$tmp/live" && chown nobody "$tmp/live"
start_daemon -i cap0 -i cap1 --logdir "$tmp/live" --seed 1 --user nobody
uid=$(id -u nobody)
grep -q "^Uid:[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid[[:space:]]*$uid\$" "/proc/$daemon_pid/status" \
    || fail "not running as nobody: $(grep -E '^(Uid|Gid|Groups)' "/proc/$daemon_pid/status")"
grep -q "^Groups:[[:space:]]*$(id -g nobody)[[:space:]]*\$" "/proc/$daemon_pid/status" \
    || fail "supplementary groups kept: $(grep '^Groups' "/proc/$daemon_pid/status")"
n0=$(tcpdump -nr "$samples/tcp-basic.pcap" 2>/dev/null | wc -l)
n1=$(tcpdump -nr "$samples/udp-icmp.pcap" 2>/dev/null | wc -l)
nsx tcpreplay -q -i tx0 "$samples/tcp-basic.pcap" >"$tmp/replay0" 2>&1 &
r0=$!
nsx tcpreplay -q -i tx1 "$samples/udp-icmp.pcap" >"$tmp/replay1" 2>&1 || fail "tcpreplay: $(cat "$tmp/replay1")"
wait $r0 || fail "tcpreplay: $(cat "$tmp/replay0")"

wait_for "s['interfaces'][0]['packets']" "$n0" 10
wait_for "s['interfaces'][1]['packets']" "$n1" 10
[ "$(stat "s['interfaces'][0]['name'] + ' ' + s['interfaces'][1]['name']")" = "cap0 cap1" ] \
    || fail "interfaces in /stats: $(stat "s['interfaces']")"
[ "$(stat "sum(i['kernel_dropped'] + i['if_dropped'] for i in s['interfaces'])")" = 0 ] \
    || fail "drops: $(stat "s['interfaces']")"
kill -HUP "$daemon_pid"           # rotation as nobody
wait_for "s['logs']['rotations']" 1 5
stop_daemon

grep -q '^#close' "$tmp/live/conn.log" || fail "conn.log was not closed"
[ "$(ls "$tmp/live" | wc -l)" -eq 2 ] || fail "expected conn.log and one rotated file: $(ls "$tmp/live")"
python3 "$top_srcdir/tests/conncompare.py" "$off/a/conn.log,$off/b/conn.log" "$(ls "$tmp"/live/conn*.log | tr '\n' ',' | sed 's/,$//')" \
    >"$tmp/cmp" || { cat "$tmp/cmp"; fail "live conn.log differs from the offline one"; }
echo "PASS: live capture of $n0 + $n1 packets on two interfaces matches -r: $(tail -n 1 "$tmp/cmp")"
