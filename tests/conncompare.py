#!/usr/bin/env python3
"""Compare two sets of Zeek TSV conn.logs connection by connection.

Used by the daemon tests: a live capture has its own timestamps and uids, so
ts, uid and duration are left out; orig_bytes/resp_bytes are compared when
both sides log them (Zeek logs them only when duration > 0, and a live
replay spreads packets that shared a timestamp in the file).  Every other
field must agree, and each connection must appear the same number of times.

usage: conncompare.py EXPECTED.log[,MORE...] ACTUAL.log[,MORE...]
exit 0 when they agree, 1 with a diff otherwise.
"""
import collections
import sys

IGNORED = {"ts", "uid", "duration"}
OPTIONAL = {"orig_bytes", "resp_bytes"}


def rows(paths):
    out = []
    for path in paths.split(","):
        fields = None
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("#fields\t"):
                    fields = line.split("\t")[1:]
                elif line and not line.startswith("#"):
                    out.append(dict(zip(fields, line.split("\t"))))
    return out


def key(r):
    return tuple(r[k] for k in sorted(r) if k not in IGNORED and k not in OPTIONAL)


def main():
    want, have = rows(sys.argv[1]), rows(sys.argv[2])
    wk = collections.Counter(key(r) for r in want)
    hk = collections.Counter(key(r) for r in have)
    bad = False
    for k in sorted(set(wk) | set(hk)):
        if wk[k] != hk[k]:
            bad = True
            print(f"expected {wk[k]}x, got {hk[k]}x: {k}")
    # bytes where both sides have them
    by = {}
    for r in want:
        by.setdefault(key(r), []).append(r)
    for r in have:
        for w in by.get(key(r), []):
            for f in OPTIONAL:
                if "-" not in (w[f], r[f]) and w[f] != r[f]:
                    bad = True
                    print(f"{f}: expected {w[f]}, got {r[f]}: {key(r)}")
    print(f"{len(want)} expected rows, {len(have)} rows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
