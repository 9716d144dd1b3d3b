#!/bin/sh
# The status page in a real browser: Debian's headless Chromium loads
# http://127.0.0.1:8080/ from a running connlogd (after a replay of
# samples/tcp-basic.pcap) and we read the DOM its scripts built: the page
# must have loaded data, list the capture interface with its packet count,
# draw the conn_state chart with the logged states, and show the recent
# connections.  Skipped when chromium is not installed.
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need tcpreplay curl python3 chromium

make_netns
make_veth tx0 cap0
start_daemon -i cap0 --logdir "$tmp/logs" --seed 1 tcp_close_delay=0.1secs
nsx tcpreplay -q --topspeed -i tx0 "$samples/tcp-basic.pcap" >"$tmp/replay" 2>&1 \
    || fail "tcpreplay: $(cat "$tmp/replay")"
wait_for "s['interfaces'][0]['packets']" 67 10
# closed connections leave the table once their timers run (wall clock)
wait_for "s['connections']['by_state']['SF'] >= 1" True 15

# --virtual-time-budget lets the page's fetches and timers run before the
# DOM is dumped; the other flags keep Chromium off the network.
nsx chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/chromium" --virtual-time-budget=5000 --dump-dom \
    http://127.0.0.1:8080/ >"$tmp/dom.html" 2>"$tmp/chromium.err" \
    || fail "chromium failed: $(tail -n 5 "$tmp/chromium.err")"

python3 - "$tmp/dom.html" "$(stat "s['connections']['by_state']['SF']")" \
    "$(stat "s['connections']['logged']")" <<'PY' || fail "the page does not show the data"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
sf, logged = sys.argv[2], int(sys.argv[3])
problems = []
m = re.search(r'<body data-loaded="(\d+)"', dom)
if not m or int(m.group(1)) < 1:
    problems.append("no refresh completed (data-loaded)")
if 'id="state" class="ok">live<' not in dom:
    problems.append("state is not live: " + str(re.findall(r'id="state"[^<]*<', dom)))
row = re.search(r'<tr data-input="cap0"><td>cap0</td><td[^>]*>up</td><td class="n">([\d,]+)</td>', dom)
if not row or row.group(1).replace(",", "") != "67":
    problems.append("inputs table lacks cap0 with 67 packets")
if not re.search(r'<rect [^>]*data-key="SF" data-value="%s"' % sf, dom):
    problems.append("conn_state chart lacks SF=%s" % sf)
if not re.search(r'<rect [^>]*data-key="tcp" data-value="\d+"', dom):
    problems.append("proto chart lacks tcp")
uids = re.findall(r'<tr data-uid="(C[0-9A-Za-z]+)">', dom)
if len(uids) != min(logged, 50) or len(uids) == 0:
    problems.append("recent table has %d rows, %d logged" % (len(uids), logged))
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("page shows %d recent rows, SF=%s" % (len(uids), sf))
PY
stop_daemon
echo "PASS: status page rendered in headless Chromium with live data"
