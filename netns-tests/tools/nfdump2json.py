#!/usr/bin/env python3
"""nfdump2json.py < `nfdump -a -o csv` > rows.json: the flow rows of nfdump's CSV as
[[src, dst, proto, sport, dport], packets, bytes]."""
import csv
import json
import sys

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "IPv6-ICMP": 58}
rows = []
lines = []
for line in sys.stdin:
    if not line.strip() or line.startswith("Summary"):
        break
    lines.append(line)
for r in csv.DictReader(lines):
    pr = r["pr"].strip()
    proto = PROTO.get(pr, int(pr) if pr.isdigit() else -1)
    rows.append([[r["sa"].strip(), r["da"].strip(), proto, int(float(r["sp"])), int(float(r["dp"]))],
                 int(r["ipkt"]), int(r["ibyt"])])
json.dump(rows, sys.stdout)
