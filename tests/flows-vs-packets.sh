#!/bin/bash
# The flow path against the packet path on the same traffic: each pcap is
# exported by Debian's softflowd as IPFIX (biflow -b and uniflow), the
# datagrams are kept as an IPFIX file, and connlogd --ipfix-file's conn.log
# is compared with connlogd -r's for the same pcap (tests/tools/flowcompare.py).
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
if [ -d "$shared/corpus/zeek/traces" ]; then
    for t in "$shared"/corpus/zeek/traces/*.pcap; do
        case $(basename "$t") in
            core.cisco-fabric-path*|core.pbb*|core.vntag*|core.mpls*|core.vlan-mpls*|core.pppoe*|\
            core.ppp.*|core.wlanmon*|core.erspan*) ;;
            *) pcaps+=("$t") ;;
        esac
    done
fi
fail=0
for mode in biflow uniflow; do
    flags=(-v 10); [ $mode = biflow ] && flags+=(-b)
    cat /dev/null > "$tmp/all-packets.log"; cat /dev/null > "$tmp/all-flows.log"
    for pcap in "${pcaps[@]}"; do
        name=$(basename "$pcap")
        "$bin" -r "$pcap" -C -q --logdir "$tmp/p" || { echo "FAIL: connlogd -r $name"; fail=1; continue; }
        exec 3< <(python3 "$top_srcdir/tests/tools/udpsink.py" 0 "$tmp/$name.ipfix" 0.3)
        read -r port <&3
        softflowd -a -r "$pcap" -n "127.0.0.1:$port" "${flags[@]}" >/dev/null 2>&1
        cat <&3 >/dev/null; exec 3<&-
        if [ ! -s "$tmp/$name.ipfix" ]; then continue; fi
        "$bin" --ipfix-file "$tmp/$name.ipfix" -q --logdir "$tmp/f" || { echo "FAIL: connlogd --ipfix-file ($name)"; fail=1; continue; }
        grep -v '^#' "$tmp/p/conn.log" >> "$tmp/all-packets.log"
        grep -v '^#' "$tmp/f/conn.log" >> "$tmp/all-flows.log"
        header=$(grep '^#fields' "$tmp/p/conn.log")
    done
    for f in all-packets all-flows; do { echo "$header"; cat "$tmp/$f.log"; } > "$tmp/$f.tsv"; done
    echo "== IPFIX $mode over ${#pcaps[@]} pcaps"
    python3 "$top_srcdir/tests/tools/flowcompare.py" --show 30 "$tmp/all-packets.tsv" "$tmp/all-flows.tsv" \
        --min-state 90 --min-pkts 100 --min-counts 95 || fail=1
done
exit $fail
