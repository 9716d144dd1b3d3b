#!/bin/bash
# Bounded memory under a flood: bench/pcapgen --flood writes a SYN flood
# from never-repeated random sources and a UDP scan (one new connection per
# packet, 1 us apart, so no timer helps) with legitimate TCP sessions and DNS
# exchanges woven in.  connlogd -r with --max-conns N must
#   - keep peak RSS under base + N * PER_CONN + SLACK (base: a tiny trace),
#     while the same flood without the cap goes over that bound;
#   - never hold more than N connections, and count every eviction;
#   - log evicted connections, not drop them: rows == connections in the trace;
#   - log every legitimate connection whole (SF, ShADdFf / Dd).
# FLOOD_PACKETS and FLOOD_CAP size it (bench/flood runs bigger ones).
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
connlogd=$top_builddir/src/connlogd
pcapgen=$top_builddir/bench/pcapgen
packets=${FLOOD_PACKETS:-100000}
cap=${FLOOD_CAP:-5000}
per_conn=${FLOOD_PER_CONN:-1024}   # bytes per tracked connection allowed (measured: ~400)
slack=${FLOOD_SLACK_KIB:-4096}     # allocator and buffer slack, KiB

[ -x "$pcapgen" ] && [ -x "$connlogd" ] || { echo "FAIL: build src/connlogd and bench/pcapgen"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flood.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Peak RSS in KiB of a command: GNU time when there is one, else VmHWM.
peak_rss() {
    if /usr/bin/time -f %M true >/dev/null 2>&1; then
        /usr/bin/time -o "$tmp/rss" -f %M "$@"
        local rc=$?
        tail -n 1 "$tmp/rss"
        return $rc
    fi
    "$@" &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [ -n "$v" ] && hwm=$v
        sleep 0.01
    done
    wait "$pid"
    local rc=$?
    echo "$hwm"
    return $rc
}

fail=0
failmsg() { echo "FAIL: $*"; fail=1; }

"$pcapgen" --flood --packets "$packets" --seed 7 -o "$tmp/flood.pcap" 2>"$tmp/gen" ||
    { cat "$tmp/gen"; exit 1; }
cat "$tmp/gen"
field() { sed -n "s/.* \([0-9][0-9]*\) $1[,].*/\1/p" "$tmp/gen"; }
conns=$(field connections)
legit_tcp=$(field legit_tcp)
legit_dns=$(field legit_dns)
[ -n "$conns" ] && [ -n "$legit_tcp" ] || { echo "FAIL: cannot read pcapgen's summary"; exit 1; }

mkdir -p "$tmp/base" "$tmp/cap" "$tmp/nocap"
base=$(peak_rss "$connlogd" -r "$top_srcdir/samples/tcp-basic.pcap" -q --logdir "$tmp/base") ||
    failmsg "connlogd on tcp-basic.pcap failed"
rss=$(peak_rss "$connlogd" -r "$tmp/flood.pcap" --seed 1 --max-conns "$cap" \
    --logdir "$tmp/cap" 2>"$tmp/cap.err") || failmsg "connlogd --max-conns $cap exited $?"
nocap=$(peak_rss "$connlogd" -r "$tmp/flood.pcap" --seed 1 -q --logdir "$tmp/nocap") ||
    failmsg "connlogd without a cap failed"
bound=$((base + cap * per_conn / 1024 + slack))
echo "peak RSS: base ${base} KiB, --max-conns $cap ${rss} KiB (bound ${bound} KiB), no cap ${nocap} KiB"
if ldd "$connlogd" 2>/dev/null | grep -q -e libasan -e libtsan; then
    # shadow memory and quarantine: a sanitizer build's RSS says nothing
    echo "(sanitizer build: RSS bound not checked)"
else
    [ "$rss" -le "$bound" ] || failmsg "RSS ${rss} KiB over the bound ${bound} KiB"
    [ "$nocap" -gt "$bound" ] ||
        failmsg "the flood is too small to test the cap (no cap: ${nocap} KiB <= ${bound} KiB)"
fi

summary=$(grep '^connlogd: .* packets' "$tmp/cap.err")
echo "$summary"
logged=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) connections logged.*/\1/p')
peak=$(echo "$summary" | sed -n 's/.*peak \([0-9][0-9]*\) active.*/\1/p')
evicted=$(sed -n 's/^  weird conn_table_full_evicted *\([0-9][0-9]*\)$/\1/p' "$tmp/cap.err")
rows=$(grep -vc '^#' "$tmp/cap/conn.log")
[ "${peak:-0}" -le "$cap" ] || failmsg "peak $peak active connections over the cap $cap"
[ "$logged" = "$conns" ] || failmsg "$logged connections logged, the trace holds $conns"
[ "$rows" = "$conns" ] || failmsg "$rows conn.log rows, the trace holds $conns connections"
# Nothing expires in a trace this short: every connection past the cap
# pushed exactly one out.
[ "${evicted:-0}" = $((conns - cap)) ] ||
    failmsg "evictions ${evicted:-0}, expected $((conns - cap))"

# Legitimate traffic: 192.168.77.0/24, whole.
awk -F'\t' '!/^#/ && $3 ~ /^192\.168\.77\./ {print $7, $12, $16}' "$tmp/cap/conn.log" |
    sort | uniq -c >"$tmp/legit"
sed 's/^/  legit: /' "$tmp/legit"
grep -q "^ *$legit_tcp tcp SF ShADdFf\$" "$tmp/legit" ||
    failmsg "not all $legit_tcp legitimate TCP sessions logged as SF ShADdFf"
grep -q "^ *$legit_dns udp SF Dd\$" "$tmp/legit" ||
    failmsg "not all $legit_dns legitimate DNS exchanges logged as SF Dd"
[ "$(wc -l <"$tmp/legit")" -eq 2 ] || failmsg "legitimate connections in other states"

[ $fail -eq 0 ] && echo "PASS: $conns connections, cap $cap, $evicted evicted and logged"
exit $fail
