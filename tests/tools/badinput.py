#!/usr/bin/env python3
"""The bad-input catalogue, end to end through connlogd.

Each case is generated here (nothing binary is committed): a pcap or an
IPFIX file in which a valid connection comes before the malformed input and
another comes after it.  connlogd runs on it; the case checks the exit
status, the weird (packet path) or per-exporter (flow path) counters it
prints at exit, that the connections before and after the bad input are in
conn.log with the right conn_state and history, and what the bad input
itself may or may not leave in conn.log.

usage: badinput.py [--keep DIR] CONNLOGD [CASE...]
       badinput.py --write DIR [CASE...]      (only write the input files)
Prints one line per case and "badinput: N passed, M failed"; exit 1 on failure.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

T0 = 1700000000.0

# ------------------------------------------------------------ checksums


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)

# ------------------------------------------------------------ headers


def tcp(src, dst, sport, dport, seq, ack, flags, data=b"", opts=b"", doff=None):
    off = doff if doff is not None else (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts
    seg = h + data
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, data=b"", length=None):
    ln = length if length is not None else 8 + len(data)
    seg = struct.pack("!HHHH", sport, dport, ln, 0) + data
    c = csum(pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(typ, code, rest=0, data=b""):
    m = struct.pack("!BBHI", typ, code, 0, rest) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def ipv4(src, dst, proto, payload, opts=b"", ihl=None, total=None, ident=1, frag=0x4000,
         version=4, bad_cksum=False):
    hl = ihl if ihl is not None else (20 + len(opts)) // 4
    tl = total if total is not None else 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", version << 4 | (hl & 15), 0, tl, ident, frag, 64, proto, 0,
                    src, dst) + opts
    c = csum(h)
    if bad_cksum:
        c ^= 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def ipv6(src, dst, nxt, payload, plen=None):
    ln = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 6 << 28, ln, nxt, 64, src, dst) + payload


MAC_A = bytes([2, 0, 0, 0, 0, 1])
MAC_B = bytes([2, 0, 0, 0, 0, 2])


def eth(payload, etype=0x0800, tags=()):
    h = MAC_B + MAC_A
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", etype) + payload


def eth4(pkt):
    return eth(pkt, 0x0800)


def eth6(pkt):
    return eth(pkt, 0x86DD)

# ------------------------------------------------------------ traffic


CLI = ip4("10.1.0.1")
SRV = ip4("10.2.0.1")


def tcp_session(sport, t, dport=80):
    """A complete TCP connection: ShADdFf, SF, 10 bytes up, 20 down."""
    c, s = CLI, SRV
    steps = [
        (0, c, s, 100, 0, 0x02, b""), (1, s, c, 500, 101, 0x12, b""),
        (0, c, s, 101, 501, 0x10, b""), (0, c, s, 101, 501, 0x18, b"a" * 10),
        (1, s, c, 501, 111, 0x18, b"b" * 20), (0, c, s, 111, 521, 0x11, b""),
        (1, s, c, 521, 112, 0x11, b""), (0, c, s, 112, 522, 0x10, b""),
    ]
    out = []
    for i, (d, a, b, seq, ack, fl, data) in enumerate(steps):
        sp, dp = (sport, dport) if d == 0 else (dport, sport)
        out.append((t + i * 0.001, eth4(ipv4(a, b, 6, tcp(a, b, sp, dp, seq, ack, fl, data)))))
    return out


def udp_exchange(sport, t, dport=9999):
    """A UDP request and answer: Dd, SF."""
    c, s = ip4("10.1.0.2"), ip4("10.2.0.2")
    return [(t, eth4(ipv4(c, s, 17, udp(c, s, sport, dport, b"q" * 30)))),
            (t + 0.002, eth4(ipv4(s, c, 17, udp(s, c, dport, sport, b"r" * 40))))]


def framed(bad, port):
    """Valid TCP before, @bad (list of (ts-offset, frame[, wirelen])) in the
    middle, valid UDP after; ports tell the rows apart."""
    pkts = tcp_session(port, T0)
    for item in bad:
        off, frame = item[0], item[1]
        wire = item[2] if len(item) > 2 else None
        pkts.append((T0 + 0.5 + off, frame, wire))
    pkts += udp_exchange(port + 1, T0 + 1.0)
    return pkts

# ------------------------------------------------------------ pcap writing


def pcap_bytes(pkts, linktype=1, snaplen=65535):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
    for item in pkts:
        ts, data = item[0], item[1]
        wire = item[2] if len(item) > 2 and item[2] is not None else len(data)
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        out += struct.pack("<IIII", sec, usec, len(data), wire) + data
    return out

# ------------------------------------------------------------ IPFIX writing

TMPL_ID = 256


def ipfix_message(sets, seq, domain=7, export=int(T0) + 10):
    body = b"".join(struct.pack("!HH", sid, 4 + len(b)) + b for sid, b in sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export, seq, domain) + body


def flow_template(tid=TMPL_ID):
    fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)]
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", i, n)
                                                           for i, n in fields)


def flow_record(sport, dport=53, pkts=1, start_ms=int(T0 * 1000)):
    return struct.pack("!4s4sHHBQQQQ", ip4("10.3.0.1"), ip4("10.4.0.1"), sport, dport, 17,
                       pkts, 60 * pkts, start_ms, start_ms + 5)

# ------------------------------------------------------------ running


class Result:
    def __init__(self, rc, stderr, rows):
        self.rc = rc
        self.stderr = stderr
        self.rows = rows
        self.weirds = {m.group(1): int(m.group(2))
                       for m in re.finditer(r"^  weird (\S+) +(\d+)$", stderr, re.M)}
        self.exporter = {m.group(1): int(m.group(2))
                         for m in re.finditer(r"^  exporter .*: (\S+) (\d+)$", stderr, re.M)}


def run(connlogd, workdir, args):
    logdir = os.path.join(workdir, "log")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    p = subprocess.run([connlogd, "--seed", "1", "--logdir", logdir] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    rows = []
    path = os.path.join(logdir, "conn.log")
    if os.path.exists(path):
        fields = None
        for line in open(path, encoding="utf-8", errors="replace"):
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
            elif not line.startswith("#") and fields:
                rows.append(dict(zip(fields, line.split("\t"))))
    return Result(p.returncode, p.stderr.decode(errors="replace"), rows)


class Case:
    """@kind 'pcap' or 'ipfix'; @data the file; @weirds exact counters the run
    must print (others may appear but must be listed in @allow); @rows
    {orig_p: (proto, conn_state, history)} that must be present; @nrows the
    exact row count; @rc the exit status; @stderr a regex it must match."""

    def __init__(self, name, kind, data, weirds=None, rows=None, nrows=None, rc=0, stderr=None,
                 allow=(), exporter=None, args=()):
        self.name, self.kind, self.data = name, kind, data
        self.weirds = weirds or {}
        self.rows = rows or {}
        self.nrows, self.rc, self.stderr = nrows, rc, stderr
        self.allow = set(allow)
        self.exporter = exporter or {}
        self.args = list(args)

    def check(self, r):
        errs = []
        if r.rc != self.rc:
            errs.append("exit %d, expected %d" % (r.rc, self.rc))
        if re.search(r"AddressSanitizer|runtime error|Segmentation|core dumped", r.stderr):
            errs.append("sanitizer or crash report")
        for k, v in self.weirds.items():
            if r.weirds.get(k, 0) != v:
                errs.append("weird %s = %d, expected %d" % (k, r.weirds.get(k, 0), v))
        for k in r.weirds:
            if k not in self.weirds and k not in self.allow:
                errs.append("unexpected weird %s = %d" % (k, r.weirds[k]))
        for k, v in self.exporter.items():
            if r.exporter.get(k, 0) != v:
                errs.append("exporter %s = %d, expected %d" % (k, r.exporter.get(k, 0), v))
        for k in r.exporter:
            if k not in self.exporter and k not in self.allow:
                errs.append("unexpected exporter counter %s = %d" % (k, r.exporter[k]))
        by_port = {}
        for row in r.rows:
            by_port.setdefault(row.get("id.orig_p"), []).append(row)
        for port, (proto, state, hist) in self.rows.items():
            got = by_port.get(str(port), [])
            if not got:
                errs.append("no conn.log row for orig_p %s" % port)
                continue
            row = got[0]
            want = {"proto": proto, "conn_state": state, "history": hist}
            for f, v in want.items():
                if v is not None and row.get(f) != v:
                    errs.append("row %s: %s = %s, expected %s" % (port, f, row.get(f), v))
        if self.nrows is not None and len(r.rows) != self.nrows:
            errs.append("%d rows, expected %d" % (len(r.rows), self.nrows))
        if self.stderr and not re.search(self.stderr, r.stderr):
            errs.append("stderr lacks /%s/" % self.stderr)
        return errs


BEFORE = ("tcp", "SF", "ShADdFf")
AFTER = ("udp", "SF", "Dd")


def around(port, extra=None):
    rows = {port: BEFORE, port + 1: AFTER}
    rows.update(extra or {})
    return rows

# ------------------------------------------------------------ the catalogue


def cases():
    c, s = ip4("10.5.0.1"), ip4("10.6.0.1")
    c6, s6 = ip6("2001:db8::1"), ip6("2001:db8::2")
    u = udp(c, s, 5000, 6000, b"x" * 8)
    t = tcp(c, s, 5000, 80, 1, 0, 0x02)
    good4 = ipv4(c, s, 17, u)
    out = []

    def pc(name, port, bad, weirds, extra_rows=None, nrows=2, **kw):
        out.append(Case(name, "pcap", pcap_bytes(framed(bad, port)), weirds,
                        around(port, extra_rows), nrows, **kw))

    # --- link layer
    pc("link-ethernet-cut", 1000, [(0, eth4(good4)[:10])], {"truncated_link_header": 1})
    # (Zeek wants 17 bytes of Ethernet before it looks at the type)
    pc("link-vlan-cut", 1010, [(0, eth(b"\x00\x01\x02", 0x8100))], {"truncated_VLAN_header": 1})
    pc("link-mpls-cut", 1020, [(0, eth(b"\x00\x01\x02", 0x8847))], {"truncated_MPLS_header": 1})
    pc("link-pppoe-cut", 1030, [(0, eth(b"\x11\x00\x00", 0x8864))],
       {"truncated_PPPoE_header": 1})
    pc("link-vlan-too-deep", 1040,
       [(0, eth(good4, 0x0800, tags=[(0x8100, 1)] * 40))], {"link_too_deep": 1})
    # --- IPv4
    pc("ipv4-header-cut", 1100, [(0, eth4(good4[:12]))], {"truncated_IP_header": 1})
    pc("ipv4-ihl-below-5", 1110, [(0, eth4(ipv4(c, s, 17, u, ihl=4)))],
       {"bad_IP_header_length": 1})
    pc("ipv4-ihl-beyond-packet", 1120, [(0, eth4(ipv4(c, s, 17, b"", ihl=15)))],
       {"bad_IP_header_length": 1})
    pc("ipv4-total-length-lies-long", 1130, [(0, eth4(ipv4(c, s, 17, u, total=1400)))],
       {"truncated_IP": 1})
    # (Zeek's IP analyzer calls this a header-length problem too)
    pc("ipv4-total-length-below-header", 1140, [(0, eth4(ipv4(c, s, 17, u, total=12)))],
       {"bad_IP_header_length": 1})
    pc("ip-bad-version", 1150, [(0, eth4(ipv4(c, s, 17, u, version=7)))], {"bad_IP_version": 1})
    # IPv4 options: a zero-length option must not stop or loop the decoder;
    # the datagram is still a connection (Zeek does not parse IPv4 options).
    pc("ipv4-zero-length-option", 1160,
       [(0, eth4(ipv4(c, s, 17, udp(c, s, 1162, 6000, b"z" * 4), opts=b"\x07\x00\x00\x00")))],
       {}, extra_rows={1162: ("udp", "S0", "D")}, nrows=3)
    # --- IPv6
    pc("ipv6-header-cut", 1200, [(0, eth6(ipv6(c6, s6, 17, b"")[:30]))],
       {"truncated_IP_header": 1})
    # hop-by-hop, then 20 destination-options headers: past the chain limit
    chain = b""
    nh = 17
    body = udp(c6, s6, 5000, 6000, b"y")
    for _ in range(20):
        body = struct.pack("!BB", nh, 0) + b"\x01\x04\x00\x00\x00\x00" + body
        nh = 60
    pc("ipv6-ext-chain-too-long", 1210, [(0, eth6(ipv6(c6, s6, 0, struct.pack(
        "!BB", 60, 0) + b"\x01\x04\x00\x00\x00\x00" + body)))], {"ipv6_ext_too_many": 1})
    # an extension header whose length runs past the packet
    pc("ipv6-ext-overrun", 1220,
       [(0, eth6(ipv6(c6, s6, 60, struct.pack("!BB", 17, 200) + b"\x00" * 6)))],
       {"truncated_IPv6_ext": 1})
    # zero-length options (Pad1s and a PadN of length 0) are legal padding
    pad = struct.pack("!BB", 17, 0) + b"\x00\x00\x01\x00\x00\x00"
    pc("ipv6-zero-length-options", 1230,
       [(0, eth6(ipv6(c6, s6, 0, pad + udp(c6, s6, 1232, 6000, b"p"))))], {},
       extra_rows={1232: ("udp", "S0", "D")}, nrows=3)
    # payload length says more than was sent
    pc("ipv6-payload-length-lies", 1240, [(0, eth6(ipv6(c6, s6, 17, body[-9:], plen=900)))],
       {"truncated_IP": 1})
    # --- fragments
    frag_a = ipv4(c, s, 17, udp(c, s, 1252, 6000, b"f" * 32)[:24], ident=77, frag=0x2000)
    # the second fragment repeats bytes 8-23 of the first: an overlap; with
    # other bytes there it is an inconsistent one
    frag_b = ipv4(c, s, 17, b"f" * 24, ident=77, frag=0x2000 | 1)
    pc("fragment-overlap", 1250, [(0, eth4(frag_a)), (0.001, eth4(frag_b))],
       {"fragment_overlap": 1})
    frag_c = ipv4(c, s, 17, b"g" * 24, ident=77, frag=0x2000 | 1)
    pc("fragment-inconsistent", 1255, [(0, eth4(frag_a)), (0.001, eth4(frag_c))],
       {"fragment_inconsistent": 1})
    pc("fragment-too-big", 1260,
       [(0, eth4(ipv4(c, s, 17, b"h" * 16, ident=78, frag=0x1FFF)))], {"fragment_too_big": 1})
    # --- transport
    pc("tcp-header-cut", 1300, [(0, eth4(ipv4(c, s, 6, t[:12])))], {"truncated_TCP_header": 1})
    # a data offset below 20 bytes or beyond the segment: Zeek makes the
    # connection from the ports, then drops the segment (one weird each)
    pc("tcp-data-offset-below-20", 1310, [(0, eth4(ipv4(c, s, 6, tcp(c, s, 1312, 80, 1, 0, 0x02,
                                                                      doff=4))))],
       {"bad_TCP_header_len": 1}, extra_rows={1312: ("tcp", "OTH", "-")}, nrows=3)
    pc("tcp-data-offset-beyond-segment", 1315,
       [(0, eth4(ipv4(c, s, 6, tcp(c, s, 1317, 80, 1, 0, 0x02, doff=15))))],
       {"truncated_TCP_header": 1}, extra_rows={1317: ("tcp", "OTH", "-")}, nrows=3)
    # zero-length and overlong TCP options end the option walk, nothing more
    pc("tcp-zero-length-option", 1320,
       [(0, eth4(ipv4(c, s, 6, tcp(c, s, 1322, 80, 1, 0, 0x02, opts=b"\x03\x00\x07\x00"))))],
       {}, extra_rows={1322: ("tcp", "S0", "S")}, nrows=3)
    pc("udp-header-cut", 1330, [(0, eth4(ipv4(c, s, 17, u[:5])))], {"truncated_UDP_header": 1})
    # Zeek counts the mismatch and goes on with the datagram
    pc("udp-length-lies", 1340, [(0, eth4(ipv4(c, s, 17, udp(c, s, 1342, 6000, b"l" * 8,
                                                              length=500))))],
       {"bad_UDP_length": 1}, extra_rows={1342: ("udp", "S0", "D")}, nrows=3)
    pc("icmp-header-cut", 1350, [(0, eth4(ipv4(c, s, 1, icmp(8, 0)[:3])))],
       {"truncated_ICMP_header": 1})
    # --- tunnels
    inner = ipv4(c, s, 17, udp(c, s, 1402, 6000, b"i"))
    pkt = inner
    for _ in range(6):
        pkt = ipv4(c, s, 4, pkt)
    pc("tunnel-ipip-too-deep", 1400, [(0, eth4(pkt))], {"exceeded_tunnel_max_depth": 1})
    # VXLAN in VXLAN five deep: the layer at depth 4 refuses its payload and
    # its UDP connection gets an 'X' (Tunnel::max_depth is 4)
    vxp = inner
    for i in range(5):
        frame = eth(vxp)
        vxp = ipv4(c, s, 17, udp(c, s, 1405 + i, 4789, b"\x08\0\0\0\0\0\x01\0" + frame))
    pc("tunnel-vxlan-too-deep", 1400 - 10, [(0, eth4(vxp))], {"exceeded_tunnel_max_depth": 1},
       extra_rows={1405: ("udp", "S0", "DX"), 1409: ("udp", "S0", "D")}, nrows=7)
    pc("tunnel-gre-cut", 1410, [(0, eth4(ipv4(c, s, 47, b"\x00")))],
       {"truncated_tunnel_header": 1})
    pc("tunnel-gre-bad-version", 1420,
       [(0, eth4(ipv4(c, s, 47, struct.pack("!HH", 5, 0x0800) + inner)))],
       {"unknown_gre_version": 1})
    vx = udp(c, s, 1432, 4789, b"\x08\x00")  # VXLAN header cut after 2 of 8 bytes
    pc("tunnel-vxlan-cut", 1430, [(0, eth4(ipv4(c, s, 17, vx)))],
       {"truncated_tunnel_header": 1}, extra_rows={1432: ("udp", "S0", "D")}, nrows=3)
    # --- capture file
    pc("pcap-caplen-above-wirelen", 1500,
       [(0, eth4(ipv4(c, s, 17, udp(c, s, 1502, 6000, b"w" * 8))), 20)],
       {"pcap_caplen_gt_wirelen": 1}, extra_rows={1502: ("udp", "S0", "D")}, nrows=3)

    # a file cut in the middle of a record: everything before is logged
    whole = pcap_bytes(tcp_session(1600, T0) + udp_exchange(1601, T0 + 1.0))
    out.append(Case("pcap-cut-mid-record", "pcap", whole[:-25],
                    {"pcap_truncated_file": 1}, {1600: BEFORE, 1601: ("udp", "S0", "D")}, 2,
                    stderr=r"warning: .*broke off after 9 packets"))
    out.append(Case("pcap-cut-mid-header", "pcap", whole[:24 + 16 * 3 + sum(
        len(p[1]) for p in tcp_session(1600, T0)[:3]) + 7],
        {"pcap_truncated_file": 1}, {1600: ("tcp", "S1", "ShA")}, 1,
        stderr=r"warning: .*broke off after 3 packets"))
    # a record claiming 4 GiB: libpcap refuses it; what came before is logged
    pre = tcp_session(1610, T0)
    bogus = pcap_bytes(pre) + struct.pack("<IIII", int(T0) + 1, 0, 0xFFFFFF00, 0xFFFFFF00) + \
        b"\x00" * 64
    out.append(Case("pcap-bogus-record-length", "pcap", bogus, {"pcap_truncated_file": 1},
                    {1610: BEFORE}, 1, stderr=r"warning: .*broke off after 8 packets"))
    # the file header itself is cut: nothing to read, an error, no crash
    out.append(Case("pcap-header-cut", "pcap", whole[:20], {}, {}, 0, rc=2,
                    stderr=r"connlogd: .*"))
    # a link type we do not decode: warned about, counted per packet, exit 0
    odd = pcap_bytes(tcp_session(1620, T0), linktype=147)
    out.append(Case("pcap-unknown-linktype", "pcap", odd, {"pcap_unknown_linktype": 8}, {}, 0,
                    stderr=r"link type 147 is not one we decode"))

    # --- IPFIX files: a good message, the bad one, a good one after
    tmpl = ipfix_message([(2, flow_template())], 0)
    first = ipfix_message([(TMPL_ID, flow_record(2001))], 0)
    last = ipfix_message([(TMPL_ID, flow_record(2002))], 1)

    def fx(name, bad, counters, nrows=2, rows=None, allow=()):
        rows = rows if rows is not None else {2001: ("udp", None, None),
                                              2002: ("udp", None, None)}
        out.append(Case(name, "ipfix", tmpl + first + b"".join(bad) + last, exporter=counters,
                        rows=rows, nrows=nrows, allow=set(allow) | {"seq_gaps", "missed",
                                                                    "out_of_order"}))

    m = bytearray(ipfix_message([(TMPL_ID, flow_record(2100))], 1))
    m[18:20] = struct.pack("!H", 2)  # set length below 4
    fx("ipfix-set-length-below-4", [bytes(m)], {"malformed": 1})
    m = bytearray(ipfix_message([(TMPL_ID, flow_record(2110))], 1))
    m[18:20] = struct.pack("!H", 200)  # set longer than its message
    fx("ipfix-set-longer-than-message", [bytes(m)], {"malformed": 1})
    fx("ipfix-reserved-set-id", [ipfix_message([(1, b"\0" * 4)], 1)], {"malformed": 1})
    fx("ipfix-template-zero-fields", [ipfix_message([(2, struct.pack("!HH", 300, 2) +
                                                      struct.pack("!HHHH", 210, 0, 82, 0)),
                                                     (300, b"\0" * 4)], 1)], {"malformed": 1})
    fx("ipfix-template-huge-field-count", [ipfix_message([(2, struct.pack(
        "!HHHH", 301, 60000, 8, 4))], 1)], {"malformed": 1})
    fx("ipfix-options-scope-zero", [ipfix_message([(3, struct.pack("!HHHHH", 302, 1, 0, 34, 4))],
                                                  1)], {"malformed": 1})
    varlen_t = struct.pack("!HHHHHHHH", 303, 3, 8, 4, 95, 0xFFFF, 4, 1)
    fx("ipfix-varlen-overrun", [ipfix_message([(2, varlen_t)], 1),
                                ipfix_message([(303, b"\x0a\0\0\x01" + bytes([200, 3, 80]))], 1)],
       {"malformed": 1})
    fx("ipfix-data-without-template", [ipfix_message([(999, flow_record(2120))], 1)],
       {"missing_template": 1})
    # the message header lies: the stream cannot be followed past it, so only
    # what came before is logged, and the break is counted
    m = bytearray(ipfix_message([(TMPL_ID, flow_record(2130))], 1))
    m[2:4] = struct.pack("!H", 8)
    out.append(Case("ipfix-message-length-below-16", "ipfix", tmpl + first + bytes(m) + last,
                    exporter={"malformed": 1}, rows={2001: ("udp", None, None)}, nrows=1))
    out.append(Case("ipfix-file-cut-mid-message", "ipfix", tmpl + first + last[:-7],
                    exporter={"malformed": 1}, rows={2001: ("udp", None, None)}, nrows=1))
    m = bytearray(last)
    m[0:2] = struct.pack("!H", 9)
    out.append(Case("ipfix-bad-version-mid-file", "ipfix", tmpl + first + bytes(m),
                    exporter={"malformed": 1}, rows={2001: ("udp", None, None)}, nrows=1))
    return out


def write_only(outdir, only):
    os.makedirs(outdir, exist_ok=True)
    for case in cases():
        if only and case.name not in only:
            continue
        ext = ".pcap" if case.kind == "pcap" else ".ipfix"
        with open(os.path.join(outdir, case.name + ext), "wb") as f:
            f.write(case.data)
    return 0


def main(argv):
    if len(argv) > 2 and argv[1] == "--write":
        return write_only(argv[2], set(argv[3:]))
    keep = None
    if len(argv) > 2 and argv[1] == "--keep":
        keep = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    connlogd = argv[1]
    only = set(argv[2:])
    work = keep or tempfile.mkdtemp(prefix="badinput.")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    try:
        for case in cases():
            if only and case.name not in only:
                continue
            path = os.path.join(work, case.name + (".pcap" if case.kind == "pcap" else ".ipfix"))
            with open(path, "wb") as f:
                f.write(case.data)
            args = (["-r", path] if case.kind == "pcap" else ["--ipfix-file", path]) + case.args
            r = run(connlogd, work, args)
            errs = case.check(r)
            if errs:
                failed += 1
                print("FAIL %s: %s" % (case.name, "; ".join(errs)))
                for line in r.stderr.splitlines()[-12:]:
                    print("    " + line)
                for row in r.rows:
                    print("    row %s %s %s %s %s" % (row.get("id.orig_p"), row.get("proto"),
                                                     row.get("conn_state"), row.get("history"),
                                                     row.get("orig_pkts")))
            else:
                passed += 1
                print("ok   %s" % case.name)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print("badinput: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
