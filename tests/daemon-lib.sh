# Helpers for the daemon's shell tests (sourced).  Each test runs connlogd
# inside a network namespace of its own, so its loopback and veth pairs
# carry only the test's traffic and nothing leaves the machine.  Tests that
# cannot create one (not root, no netns support) skip with exit 77.
# shellcheck shell=sh

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
connlogd=$top_builddir/src/connlogd
samples=$top_srcdir/samples
ns=""
daemon_pid=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/connlogd-daemon.XXXXXX") || exit 1

skip() {
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*"
    if [ -n "$daemon_pid" ] && [ -f "$tmp/daemon.err" ]; then
        echo "--- daemon stderr"
        tail -n 30 "$tmp/daemon.err"
    fi
    exit 1
}

cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill -KILL "$daemon_pid" 2>/dev/null
        wait "$daemon_pid" 2>/dev/null
    fi
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
    done
}

# make_netns: a namespace with loopback up and IPv6 off (no router or
# neighbour solicitations to pollute captures)
make_netns() {
    need ip
    [ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and capture"
    [ -x "$connlogd" ] || fail "$connlogd not built"
    ns="connlogd-test-$$"
    ip netns add "$ns" 2>/dev/null || { ns=""; skip "cannot create a network namespace here"; }
    nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        >/dev/null 2>&1
    ip -n "$ns" link set lo up || fail "cannot bring lo up in $ns"
}

# nsx CMD...: run CMD inside the namespace
nsx() {
    ip netns exec "$ns" "$@"
}

# make_veth A B: a veth pair inside the namespace, both ends up, jumbo MTU
# so that every sample packet fits
make_veth() {
    ip -n "$ns" link add "$1" type veth peer name "$2" || fail "cannot create veth $1/$2"
    for i in "$1" "$2"; do
        nsx sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" >/dev/null 2>&1
        ip -n "$ns" link set "$i" mtu 9000 up || fail "cannot bring $i up"
    done
}

# start_daemon ARGS...: run connlogd in the namespace, HTTP on
# 127.0.0.1:8080 there, and wait until /health answers
start_daemon() {
    # not through nsx: $! must be connlogd itself (ip netns exec execs it)
    ip netns exec "$ns" "$connlogd" "$@" >"$tmp/daemon.out" 2>"$tmp/daemon.err" &
    daemon_pid=$!
    i=0
    while [ $i -lt 100 ]; do
        if nsx curl -sf -o /dev/null http://127.0.0.1:8080/health 2>/dev/null; then
            return 0
        fi
        kill -0 "$daemon_pid" 2>/dev/null || fail "connlogd exited at start-up"
        sleep 0.1
        i=$((i + 1))
    done
    fail "connlogd did not answer /health within 10 s"
}

# http PATH: GET from the daemon, body on stdout
http() {
    nsx curl -sf "http://127.0.0.1:8080$1"
}

# json EXPR: evaluate a Python expression over /stats (as s)
stat() {
    http /stats | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

# wait_for EXPR VALUE SECONDS: until stat EXPR prints VALUE
wait_for() {
    i=0
    while [ $i -lt $(($3 * 10)) ]; do
        [ "$(stat "$1" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "waited $3 s for $1 == $2, have $(stat "$1")"
}

# stop_daemon: SIGTERM, and it must exit 0 within 20 s
stop_daemon() {
    kill -TERM "$daemon_pid"
    i=0
    while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 200 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 "$daemon_pid" 2>/dev/null && fail "connlogd did not stop within 20 s of SIGTERM"
    wait "$daemon_pid"
    rc=$?
    daemon_pid=""
    [ $rc -eq 0 ] || { cat "$tmp/daemon.err"; fail "connlogd exited $rc after SIGTERM"; }
}
