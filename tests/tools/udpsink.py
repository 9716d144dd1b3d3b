#!/usr/bin/env python3
"""Receive UDP datagrams on 127.0.0.1:PORT and append them to FILE, until
IDLE seconds pass without one (an IPFIX datagram stream is an IPFIX file).
Prints the port it bound (PORT 0 picks one) on stdout first.
usage: udpsink.py PORT FILE [IDLE]"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
s.settimeout(float(sys.argv[3]) if len(sys.argv) > 3 else 2.0)
with open(sys.argv[2], "wb") as f:
    while True:
        try:
            d, _ = s.recvfrom(65535)
        except socket.timeout:
            break
        f.write(d)
