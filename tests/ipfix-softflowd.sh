#!/bin/sh
# Replays a tiny hand-made pcap through softflowd into tests/ipfix_dump and
# checks what the collector delivers for NetFlow v5, v9, IPFIX, IPFIX biflow
# (-b) over UDP, and IPFIX over TCP.  softflowd -a stamps flows with the
# pcap's times, so every record must come out at 2023-11-14T22:13:20Z.
# Skipped (exit 77) when softflowd is not installed.
# shellcheck disable=SC2046,SC2086
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
dump=$top_builddir/tests/ipfix_dump
templates=$top_srcdir/templates

if ! command -v softflowd >/dev/null 2>&1; then
    echo "SKIP: softflowd not installed"
    exit 77
fi
if [ ! -x "$dump" ]; then
    echo "FAIL: $dump not built"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipfix-softflowd.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# ------------------------------------------------------------------ pcap
# Bytes are written with printf octal escapes (portable to dash).  The
# helpers pass bytes around as space-separated hex words, split on purpose
# (hence the file-wide shellcheck directive at the top).
emit() {
    for b in "$@"; do
        # shellcheck disable=SC2059
        printf "\\$(printf '%03o' "0x$b")"
    done
}
h16() { printf '%02x %02x' $(( ($1 >> 8) & 255 )) $(( $1 & 255 )); }
h32() { printf '%02x %02x %02x %02x' $(( ($1 >> 24) & 255 )) $(( ($1 >> 16) & 255 )) \
            $(( ($1 >> 8) & 255 )) $(( $1 & 255 )); }
h32le() { printf '%02x %02x %02x %02x' $(( $1 & 255 )) $(( ($1 >> 8) & 255 )) \
              $(( ($1 >> 16) & 255 )) $(( ($1 >> 24) & 255 )); }

A="0a 00 00 01"     # 10.0.0.1
B="0a 00 00 02"     # 10.0.0.2
T=1700000000        # 2023-11-14T22:13:20Z

# packet USEC PROTO SRC(4 hex bytes) DST L4-BYTES...: one Ethernet/IPv4
# packet at T + USEC microseconds (checksums left 0: softflowd ignores them)
packet() {
    usec=$1 proto=$2; shift 2
    src="$1 $2 $3 $4"; shift 4
    dst="$1 $2 $3 $4"; shift 4
    n=$#
    iplen=$((20 + n))
    caplen=$((14 + iplen))
    emit $(h32le $((T + usec / 1000000))) $(h32le $((usec % 1000000))) \
        $(h32le $caplen) $(h32le $caplen)
    emit 00 01 02 03 04 05 00 06 07 08 09 0a 08 00
    emit 45 00 $(h16 $iplen) 00 01 00 00 40 $(printf %02x "$proto") 00 00 $src $dst
    emit "$@"
}
tcp() { # SPORT DPORT SEQ ACK FLAGS [PAYLOAD...]
    sp=$1 dp=$2 seq=$3 ack=$4 fl=$5; shift 5
    echo "$(h16 "$sp") $(h16 "$dp") $(h32 "$seq") $(h32 "$ack") 50 $fl ff ff 00 00 00 00 $*"
}
udp() { # SPORT DPORT PAYLOAD...
    sp=$1 dp=$2; shift 2
    echo "$(h16 "$sp") $(h16 "$dp") $(h16 $((8 + $#))) 00 00 $*"
}
DATA="47 45 54 20 2f 0d 0a 0d 0a"   # "GET /\r\n\r\n"

pcap=$tmp/tiny.pcap
{
    emit d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 ff ff 00 00 01 00 00 00
    # TCP 10.0.0.1:40000 -> 10.0.0.2:80, handshake, request, reply, FINs
    packet 0      6 $A $B $(tcp 40000 80 1000 0 02)
    packet 10000  6 $B $A $(tcp 80 40000 5000 1001 12)
    packet 20000  6 $A $B $(tcp 40000 80 1001 5001 10)
    packet 30000  6 $A $B $(tcp 40000 80 1001 5001 18 $DATA)
    packet 40000  6 $B $A $(tcp 80 40000 5001 1010 18 $DATA)
    packet 50000  6 $A $B $(tcp 40000 80 1010 5010 11)
    packet 60000  6 $B $A $(tcp 80 40000 5010 1011 11)
    packet 70000  6 $A $B $(tcp 40000 80 1011 5011 10)
    # UDP query and answer
    packet 170000 17 $A $B $(udp 5353 53 12 34 01 00 00 01 00 00 00 00 00 00)
    packet 180000 17 $B $A $(udp 53 5353 12 34 81 80 00 01 00 01 00 00 00 00 00 00)
    # ICMP echo request and reply
    packet 200000 1 $A $B 08 00 00 00 00 01 00 01
    packet 210000 1 $B $A 00 00 00 00 00 01 00 01
} > "$pcap"

# ------------------------------------------------------------- the runs
fail=0
failmsg() {
    echo "FAIL: $*"
    fail=1
}

# run NAME SPEC WANT SOFTFLOWD-ARGS...: start the dump on SPEC (port 0),
# replay the pcap into it, wait for WANT flows
run() {
    name=$1 spec=$2 want=$3; shift 3
    rm -f "$tmp/port"
    "$dump" --templates-dir "$templates" --port-file "$tmp/port" -n "$want" -t 10 --stats \
        "$spec" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    pid=$!
    i=0
    while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    port=$(head -n 1 "$tmp/port" 2>/dev/null)
    if [ -z "$port" ]; then
        failmsg "$name: collector did not start: $(cat "$tmp/$name.err")"
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return
    fi
    softflowd -r "$pcap" -a -n "127.0.0.1:$port" "$@" > "$tmp/$name.sf" 2>&1 \
        || failmsg "$name: softflowd failed: $(cat "$tmp/$name.sf")"
    wait "$pid"
    rc=$?
    [ $rc -eq 0 ] || failmsg "$name: ipfix_dump exit $rc (wanted $want flows), got" \
        "$(grep -c '^flow' "$tmp/$name.out")"
    got=$(grep -c '^flow' "$tmp/$name.out")
    [ "$got" -eq "$want" ] || failmsg "$name: $got flows, expected $want"
    # nothing malformed, nothing missing, no loss, times from the pcap
    grep '^exporter' "$tmp/$name.out" | grep -q ' malformed=0 ' \
        || failmsg "$name: malformed records: $(grep '^exporter' "$tmp/$name.out")"
    grep '^exporter' "$tmp/$name.out" | grep -q ' missing_template=0 .* time_implausible=0 time_missing=0 ' \
        || failmsg "$name: template or time trouble: $(grep '^exporter' "$tmp/$name.out")"
    grep '^exporter' "$tmp/$name.out" | grep -q ' seq_gaps=0 ' \
        || failmsg "$name: sequence gaps: $(grep '^exporter' "$tmp/$name.out")"
    # (v9 headers carry whole seconds only, so its times may sit up to a
    # second early)
    if grep '^flow' "$tmp/$name.out" | grep -E -v -q ' start=1(699999999|700000000)\.'; then
        failmsg "$name: flow times not from the pcap:"
        grep '^flow' "$tmp/$name.out" | grep -E -v ' start=1(699999999|700000000)\.'
    fi
}

# line NAME PATTERN: exactly one flow line matches all of PATTERN's words
line() {
    name=$1; shift
    n=$(grep '^flow' "$tmp/$name.out" | {
        m=$(cat)
        for w in "$@"; do m=$(printf '%s\n' "$m" | grep -F -e " $w "); done
        printf '%s\n' "$m" | grep -c '^flow'
    })
    [ "$n" -eq 1 ] || failmsg "$name: $n flows match '$*'"
}

run v5 netflow://127.0.0.1:0 6 -v 5
line v5 proto=6 src=10.0.0.1 sport=40000 dport=80 pkts=5 flags=0x1b source=v5
line v5 proto=6 src=10.0.0.2 sport=80 pkts=3 flags=0x1b
line v5 proto=17 src=10.0.0.1 sport=5353 dport=53 pkts=1
line v5 proto=1 src=10.0.0.1 sport=0 dport=2048
line v5 proto=1 src=10.0.0.2 sport=0 dport=0

run v9 netflow://127.0.0.1:0 6 -v 9
line v9 proto=6 src=10.0.0.1 sport=40000 dport=80 pkts=5 flags=0x1b source=v9
line v9 proto=17 src=10.0.0.2 sport=53 dport=5353 pkts=1
line v9 proto=1 src=10.0.0.1 sport=0 dport=2048

run ipfix udp://127.0.0.1:0 6 -v 10
line ipfix proto=6 src=10.0.0.1 sport=40000 dport=80 pkts=5 rev=0 flags=0x1b reason=3 source=ipfix
line ipfix proto=1 src=10.0.0.2 sport=0 dport=0

run ipfix-on-netflow-port netflow://127.0.0.1:0 6 -v 10 -A milli
line ipfix-on-netflow-port proto=6 src=10.0.0.1 pkts=5 source=ipfix

run biflow udp://127.0.0.1:0 4 -v 10 -b
line biflow proto=6 src=10.0.0.1 sport=40000 dst=10.0.0.2 dport=80 pkts=5 rev=1 rpkts=3 flags=0x1b rflags=0x1b
line biflow proto=17 src=10.0.0.1 sport=5353 pkts=1 rev=1 rpkts=1

run tcp tcp://127.0.0.1:0 6 -v 10 -P tcp -A micro
line tcp proto=6 src=10.0.0.1 sport=40000 dport=80 pkts=5 flags=0x1b source=ipfix

if [ $fail -ne 0 ]; then
    for f in "$tmp"/*.out; do
        echo "--- $f"
        cat "$f"
    done
    exit 1
fi
echo "PASS: softflowd v5, v9, IPFIX, IPFIX biflow and IPFIX/TCP replays"
exit 0
