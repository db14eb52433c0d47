#!/usr/bin/env python3
"""nfdump2records.py NFCAPD_DIR > records.json: every record nfcapd stored, each field as nfdump
prints it, in pycollect.py's "records_list" form, for flowcheck.py fields (--format nfdump).

nfdump 1.7 prints times to the millisecond (IPv6 addresses in full with -6) (%ts, %te, read in UTC), TCP flags as letters
(CEUAPRSF), ICMP type and code as the destination port "TYPE.CODE", and the direction as I or E.
"""
import json
import subprocess
import sys
from datetime import datetime, timezone

FIELDS = "%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt|%flg|%tos|%in|%out|%dir"
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "IPv6-ICMP": 58}
FLAGS = "CEUAPRSF"  # bit 7 .. bit 0


def when(text):
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


out = subprocess.run(["nfdump", "-R", sys.argv[1], "-q", "-N", "-6", "-o", "fmt:" + FIELDS], capture_output=True, text=True,
                     env={"TZ": "UTC", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}, check=True).stdout
records = []
for line in out.splitlines():
    cols = [c.strip() for c in line.split("|")]
    if len(cols) != 14:
        continue
    ts, te, sa, da, sp, dp, pr, pkt, byt, flg, tos, i, o, d = cols
    proto = PROTO.get(pr, int(pr) if pr.isdigit() else -1)
    icmp = None
    if proto in (1, 58):
        t, c = dp.split(".")
        icmp, sp, dp = int(t) << 8 | int(c), "0", "0"
    flags = sum(1 << (7 - n) for n, ch in enumerate(flg) if ch == FLAGS[n])
    records.append({"key": [sa, da, proto, int(sp), int(dp)], "packets": int(pkt), "bytes": int(byt), "tcp_flags": flags,
                    "tos": int(tos), "icmp": icmp, "in": int(i), "out": int(o), "direction": {"I": 0, "E": 1}.get(d),
                    "start": when(ts), "end": when(te)})
json.dump({"records_list": records}, sys.stdout)
