#!/usr/bin/env python3
"""nfacctd2json.py < print-plugin CSV > rows.json: nfacctd's rows as
[[src, dst, proto, sport, dport], packets, bytes] (sums if a 5-tuple appears in several dumps)."""
import csv
import json
import sys

rows = []
for r in csv.DictReader(sys.stdin):
    rows.append([[r["SRC_IP"], r["DST_IP"], int(r["PROTOCOL"]), int(r["SRC_PORT"]), int(r["DST_PORT"])],
                 int(r["PACKETS"]), int(r["BYTES"])])
json.dump(rows, sys.stdout)
