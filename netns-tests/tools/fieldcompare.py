#!/usr/bin/env python3
"""fieldcompare.py TRUTH.json RECORDS.json --ifindex tapa=N,tapb=M [--format ipfix|v9|v5|nfdump]
                   [--tolerance SECONDS] [--min N] [--ipv4-only]

Every field of every flow record, against the wire. TRUTH is `pcapflows.py --fields --icmp-types` over the
captures of the TAPs (tapa.pcap holds what entered from tap-a), RECORDS is pycollect.py's
output ("records_list", decoded by a third-party library) or nfdump2records.py's (nfdump's
own decoding, of IPFIX or v9: --format nfdump, which has no end reason). For each flow of the capture, the
records of its key (ICMP: addresses and protocol, one key per direction) that came in on its
TAP (a key both hosts send, such as an MLD report from ::, is a flow of each) must together hold:
  packets and bytes            the capture's, exactly;
  tcp_flags                    the OR over its segments (v9 and v5 carry the low 8 bits, and
                               nfdump prints them);
  tos                          the capture's (flows are keyed on it, as flowtap keys them);
  icmp                         the capture's type << 8 | code (its own field, or the
                               destination port where the format puts it, as v5 does);
  in, out                      the ifindex of the TAP the flow came in on, and of the other;
  direction                    0 for tap-a's flows, 1 for tap-b's (not in v5);
  start, end                   the capture's first and last packet, within --tolerance
                               (default 0.001 s): the earliest start, the latest end;
  reason (IPFIX)               3 (end of flow detected) for a TCP flow that had a FIN or RST,
                               or whose reverse had a RST (the run must outlast the close
                               grace), else 1 or 4 (idle timeout, forced end).
With --ipv4-only (v5), the capture's IPv6 flows are left out.
Prints each difference and the largest time error; exits 0 when there is none and at least
N flows were compared.
"""
import json
import sys
from collections import defaultdict

args = sys.argv[1:]
opt = lambda name, default: args[args.index(name) + 1] if name in args else default
fmt = opt("--format", "ipfix")
tolerance = float(opt("--tolerance", "0.001"))
minimum = int(opt("--min", "1"))
ifindex = dict(kv.split("=") for kv in opt("--ifindex", "").split(","))
ifindex = {k: int(v) for k, v in ifindex.items()}
other = {"tapa": "tapb", "tapb": "tapa"}
truth = [t for t in json.load(open(args[0])) if "--ipv4-only" not in args or ":" not in t["key"][0]]
records = json.load(open(args[1]))["records_list"]


def key(k, icmp=None, tos=None):
    """A flow's identity: the 5-tuple (for ICMP the addresses, protocol and type/code: a
    record's icmp field, or its destination port where the format puts type/code there) and
    the ToS, which flowtap keys on."""
    src, dst, proto, sport, dport = k
    proto = int(proto)
    if proto in (1, 58):
        return (src, dst, proto, 0, int(icmp if icmp is not None else dport or 0), tos)
    return (src, dst, proto, int(sport or 0), int(dport or 0), tos)


by_key = defaultdict(list)
for r in records:
    by_key[key(r["key"], r.get("icmp"), r.get("tos")) + (r.get("in"),)].append(r)

# TCP flows whose connection the other direction reset: they end as if the RST were theirs.
reset = {(t["key"][1], t["key"][0], 6, t["key"][4], t["key"][3]) for t in truth if t["key"][2] == 6 and t["tcp_flags"] & 0x04}

bad, compared, worst = 0, 0, 0.0
seen = set()
for t in truth:
    k = key(t["key"], t["icmp"], t["tos"][0]) + (ifindex[t["capture"]],)
    rs = by_key.get(k, [])
    seen.add(k)
    compared += 1
    problems = []
    if not rs:
        problems.append("no record")
    else:
        got = (sum(r["packets"] for r in rs), sum(r["bytes"] for r in rs))
        if got != (t["packets"], t["bytes"]):
            problems.append(f"packets/bytes {got} != {(t['packets'], t['bytes'])}")
        if t["key"][2] == 6:
            mask = 0xFF if fmt in ("v9", "v5", "nfdump") else 0x0FFF
            flags = 0
            for r in rs:
                flags |= int(r["tcp_flags"] or 0)
            if flags != t["tcp_flags"] & mask:
                problems.append(f"tcp_flags {flags:#x} != {t['tcp_flags'] & mask:#x}")
        if t["icmp"] is not None:
            icmps = {r.get("icmp") if r.get("icmp") is not None else r["key"][4] for r in rs}
            if icmps != {t["icmp"]}:
                problems.append(f"icmp {icmps} != {t['icmp']}")
        cap = t["capture"]
        for r in rs:
            if (r.get("in"), r.get("out")) != (ifindex[cap], ifindex[other[cap]]):
                problems.append(f"in/out {r.get('in')}/{r.get('out')} != {ifindex[cap]}/{ifindex[other[cap]]}")
            if fmt != "v5" and r.get("direction") != (0 if cap == "tapa" else 1):
                problems.append(f"direction {r.get('direction')}")
        starts = [r["start"] for r in rs if r.get("start") is not None]
        ends = [r["end"] for r in rs if r.get("end") is not None]
        if len(starts) != len(rs) or len(ends) != len(rs):
            problems.append("a record without start or end")
        else:
            e1, e2 = min(starts) - t["first"], max(ends) - t["last"]
            worst = max(worst, abs(e1), abs(e2))
            if abs(e1) > tolerance or abs(e2) > tolerance:
                problems.append(f"start {e1 * 1000:+.3f} ms, end {e2 * 1000:+.3f} ms from the capture")
        if fmt == "ipfix":
            closed = k[2] == 6 and (t["tcp_flags"] & 0x05 or tuple(t["key"]) in reset)
            reasons = {r.get("reason") for r in rs}
            if closed and reasons != {3}:
                problems.append(f"reason {reasons}, a closed or reset connection's is 3")
            if not closed and not reasons <= {1, 4}:
                problems.append(f"reason {reasons}, expected idle timeout or forced end")
    if problems:
        bad += 1
        print(f"  DIFF {t['capture']} {t['key']}: " + "; ".join(problems))
extra = [k for k in by_key if k not in seen]
for k in extra:
    bad += 1
    print(f"  DIFF {k}: at the collector, not in the capture")
print(f"  {fmt}: {compared} flows compared field by field, {bad} differ; largest time error {worst * 1000:.3f} ms")
sys.exit(0 if bad == 0 and compared >= minimum else 1)
