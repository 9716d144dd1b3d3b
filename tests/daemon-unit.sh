#!/bin/sh
# The systemd unit: filled in as `make install` does (with this build's
# binary) and checked by `systemd-analyze verify`; it must stay Type=notify
# with exactly the two capture capabilities.  The man pages must format
# without warnings.  Skipped without systemd-analyze.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daemon-unit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: no systemd-analyze"; exit 77; }

bindir=$(cd "$top_builddir/src" && pwd)
unit=$tmp/connlogd.service
sed -e "s|@bindir@|$bindir|g" -e "s|@sysconfdir@|/etc|g" \
    "$top_srcdir/systemd/connlogd.service.in" >"$unit"
grep -q -e '@bindir@' -e '@sysconfdir@' "$unit" && fail "unfilled placeholder in the unit"
systemd-analyze verify --man=no "$unit" >"$tmp/verify" 2>&1 || { cat "$tmp/verify"; fail "systemd-analyze verify"; }
[ -s "$tmp/verify" ] && { cat "$tmp/verify"; fail "systemd-analyze verify printed warnings"; }
grep -q '^Type=notify$' "$unit" || fail "not Type=notify"
grep -q '^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$' "$unit" || fail "capability set changed"
grep -q '^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$' "$unit" || fail "ambient capabilities changed"

if command -v groff >/dev/null 2>&1; then
    for m in "$top_srcdir/docs/connlogd.conf.5" "$top_srcdir/docs/connlogd.8"; do
        groff -man -ww -z "$m" 2>"$tmp/groff" || fail "$m does not format"
        [ -s "$tmp/groff" ] && { cat "$tmp/groff"; fail "$m: groff warnings"; }
    done
fi
echo "PASS: unit verified, Type=notify, CAP_NET_RAW+CAP_NET_ADMIN only; man pages format"
