#!/usr/bin/env python3
"""flowcmp.py CAPTURE.tsv COLLECTOR.csv [MIN_FLOWS]

Ground truth against the collector: per-flow packets and IP bytes from a capture of the TAPs
(tshark fields: ip.src ip.dst ip.proto tcp.srcport tcp.dstport udp.srcport udp.dstport ip.len)
against what nfcapd stored (`nfdump -a -o csv`, which sums every record of a 5-tuple, so
active-timeout deltas and post-FIN records add up to the whole flow). ICMP ports are ignored.
Exits 0 when every flow matches exactly and there are at least MIN_FLOWS of them.
"""
import csv
import sys
from collections import defaultdict

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1}

truth = defaultdict(lambda: [0, 0])
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8 or not f[0]:
        continue
    proto = int(f[2])
    sp = int(f[3] or f[5] or 0)
    dp = int(f[4] or f[6] or 0)
    if proto == 1:
        sp = dp = 0
    t = truth[(f[0], f[1], proto, sp, dp)]
    t[0] += 1
    t[1] += int(f[7])

collected = defaultdict(lambda: [0, 0])
rows = []
with open(sys.argv[2]) as fh:
    for line in fh:
        if not line.strip() or line.startswith("Summary"):
            break
        rows.append(line)
for r in csv.DictReader(rows):
    pr = r["pr"].strip()
    proto = PROTO.get(pr, int(pr) if pr.isdigit() else -1)
    sp, dp = int(float(r["sp"])), int(float(r["dp"]))
    if proto == 1:
        sp = dp = 0
    c = collected[(r["sa"], r["da"], proto, sp, dp)]
    c[0] += int(r["ipkt"])
    c[1] += int(r["ibyt"])

minimum = int(sys.argv[3]) if len(sys.argv) > 3 else 1
print("| flow | capture pkts | collector pkts | capture bytes | collector bytes | match |")
print("|---|---|---|---|---|---|")
bad = 0
for k in sorted(set(truth) | set(collected)):
    t, c = truth.get(k, [0, 0]), collected.get(k, [0, 0])
    ok = t == c
    bad += not ok
    print(f"| {k[0]}:{k[3]} > {k[1]}:{k[4]} p{k[2]} | {t[0]} | {c[0]} | {t[1]} | {c[1]} | {'yes' if ok else 'NO'} |")
print(f"flows: {len(truth)} in the capture, {len(collected)} at the collector, {bad} differ")
sys.exit(1 if bad or len(truth) < minimum else 0)
