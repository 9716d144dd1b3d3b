#!/bin/bash
# Zeek conformance: run the shared corpus through connlogd and compare with
# Zeek's own conn.logs (../shared/tools/conformance).  Fails if the share of
# exact rows drops below the floor in tests/conformance.floor, the service
# agreement (default-mode runs) below tests/service.floor, or if any run
# fails.  Skipped (77) where the shared corpus is absent.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
shared=${CONNLOGD_SHARED:-$top_srcdir/../shared}
tool=$shared/tools/conformance
corpus=$shared/corpus/zeek
if [ ! -x "$tool" ] || [ ! -d "$corpus" ]; then
    echo "SKIP: no shared corpus at $shared"
    exit 77
fi
floor=$(cat "$top_srcdir/tests/conformance.floor")
svc_floor=$(cat "$top_srcdir/tests/service.floor")
out=$(python3 "$tool" --show 5 "$top_builddir/src/connlogd" "$corpus" 2>&1)
status=$?
echo "$out"
[ $status -eq 0 ] || { echo "FAIL: conformance tool exited $status"; exit 1; }
last=$(echo "$out" | tail -n 1)
pct=$(echo "$last" | sed -nE 's/^conformance: ([0-9.]+)% rows exact.*/\1/p')
failed_runs=$(echo "$last" | sed -nE 's/.*failed runs ([0-9]+).*/\1/p')
svc=$(echo "$last" | sed -nE 's/.* service ([0-9.]+)% .*/\1/p')
[ -n "$pct" ] || { echo "FAIL: no summary line"; exit 1; }
echo "rows exact: $pct% (floor $floor%), failed runs: $failed_runs"
if [ "${failed_runs:-1}" -ne 0 ]; then echo "FAIL: $failed_runs runs failed"; exit 1; fi
if ! python3 -c "import sys; sys.exit(0 if float('$pct') >= float('$floor') else 1)"; then
    echo "FAIL: conformance $pct% is below the floor $floor%"
    exit 1
fi
echo "service agreement: $svc% (floor $svc_floor%)"
if ! python3 -c "import sys; sys.exit(0 if float('${svc:-0}') >= float('$svc_floor') else 1)"; then
    echo "FAIL: service agreement $svc% is below the floor $svc_floor%"
    exit 1
fi
