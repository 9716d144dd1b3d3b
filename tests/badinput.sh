#!/bin/sh
# The bad-input catalogue end to end: tests/tools/badinput.py generates each
# malformed pcap or IPFIX file (truncated headers at every layer, lengths
# that lie, zero-length options, looping extension headers, tunnels nested
# past the limit, broken IPFIX sets and templates, cut and bogus pcap files,
# an unknown link type), runs connlogd on it and checks the counter it must
# bump, the exit status, and that the connections before and after the bad
# input are logged.  Skipped (77) without python3.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing"; exit 77; }
exec python3 "$top_srcdir/tests/tools/badinput.py" "$top_builddir/src/connlogd"
