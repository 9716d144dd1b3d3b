#!/bin/bash
# The command line as a user meets it: help and version, clear one-line
# errors with the documented exit codes, BPF filters, JSON output,
# reproducible uids, Zeek tunables, stdin input, and the exit summary.
set -uo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin=$top_builddir/src/connlogd
s=$top_srcdir/samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
rows() { grep -v '^#' "$1" | wc -l; }

check "--help mentions -r" bash -c "'$bin' --help | grep -q -- '--read'"
check "--version" bash -c "'$bin' --version | grep -Eq '^connlogd [0-9]'"

"$bin" -r >/dev/null 2>"$tmp/err"; rc=$?
check "-r without a file: exit 1" test $rc -eq 1
check "-r without a file: one line" test "$(wc -l < "$tmp/err")" -eq 1

"$bin" --bogus-option >/dev/null 2>"$tmp/err"; rc=$?
check "unknown option: exit 1" test $rc -eq 1

"$bin" -r "$tmp/does-not-exist.pcap" --logdir "$tmp/o" 2>"$tmp/err"; rc=$?
check "missing file: exit 2" test $rc -eq 2
check "missing file: one line naming it" bash -c "[ \$(wc -l < '$tmp/err') -eq 1 ] && grep -q does-not-exist '$tmp/err'"

printf 'this is not a capture file at all\n' > "$tmp/text.pcap"
"$bin" -r "$tmp/text.pcap" --logdir "$tmp/o" 2>"$tmp/err"; rc=$?
check "not a pcap: exit 2" test $rc -eq 2
check "not a pcap: one line" test "$(wc -l < "$tmp/err")" -eq 1

"$bin" -r "$s/tcp-basic.pcap" --format xml --logdir "$tmp/o" 2>/dev/null; rc=$?
check "bad --format: exit 1" test $rc -eq 1
"$bin" -r "$s/tcp-basic.pcap" no_such_tunable=3 --logdir "$tmp/o" 2>/dev/null; rc=$?
check "unknown tunable: exit 1" test $rc -eq 1
"$bin" -r "$s/tcp-basic.pcap" --local-nets 10.0.0.0/33 --logdir "$tmp/o" 2>/dev/null; rc=$?
check "bad CIDR: exit 1" test $rc -eq 1

"$bin" -r "$s/tcp-basic.pcap" --logdir "$tmp/all" -q
"$bin" -r "$s/tcp-basic.pcap" -f 'tcp port 9001' --logdir "$tmp/bpf" -q
check "BPF filter keeps only port 9001" bash -c "[ \$(grep -v '^#' '$tmp/bpf/conn.log' | wc -l) -eq 1 ] && grep -v '^#' '$tmp/bpf/conn.log' | cut -f6 | grep -qx 9001"
check "all rows without a filter" test "$(rows "$tmp/all/conn.log")" -eq 9

"$bin" -r - --logdir "$tmp/stdin" -q < "$s/tcp-basic.pcap"
check "stdin input equals file input" bash -c "diff <(grep -v '^#' '$tmp/all/conn.log' | cut -f1,3-) <(grep -v '^#' '$tmp/stdin/conn.log' | cut -f1,3-)"

"$bin" -r "$s/tcp-basic.pcap" --seed 5 --logdir "$tmp/s1" -q
"$bin" -r "$s/tcp-basic.pcap" --seed 5 --logdir "$tmp/s2" -q
"$bin" -r "$s/tcp-basic.pcap" --seed 6 --logdir "$tmp/s3" -q
check "same seed, same uids" bash -c "diff <(grep -v '^#' '$tmp/s1/conn.log') <(grep -v '^#' '$tmp/s2/conn.log')"
check "other seed, other uids" bash -c "! diff -q <(cut -f2 '$tmp/s1/conn.log') <(cut -f2 '$tmp/s3/conn.log') >/dev/null"
check "uids look like Zeek's" bash -c "grep -v '^#' '$tmp/s1/conn.log' | cut -f2 | grep -Evq '^C[0-9a-zA-Z]{11,18}$' && exit 1 || exit 0"

"$bin" -r "$s/tcp-basic.pcap" --format json --logdir "$tmp/j" -q
check "JSON: one object per row, no headers" bash -c "[ \$(wc -l < '$tmp/j/conn.log') -eq 9 ] && ! grep -q '^#' '$tmp/j/conn.log'"
check "JSON parses" python3 -c "import json,sys; [json.loads(l) for l in open('$tmp/j/conn.log')]"

# timeouts.pcap has a UDP flow with a 120 s gap: Zeek's default 60 s timeout
# splits it; a 10 min timeout keeps it whole
"$bin" -r "$s/timeouts.pcap" --logdir "$tmp/t1" -q
"$bin" -r "$s/timeouts.pcap" udp_inactivity_timeout="10 min" --logdir "$tmp/t2" -q
check "udp_inactivity_timeout changes splitting" test "$(rows "$tmp/t2/conn.log")" -eq "$(( $(rows "$tmp/t1/conn.log") - 1 ))"

"$bin" -r "$s/badinput.pcap" --logdir "$tmp/b" 2>"$tmp/sum"; rc=$?
check "summary line and weird counts on stderr" bash -c "grep -q '^connlogd: .* packets, .* connections logged, peak .* active' '$tmp/sum' && grep -q '^  weird ' '$tmp/sum'"
check "bad input still exits 0" test $rc -eq 0
check "TSV file closed with #close" bash -c "tail -n 1 '$tmp/b/conn.log' | grep -q '^#close'"
exit $fail
