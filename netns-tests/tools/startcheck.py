#!/usr/bin/env python3
"""startcheck.py TRUTH.json STARTS.json [--epoch-offset S]

TRUTH.json: pcapflows.py --first rows. STARTS.json: [[src, dst, proto, sport, dport], start] rows
from a collector (start in Unix seconds; --epoch-offset is subtracted first). For every flow
in both, the earliest start reported must equal the capture time of the flow's first packet
to within 1 ms, and at least 5 flows must be compared. Prints the worst difference.
"""
import ipaddress
import json
import sys


def key(k):
    proto = int(k[2])
    ports = (0, 0) if proto in (1, 58) else (int(k[3] or 0), int(k[4] or 0))
    return (str(ipaddress.ip_address(k[0])), str(ipaddress.ip_address(k[1])), proto) + ports


args = sys.argv[1:]
offset = float(args[args.index("--epoch-offset") + 1]) if "--epoch-offset" in args else 0.0
truth = {key(k): t for k, _, _, t in json.load(open(args[0]))}
earliest = {}
for k, start in json.load(open(args[1])):
    k = key(k)
    earliest[k] = min(earliest.get(k, float("inf")), float(start) - offset)
compared = [(k, abs(earliest[k] - truth[k])) for k in earliest if k in truth]
worst = max((d for _, d in compared), default=float("inf"))
print(f"    {len(compared)} flow starts compared, worst difference {worst * 1e3:.3f} ms")
sys.exit(0 if len(compared) >= 5 and worst <= 0.001 else 1)
