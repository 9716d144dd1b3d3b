#!/bin/bash
# End to end on the shipped samples: connlogd's conn.log (TSV and JSON) must
# equal the reviewed golden files in tests/data/golden, apart from the
# #open/#close wall-clock stamps.  The goldens were checked row by row
# against the expectations reasoned out in samples/README.md.
#   tests/samples.sh --regen   rewrites the goldens (review the diff!)
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin=$top_builddir/src/connlogd
golden=$top_srcdir/tests/data/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
strip() { grep -v -e '^#open' -e '^#close' "$1"; }
for pcap in "$top_srcdir"/samples/*.pcap; do
    name=$(basename "$pcap" .pcap)
    [ "$name" = mixed ] && continue
    for fmt in tsv json; do
        out=$tmp/$name.$fmt
        mkdir -p "$out"
        if ! "$bin" -r "$pcap" --seed 1 --format "$fmt" --logdir "$out" -q; then
            echo "FAIL $name ($fmt): connlogd exited non-zero"; fail=1; continue
        fi
        ref=$golden/$name.$fmt.log
        if [ "${1:-}" = --regen ]; then cp "$out/conn.log" "$ref"; continue; fi
        if diff <(strip "$ref") <(strip "$out/conn.log") >"$tmp/diff"; then
            echo "ok   $name ($fmt)"
        else
            echo "FAIL $name ($fmt):"; sed 's/^/    /' "$tmp/diff" | head -20; fail=1
        fi
    done
done
# the TSV file is complete: header, #close, and one row per connection
strip "$golden/tcp-basic.tsv.log" | grep -c -v '^#' | grep -qx 9 || { echo "FAIL tcp-basic row count"; fail=1; }
exit $fail
