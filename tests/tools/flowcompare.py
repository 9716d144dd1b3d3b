#!/usr/bin/env python3
"""Compare connlogd's flow-path conn.log with its packet-path conn.log of the
same traffic.  Rows are paired by the connection's endpoints (either
orientation).  For TCP rows the script reports how often conn_state agrees
and whether packet and IP-byte counters are exact (after orienting the flow
row like the packet row), plus how often the originator was chosen the same.

usage: flowcompare.py PACKET_LOG FLOW_LOG [--min-state PCT] [--min-pkts PCT] [--min-counts PCT]
Prints one summary line; exits 1 if a minimum is not met.
"""
import argparse
import sys


def rows(path):
    out, fields = [], None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            continue
        if not line or line.startswith("#"):
            continue
        out.append(dict(zip(fields, line.split("\t"))))
    return out


def key(r):
    a = (r["id.orig_h"], r["id.orig_p"])
    b = (r["id.resp_h"], r["id.resp_p"])
    return (r["proto"],) + tuple(sorted([a, b]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("packets")
    ap.add_argument("flows")
    ap.add_argument("--min-state", type=float, default=0.0)
    ap.add_argument("--min-counts", type=float, default=0.0, help="packets and IP bytes exact")
    ap.add_argument("--min-pkts", type=float, default=0.0, help="packet counts exact")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    pk = {}
    for r in rows(args.packets):
        pk.setdefault(key(r), []).append(r)
    # "seen in full" by an exporter: one packet-path connection per endpoint
    # pair (Zeek splits reused or timed-out ones, an exporter need not), no
    # packet Zeek discarded for a bad checksum (an exporter counts those); a
    # connection in a tunnel is invisible to an exporter of the outer traffic,
    # and one whose every packet Zeek dropped (a malformed header) is too
    partial = {k for k, v in pk.items()
               if len(v) > 1 or any(c in (v[0].get("history") or "") for c in "Cc")
               or v[0].get("tunnel_parents") not in (None, "", "-")
               or v[0].get("orig_pkts") == v[0].get("resp_pkts") == "0"}
    tcp = state_ok = counts_ok = pkts_ok = orient_ok = unmatched = 0
    shown = 0
    for f in rows(args.flows):
        cands = pk.get(key(f))
        if not cands:
            unmatched += 1
            continue
        p = cands.pop(0)
        if p["proto"] != "tcp" or key(p) in partial:
            continue
        tcp += 1
        same = f["id.orig_h"] == p["id.orig_h"] and f["id.orig_p"] == p["id.orig_p"]
        orient_ok += same
        if f["conn_state"] == p["conn_state"]:
            state_ok += 1
        elif shown < args.show:
            shown += 1
            print(f"state {key(p)}: packets {p['conn_state']} {p['history']} / flows {f['conn_state']} {f['history']}")
        fo = ("orig", "resp") if same else ("resp", "orig")
        exact = all(f[f"{fo[i]}_{c}"] == p[f"{('orig', 'resp')[i]}_{c}"]
                    for i in (0, 1) for c in ("pkts", "ip_bytes"))
        counts_ok += exact
        pkts_ok += all(f[f"{fo[i]}_pkts"] == p[f"{('orig', 'resp')[i]}_pkts"] for i in (0, 1))
        if not exact and shown < args.show:
            shown += 1
            print(f"counts {key(p)}: packets {p['orig_pkts']}/{p['orig_ip_bytes']} {p['resp_pkts']}/{p['resp_ip_bytes']}"
                  f" flows {f['orig_pkts']}/{f['orig_ip_bytes']} {f['resp_pkts']}/{f['resp_ip_bytes']}")
    pct = lambda n: 100.0 * n / tcp if tcp else 100.0
    print(f"flowcompare: tcp {tcp}, conn_state {pct(state_ok):.2f}%, packets exact {pct(pkts_ok):.2f}%, "
          f"packets and IP bytes exact {pct(counts_ok):.2f}%, "
          f"originator {pct(orient_ok):.2f}%, unmatched flow rows {unmatched}")
    ok = (pct(state_ok) >= args.min_state and pct(counts_ok) >= args.min_counts
          and pct(pkts_ok) >= args.min_pkts)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
