#!/usr/bin/env python3
"""timecheck.py TRUTH.json ROWS.json [--tolerance SECONDS] [--min N]

Flow start and end times a collector stored, against the capture. TRUTH is
`pcapflows.py --fields` over the TAP captures; ROWS is [[src, dst, proto, sport, dport], start,
end] per record, in Unix seconds. Flows are matched by 5-tuple (ICMP by addresses and
protocol, as collectors put ICMP type and code in different places); per 5-tuple the earliest
start must equal the capture's first packet and the latest end its last, within --tolerance
(default 0.001 s), and at least N 5-tuples must be compared. Prints the largest error.
"""
import json
import sys

args = sys.argv[1:]
opt = lambda name, default: args[args.index(name) + 1] if name in args else default
tolerance = float(opt("--tolerance", "0.001"))
minimum = int(opt("--min", "1"))


def key(k):
    src, dst, proto, sport, dport = k
    proto = int(proto)
    return (src, dst, proto) + ((0, 0) if proto in (1, 58) else (int(sport or 0), int(dport or 0)))


def spans(pairs):
    out = {}
    for k, first, last in pairs:
        f, l = out.get(k, (first, last))
        out[k] = (min(f, first), max(l, last))
    return out


truth = spans((key(t["key"]), t["first"], t["last"]) for t in json.load(open(args[0])))
stored = spans((key(k), float(s), float(e)) for k, s, e in json.load(open(args[1])))
bad, worst = 0, 0.0
for k, (first, last) in truth.items():
    if k not in stored:
        bad += 1
        print(f"  MISSING {k}")
        continue
    s, e = stored[k]
    worst = max(worst, abs(s - first), abs(e - last))
    if abs(s - first) > tolerance or abs(e - last) > tolerance:
        bad += 1
        print(f"  DIFF {k}: start {(s - first) * 1e3:+.3f} ms, end {(e - last) * 1e3:+.3f} ms from the capture")
for k in stored.keys() - truth.keys():
    bad += 1
    print(f"  EXTRA {k}: stored, not in the capture")
print(f"    {len(truth)} flows' start and end compared, {bad} differ; largest error {worst * 1e3:.3f} ms")
sys.exit(0 if bad == 0 and len(truth) >= minimum else 1)
