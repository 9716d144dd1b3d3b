#!/bin/sh
# Collectors and HTTP together: softflowd exports samples/tcp-basic.pcap as
# IPFIX to the daemon's IPFIX port and samples/udp-icmp.pcap as NetFlow v5
# to its NetFlow port, while curl reads /stats and /recent.  Each exporter's
# message and record counts in /stats must equal what softflowd says it
# sent, the builder must have taken every record, and the connections
# logged must carry every packet softflowd saw.
. "${top_srcdir:-.}/tests/daemon-lib.sh"
need softflowd curl python3

make_netns
start_daemon --ipfix-listen udp://127.0.0.1:4739 --netflow-listen udp://127.0.0.1:2055 \
    --templates-dir "$top_srcdir/templates" --logdir "$tmp/logs" --seed 1

# sent FILE: "MESSAGES RECORDS" from softflowd's summary
sent() {
    sed -n 's/^Flows exported: [0-9]* (\([0-9]*\) records) in \([0-9]*\) packets.*/\2 \1/p' "$1"
}
nsx softflowd -r "$samples/tcp-basic.pcap" -a -d -n 127.0.0.1:4739 -v 10 >"$tmp/sf-ipfix" 2>&1 \
    || fail "softflowd (IPFIX): $(cat "$tmp/sf-ipfix")"
nsx softflowd -r "$samples/udp-icmp.pcap" -a -d -n 127.0.0.1:2055 -v 5 >"$tmp/sf-v5" 2>&1 \
    || fail "softflowd (v5): $(cat "$tmp/sf-v5")"
set -- $(sent "$tmp/sf-ipfix")
ipfix_msgs=$1 ipfix_recs=$2
set -- $(sent "$tmp/sf-v5")
v5_msgs=$1 v5_recs=$2
[ -n "$ipfix_recs" ] && [ -n "$v5_recs" ] || fail "cannot read softflowd's summary"
total=$((ipfix_recs + v5_recs))

wait_for "s['flows']['records']" "$total" 10
exp() { stat "[e['$2'] for e in s['exporters'] if e['protocol'] == '$1'][0]"; }
[ "$(exp ipfix-udp messages)" = "$ipfix_msgs" ] || fail "IPFIX messages $(exp ipfix-udp messages), sent $ipfix_msgs"
[ "$(exp ipfix-udp flows)" = "$ipfix_recs" ] || fail "IPFIX records $(exp ipfix-udp flows), sent $ipfix_recs"
[ "$(exp netflow-v5 messages)" = "$v5_msgs" ] || fail "v5 datagrams $(exp netflow-v5 messages), sent $v5_msgs"
[ "$(exp netflow-v5 flows)" = "$v5_recs" ] || fail "v5 records $(exp netflow-v5 flows), sent $v5_recs"
for c in malformed seq_gaps missing_template; do
    [ "$(stat "sum(e['$c'] for e in s['exporters'])")" = 0 ] || fail "$c: $(stat "s['exporters']")"
done
[ "$(stat "s['flows']['collector']['datagrams']")" = $((ipfix_msgs + v5_msgs)) ] \
    || fail "collector datagrams: $(stat "s['flows']['collector']")"

# The flows are from 2023: the wall clock expires them at once.  Every
# packet softflowd counted must be in a logged connection.
pkts=$(( $(sed -n 's/^Packets processed: //p' "$tmp/sf-ipfix") + $(sed -n 's/^Packets processed: //p' "$tmp/sf-v5") ))
wait_for "s['connections']['active']" 0 15
http "/recent?limit=1000" >"$tmp/recent.json" || fail "/recent failed"
got=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum(x['orig_pkts'] + x['resp_pkts'] for x in r))" "$tmp/recent.json")
[ "$got" = "$pkts" ] || fail "/recent rows carry $got packets, softflowd saw $pkts"
n=$(stat "s['connections']['logged']")
[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$tmp/recent.json")" = "$n" ] \
    || fail "/recent and /stats disagree on connections logged ($n)"
[ "$(http "/recent?proto=icmp&limit=1000" | python3 -c "import json,sys; print(len(json.load(sys.stdin)) > 0)")" = True ] \
    || fail "no ICMP connection from the v5 export"
stop_daemon
rows=$(grep -c -v '^#' "$tmp/logs/conn.log")
[ "$rows" = "$n" ] || fail "conn.log has $rows rows, /stats said $n"
echo "PASS: IPFIX $ipfix_recs + v5 $v5_recs records counted per exporter; $n connections, $pkts packets"
