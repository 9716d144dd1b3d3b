#!/bin/sh
# valgrind memcheck on end-to-end runs: connlogd -r samples/tcp-basic.pcap,
# connlogd --ipfix-file on a small softflowd export of it (or, without
# softflowd, a hand-built one), and a few malformed inputs from the bad-input
# catalogue (error paths must not leak either).  Any memory error or
# definite, indirect or possible leak fails.  Skipped (77) without valgrind.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
connlogd=$top_builddir/src/connlogd
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 77; }
# A sanitizer build (tests/run-asan) cannot run under valgrind.
if ldd "$connlogd" 2>/dev/null | grep -q -e libasan -e libtsan -e libubsan; then
    echo "SKIP: $connlogd is built with sanitizers"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/valgrind.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# GSlice off, freed memory cleared: leaks show as leaks, not as slices.
G_SLICE=always-malloc G_DEBUG=gc-friendly
export G_SLICE G_DEBUG
fail=0
n=0
vg() {
    name=$1; shift
    n=$((n + 1))
    rm -rf "$tmp/log"; mkdir -p "$tmp/log"
    valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect,possible \
        --show-leak-kinds=definite,indirect,possible \
        "$connlogd" --seed 1 --logdir "$tmp/log" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 99 ] || grep -q '^==[0-9]*== ' "$tmp/err"; then
        echo "FAIL: $name: valgrind reports (exit $rc):"
        grep '^==[0-9]*== ' "$tmp/err" | head -40
        fail=1
    elif [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
        echo "FAIL: $name: connlogd exit $rc"; tail -5 "$tmp/err"; fail=1
    else
        echo "ok   $name"
    fi
}

vg "pcap tcp-basic" -r "$top_srcdir/samples/tcp-basic.pcap"
vg "pcap tunnels" -r "$top_srcdir/samples/tunnels.pcap"

export_file=$tmp/export.ipfix
if command -v softflowd >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    python3 "$top_srcdir/tests/tools/udpsink.py" 0 "$export_file" 0.3 >"$tmp/port" &
    sink=$!
    i=0
    while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    softflowd -a -r "$top_srcdir/samples/tcp-basic.pcap" -n "127.0.0.1:$(head -n 1 "$tmp/port")" \
        -v 10 -b >/dev/null 2>&1
    wait $sink
fi
if [ -s "$export_file" ]; then
    vg "ipfix softflowd export" --ipfix-file "$export_file" --templates-dir "$top_srcdir/templates"
fi

if command -v python3 >/dev/null 2>&1; then
    python3 "$top_srcdir/tests/tools/badinput.py" --write "$tmp/bad" pcap-cut-mid-record \
        pcap-bogus-record-length tunnel-vxlan-too-deep fragment-overlap ipv6-ext-chain-too-long \
        ipfix-varlen-overrun ipfix-template-zero-fields ipfix-file-cut-mid-message \
        ipfix-data-without-template || fail=1
    for f in "$tmp"/bad/*.pcap; do vg "bad $(basename "$f")" -r "$f"; done
    for f in "$tmp"/bad/*.ipfix; do
        vg "bad $(basename "$f")" --ipfix-file "$f" --templates-dir "$top_srcdir/templates"
    done
fi
[ $fail -eq 0 ] && echo "PASS: $n runs under valgrind memcheck, no errors, no leaks"
exit $fail
