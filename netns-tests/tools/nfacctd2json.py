#!/usr/bin/env python3
"""nfacctd2json.py [--times] < print-plugin CSV > rows.json: nfacctd's rows as
[[src, dst, proto, sport, dport], packets, bytes] (sums if a 5-tuple appears in several dumps),
or with --times (aggregate with timestamp_start, timestamp_end) as
[[src, dst, proto, sport, dport], start, end] for flowcheck.py times. A header repeated by an
appending dump is skipped."""
import csv
import json
import sys

times = "--times" in sys.argv[1:]
rows = []
for r in csv.DictReader(sys.stdin):
    if r.get("SRC_IP") == "SRC_IP":
        continue
    key = [r["SRC_IP"], r["DST_IP"], int(r["PROTOCOL"]), int(r["SRC_PORT"]), int(r["DST_PORT"])]
    rows.append([key, r["TIMESTAMP_START"], r["TIMESTAMP_END"]] if times else [key, int(r["PACKETS"]), int(r["BYTES"])])
json.dump(rows, sys.stdout)
