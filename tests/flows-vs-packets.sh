#!/bin/bash
# The flow path against the packet path on the same traffic: each pcap is
# exported by Debian's softflowd as IPFIX biflow (-b) and uniflow (kept as an
# IPFIX file and read with --ipfix-file), and as NetFlow v9, NetFlow v5 and
# IPFIX over TCP to connlogd's listeners; the flow-path conn.log is compared
# with connlogd -r's for the same pcap (tests/tools/flowcompare.py).
# Targets (issue 3): TCP conn_state agrees on >= 90%, packet counts exact.
# IP bytes are exact except where softflowd counts Ethernet padding and
# trailers as IP bytes (it reports captured bytes, not the IP length), so
# they are held to 95%.  Uses the shipped samples and, when ../shared exists, the
# Zeek corpus traces.  Skipped (77) without softflowd or python3.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$top_builddir/src/connlogd" "$tmp/connlogd" || exit 1
bin=$tmp/connlogd
command -v softflowd >/dev/null && command -v python3 >/dev/null || { echo "SKIP: softflowd/python3 missing"; exit 77; }
shared=${CONNLOGD_SHARED:-$top_srcdir/../shared}
pcaps=("$top_srcdir"/samples/*.pcap)
# Corpus traces whose link layer softflowd cannot parse (FabricPath, PBB,
# VN-Tag, MPLS, PPPoE, PPP, 802.11, ERSPAN) are left out: the exporter does
# not see those connections at all, or sees them wrongly.
if [ -d "$shared/corpus/zeek/traces" ] && [ "${FLOWS_VS_PACKETS_CORPUS:-1}" != 0 ]; then
    for t in "$shared"/corpus/zeek/traces/*.pcap; do
        case $(basename "$t") in
            core.cisco-fabric-path*|core.pbb*|core.vntag*|core.mpls*|core.vlan-mpls*|core.pppoe*|\
            core.ppp.*|core.wlanmon*|core.erspan*) ;;
            *) pcaps+=("$t") ;;
        esac
    done
fi
fail=0

# export PCAP with softflowd FLAGS; leave the flow-path conn.log in $tmp/f
export_file() { # pcap flags...: IPFIX datagrams kept as a file, read offline
    local pcap=$1; shift
    local name; name=$(basename "$pcap")
    rm -f "$tmp/x.ipfix"
    exec 3< <(python3 "$top_srcdir/tests/tools/udpsink.py" 0 "$tmp/x.ipfix" 0.3)
    read -r port <&3
    softflowd -a -r "$pcap" -n "127.0.0.1:$port" "$@" >/dev/null 2>&1
    cat <&3 >/dev/null; exec 3<&-
    rm -rf "$tmp/f"; mkdir -p "$tmp/f"
    [ -s "$tmp/x.ipfix" ] || return 0
    "$bin" --ipfix-file "$tmp/x.ipfix" -q --logdir "$tmp/f" 2>/dev/null
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# flow records the daemon has taken in so far (its /stats)
daemon_records() {
    local js
    js=$(curl -sf "http://127.0.0.1:$1/stats") || { echo -1; return; }
    python3 -c 'import json,sys; print(json.loads(sys.argv[1])["flows"]["records"])' "$js" 2>/dev/null || echo -1
}
export_live() { # pcap listen-option scheme flags...: through the daemon's listener
    local pcap=$1 opt=$2 scheme=$3; shift 3
    local port http; port=$(free_port); http=$(free_port)
    rm -rf "$tmp/f"; mkdir -p "$tmp/f"
    "$bin" "$opt" "$scheme://127.0.0.1:$port" --http "127.0.0.1:$http" -q --logdir "$tmp/f" 2>"$tmp/daemon.err" &
    local pid=$!
    # listeners are bound before HTTP answers
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$http/health" >/dev/null && break; sleep 0.05; done
    softflowd -a -r "$pcap" -n "127.0.0.1:$port" "$@" >/dev/null 2>&1
    # wait until every record is in: the count stops moving (the machine may be busy)
    local last=-2 now zero=0
    for _ in $(seq 100); do
        sleep 0.2
        now=$(daemon_records "$http")
        [ "$now" = "$last" ] && [ "$now" -gt 0 ] 2>/dev/null && break
        [ "$now" = 0 ] && zero=$((zero + 1)) && [ $zero -ge 15 ] && break # nothing exported
        last=$now
    done
    kill -TERM $pid; wait $pid
}

run_mode() { # label exporter-function args...
    local label=$1; shift
    : > "$tmp/all-packets.log"; : > "$tmp/all-flows.log"
    for pcap in "${pcaps[@]}"; do
        "$bin" -r "$pcap" -C -q --logdir "$tmp/p" || { echo "FAIL: connlogd -r $(basename "$pcap")"; fail=1; continue; }
        "$@" "$pcap" 2>/dev/null || true
        [ -f "$tmp/f/conn.log" ] || continue
        grep -v '^#' "$tmp/p/conn.log" >> "$tmp/all-packets.log"
        # a daemon run that crosses the hour rotates: take every file
        cat "$tmp"/f/conn*.log | grep -v '^#' >> "$tmp/all-flows.log"
        header=$(grep '^#fields' "$tmp/p/conn.log")
    done
    for f in all-packets all-flows; do { echo "$header"; cat "$tmp/$f.log"; } > "$tmp/$f.tsv"; done
    echo "== $label over ${#pcaps[@]} pcaps"
    python3 "$top_srcdir/tests/tools/flowcompare.py" --show "${SHOW:-3}" "$tmp/all-packets.tsv" "$tmp/all-flows.tsv" \
        --min-state 90 --min-pkts 100 --min-counts 95 || fail=1
}

biflow() { export_file "$1" -v 10 -b; }
uniflow() { export_file "$1" -v 10; }
v9() { export_live "$1" --netflow-listen udp -v 9; }
v5() { export_live "$1" --netflow-listen udp -v 5; }
ipfix_tcp() { export_live "$1" --ipfix-listen tcp -v 10 -P tcp; }

run_mode "IPFIX biflow (file)" biflow
run_mode "IPFIX uniflow (file)" uniflow
run_mode "NetFlow v9 over UDP" v9
run_mode "NetFlow v5 over UDP" v5
run_mode "IPFIX over TCP" ipfix_tcp
exit $fail
