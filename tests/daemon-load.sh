#!/bin/sh
# HTTP under load while ingesting: tcpreplay plays samples/mixed.pcap (20000
# packets) seven times (7 s) into a veth at 20000 packets/s while wrk hammers
# /stats and then /recent for 3 s each with 16 connections.  wrk must see no
# socket errors and no non-2xx answers; capture must make progress during
# each run (ingest never stalls behind HTTP), and every replayed packet must
# be accounted for, with kernel drops under 1% (two cores are shared by
# tcpreplay, wrk, connlogd and whatever other tests run beside this one).
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need tcpreplay curl python3 wrk

make_netns
make_veth tx0 cap0
printf '[capture]\nbuffer_size = 128\n' >"$tmp/load.conf"
start_daemon -c "$tmp/load.conf" -i cap0 --logdir "$tmp/logs" --seed 1
loops=7
nsx tcpreplay -q --pps 20000 --loop $loops -i tx0 "$samples/mixed.pcap" >"$tmp/replay" 2>&1 &
replay=$!
sleep 0.5
for path in /stats "/recent?limit=100"; do
    before=$(stat "s['interfaces'][0]['packets']")
    nsx wrk -t 2 -c 16 -d 3s --timeout 2s "http://127.0.0.1:8080$path" >"$tmp/wrk" 2>&1 \
        || fail "wrk failed: $(cat "$tmp/wrk")"
    grep -q 'Requests/sec' "$tmp/wrk" || fail "wrk printed no result: $(cat "$tmp/wrk")"
    if grep -E -q 'Socket errors|Non-2xx' "$tmp/wrk"; then
        cat "$tmp/wrk"
        fail "errors under load on $path"
    fi
    rps=$(awk '/Requests\/sec/ { printf "%d", $2 }' "$tmp/wrk")
    [ "$rps" -ge 200 ] || fail "only $rps requests/s on $path"
    after=$(stat "s['interfaces'][0]['packets']")
    [ "$after" -gt "$before" ] || fail "no packets captured while wrk ran on $path"
    echo "$path: $rps requests/s, $((after - before)) packets captured meanwhile"
done
wait $replay || fail "tcpreplay: $(cat "$tmp/replay")"
total=$((20000 * loops))
wait_for "s['interfaces'][0]['packets'] + s['interfaces'][0]['kernel_dropped']" "$total" 15
drops=$(stat "s['interfaces'][0]['kernel_dropped']")
[ $((drops * 100)) -lt "$total" ] || fail "$drops of $total packets dropped by the kernel"
stop_daemon
rows=$(grep -c -v '^#' "$tmp/logs/conn.log")
[ "$rows" -gt 0 ] || fail "no connections logged"
echo "PASS: HTTP under load, $total packets accounted for ($drops dropped), $rows rows"
