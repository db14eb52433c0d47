#!/usr/bin/env python3
"""flowcompare.py TRUTH.json COLLECTED.json [--ipv4-only] [--min N]

Both files hold [[src, dst, proto, sport, dport], packets, bytes] rows (several rows of one
flow are summed: active-timeout reports and post-FIN records add up). Prints a table and
exits 0 when every flow of the truth (IPv4 flows only, with --ipv4-only) is at the collector
with exactly its packets and bytes, nothing else is, and there are at least N flows.
ICMP/ICMPv6 ports are ignored: collectors put type and code there in different ways.
"""
import ipaddress
import json
import sys
from collections import defaultdict


def load(path, ipv4_only):
    flows = defaultdict(lambda: [0, 0])
    for (src, dst, proto, sport, dport), packets, octets in json.load(open(path)):
        src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        if ipv4_only and src.version != 4:
            continue
        if int(proto) in (1, 58):
            sport = dport = 0
        f = flows[(str(src), str(dst), int(proto), int(sport), int(dport))]
        f[0] += int(packets)
        f[1] += int(octets)
    return flows


args = sys.argv[1:]
ipv4_only = "--ipv4-only" in args
minimum = int(args[args.index("--min") + 1]) if "--min" in args else 1
truth, collected = load(args[0], ipv4_only), load(args[1], ipv4_only)
bad = 0
for k in sorted(set(truth) | set(collected)):
    t, c = truth.get(k, [0, 0]), collected.get(k, [0, 0])
    ok = t == c
    bad += not ok
    if not ok or "-v" in args:
        print(f"  {'ok' if ok else 'DIFF'} {k[0]}:{k[3]} > {k[1]}:{k[4]} p{k[2]}: capture {t[0]} pkts {t[1]} B, collector {c[0]} pkts {c[1]} B")
print(f"  flows: {len(truth)} in the capture, {len(collected)} at the collector, {bad} differ")
sys.exit(1 if bad or len(truth) < minimum else 0)
