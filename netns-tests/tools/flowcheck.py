#!/usr/bin/env python3
"""flowcheck.py - flow records against the capture of the TAPs: the one comparison tool.

    flowcheck.py counts TRUTH COLLECTED [--ipv4-only] [--min N] [--once] [--slack N] [-v]
    flowcheck.py fields TRUTH RECORDS --ifindex tapa=N,tapb=M [--format ipfix|v9|v5|nfdump]
                        [--tolerance SECONDS] [--min N] [--ipv4-only]
    flowcheck.py times TRUTH ROWS [--tolerance SECONDS] [--min N]
    flowcheck.py starts TRUTH STARTS [--epoch-offset S] [--tolerance SECONDS] [--min N]

Every mode matches flows by their 5-tuple (ICMP by addresses and protocol, since collectors put
type and code in different places; `fields` keys ICMP on type/code and every flow on its ToS,
as flowtap does), prints what differs, and exits 0 only when nothing does and at least N flows
were compared.

counts  TRUTH and COLLECTED hold [[src, dst, proto, sport, dport], packets, bytes] rows (rows of
        one flow are summed: active-timeout reports and post-FIN records add up). Every flow of
        the truth must be at the collector with exactly its packets and bytes, and nothing else.
        With --once, in exactly one record: nothing split it (a handover, a restart). With
        --slack N, a flow may be short by up to N packets at the collector (frames a crash took
        in flight), its bytes then unchecked; never more than the capture.
fields  Every field of every record. TRUTH is `pcapflows.py --fields --icmp-types` over the
        captures (tapa.pcap holds what entered from tap-a); RECORDS is pycollect.py's output
        ("records_list", decoded by a third-party library) or nfdump2records.py's (--format
        nfdump, which has no end reason). The records of a flow that came in on its TAP must
        together hold: packets and bytes, exactly; the OR of the TCP flags (v9, v5 and nfdump:
        the low 8 bits); the ToS; ICMP type << 8 | code; ingress and egress ifindex; direction
        (0 for tap-a's flows, 1 for tap-b's; not in v5); start and end within --tolerance
        (default 0.001 s), late by at most the time flowtap held the frame when TRUTH has
        first_held/last_held (pcapflows.py --held=, tools/held.py); in IPFIX the end reason,
        3 for a TCP flow with a FIN or RST or whose reverse had a RST, else 1 or 4.
times   ROWS is [[src, dst, proto, sport, dport], start, end] per record (Unix seconds): per
        flow the earliest start and the latest end within --tolerance of the capture's first
        and last packet (late by at most their held time, as in fields), and no flow the
        capture lacks.
starts  TRUTH is `pcapflows.py --first` rows, STARTS [[src, dst, proto, sport, dport], start]
        (--epoch-offset is subtracted first): for every flow in both, the earliest start within
        --tolerance (default 0.001 s) of the first packet (late by at most its held time, when
        the rows carry it); --min defaults to 5 here.
"""
import ipaddress
import json
import sys
from collections import defaultdict

from held import outside


def five_tuple(k):
    """A flow's 5-tuple as every mode compares it: addresses in canonical form, ICMP without ports."""
    src, dst, proto, sport, dport = k
    proto = int(proto)
    ports = (0, 0) if proto in (1, 58) else (int(sport or 0), int(dport or 0))
    return (str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)), proto) + ports


def counts(truth_rows, collected_rows, ipv4_only=False, minimum=1, verbose=False, once=False, slack=0):
    def load(rows):
        flows = defaultdict(lambda: [0, 0, 0])
        for k, packets, octets in rows:
            k = five_tuple(k)
            if ipv4_only and ":" in k[0]:
                continue
            flows[k][0] += int(packets)
            flows[k][1] += int(octets)
            flows[k][2] += 1
        return flows

    truth, collected = load(truth_rows), load(collected_rows)
    lines, bad = [], 0
    for k in sorted(set(truth) | set(collected)):
        t, c = truth.get(k, [0, 0, 0]), collected.get(k, [0, 0, 0])
        short = t[0] - c[0]
        ok = (t[:2] == c[:2] or (0 < short <= slack and c[0] > 0)) and (not once or c[2] == 1)
        bad += not ok
        if not ok or verbose:
            split = f" in {c[2]} records" if once else ""
            lines.append(f"  {'ok' if ok else 'DIFF'} {k[0]}:{k[3]} > {k[1]}:{k[4]} p{k[2]}: capture {t[0]} pkts {t[1]} B, collector {c[0]} pkts {c[1]} B{split}")
    lines.append(f"  flows: {len(truth)} in the capture, {len(collected)} at the collector, {bad} differ")
    return bad == 0 and len(truth) >= minimum, lines


def fields(truth, records, ifindex, fmt="ipfix", tolerance=0.001, minimum=1, ipv4_only=False):
    other = {"tapa": "tapb", "tapb": "tapa"}
    truth = [t for t in truth if not ipv4_only or ":" not in t["key"][0]]

    def key(k, icmp=None, tos=None):
        # ICMP: the type/code of a record's icmp field, or of its destination port where the
        # format puts it there; every flow also by ToS, which flowtap keys on.
        src, dst, proto, sport, dport = five_tuple(k)
        if proto in (1, 58):
            return (src, dst, proto, 0, int(icmp if icmp is not None else k[4] or 0), tos)
        return (src, dst, proto, sport, dport, tos)

    by_key = defaultdict(list)
    for r in records:
        by_key[key(r["key"], r.get("icmp"), r.get("tos")) + (r.get("in"),)].append(r)
    # TCP flows whose connection the other direction reset end as if the RST were theirs.
    reset = {five_tuple((t["key"][1], t["key"][0], 6, t["key"][4], t["key"][3]))
             for t in truth if int(t["key"][2]) == 6 and t["tcp_flags"] & 0x04}
    lines, bad, compared, worst, most_held, seen = [], 0, 0, 0.0, 0.0, set()
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
            if int(t["key"][2]) == 6:
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
                h1, h2 = t.get("first_held"), t.get("last_held")
                worst = max(worst, abs(e1), abs(e2))
                most_held = max(most_held, h1 or 0, h2 or 0)
                if outside(e1, h1, tolerance) or outside(e2, h2, tolerance):
                    problems.append(f"start {e1 * 1000:+.3f} ms, end {e2 * 1000:+.3f} ms from the capture"
                                    f" (held {held_ms(h1)}, {held_ms(h2)})")
            if fmt == "ipfix":
                closed = k[2] == 6 and (t["tcp_flags"] & 0x05 or five_tuple(t["key"]) in reset)
                reasons = {r.get("reason") for r in rs}
                if closed and reasons != {3}:
                    problems.append(f"reason {reasons}, a closed or reset connection's is 3")
                if not closed and not reasons <= {1, 4}:
                    problems.append(f"reason {reasons}, expected idle timeout or forced end")
        if problems:
            bad += 1
            lines.append(f"  DIFF {t['capture']} {t['key']}: " + "; ".join(problems))
    for k in by_key:
        if k not in seen:
            bad += 1
            lines.append(f"  DIFF {k}: at the collector, not in the capture")
    lines.append(f"  {fmt}: {compared} flows compared field by field, {bad} differ; largest time error {worst * 1000:.3f} ms"
                 f" (a frame held up to {most_held * 1000:.3f} ms)")
    return bad == 0 and compared >= minimum, lines


def held_ms(h):
    return "?" if h is None else f"{h * 1000:.3f} ms"


def times(truth, rows, tolerance=0.001, minimum=1):
    def spans(rows):
        # Per flow the earliest first and the latest last, each with its frame's held time.
        out = {}
        for k, first, h1, last, h2 in rows:
            f = out.get(k)
            if f is None:
                out[k] = [first, h1, last, h2]
                continue
            if first < f[0]:
                f[0], f[1] = first, h1
            if last > f[2]:
                f[2], f[3] = last, h2
        return out

    truth = spans((five_tuple(t["key"]), t["first"], t.get("first_held"), t["last"], t.get("last_held")) for t in truth)
    stored = spans((five_tuple(k), float(s), None, float(e), None) for k, s, e in rows)
    lines, bad, worst = [], 0, 0.0
    for k, (first, h1, last, h2) in truth.items():
        if k not in stored:
            bad += 1
            lines.append(f"  MISSING {k}")
            continue
        s, _, e, _ = stored[k]
        worst = max(worst, abs(s - first), abs(e - last))
        if outside(s - first, h1, tolerance) or outside(e - last, h2, tolerance):
            bad += 1
            lines.append(f"  DIFF {k}: start {(s - first) * 1e3:+.3f} ms, end {(e - last) * 1e3:+.3f} ms from the capture"
                         f" (held {held_ms(h1)}, {held_ms(h2)})")
    for k in stored.keys() - truth.keys():
        bad += 1
        lines.append(f"  EXTRA {k}: stored, not in the capture")
    lines.append(f"    {len(truth)} flows' start and end compared, {bad} differ; largest error {worst * 1e3:.3f} ms")
    return bad == 0 and len(truth) >= minimum, lines


def starts(truth_rows, start_rows, epoch_offset=0.0, tolerance=0.001, minimum=5):
    truth = {five_tuple(r[0]): (r[3], r[4] if len(r) > 4 else None) for r in truth_rows}
    earliest = {}
    for k, start in start_rows:
        k = five_tuple(k)
        earliest[k] = min(earliest.get(k, float("inf")), float(start) - epoch_offset)
    compared = [(earliest[k] - truth[k][0], truth[k][1]) for k in earliest if k in truth]
    worst = max((abs(e) for e, _ in compared), default=float("inf"))
    most_held = max((h or 0 for _, h in compared), default=0.0)
    outside_any = [e for e, h in compared if outside(e, h, tolerance)]
    lines = [f"    {len(compared)} flow starts compared, worst difference {worst * 1e3:.3f} ms"
             f" (a frame held up to {most_held * 1e3:.3f} ms), {len(outside_any)} outside the window"]
    return len(compared) >= minimum and not outside_any, lines


def main(argv):
    if len(argv) < 3 or argv[0] not in ("counts", "fields", "times", "starts"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    mode, a, b, rest = argv[0], argv[1], argv[2], argv[3:]

    def opt(name, default):
        return rest[rest.index(name) + 1] if name in rest else default

    load = lambda path: json.load(open(path))
    if mode == "counts":
        ok, lines = counts(load(a), load(b), "--ipv4-only" in rest, int(opt("--min", "1")), "-v" in rest, "--once" in rest,
                           int(opt("--slack", "0")))
    elif mode == "fields":
        ifindex = {k: int(v) for k, v in (kv.split("=") for kv in opt("--ifindex", "").split(","))}
        ok, lines = fields(load(a), load(b)["records_list"], ifindex, opt("--format", "ipfix"),
                           float(opt("--tolerance", "0.001")), int(opt("--min", "1")), "--ipv4-only" in rest)
    elif mode == "times":
        ok, lines = times(load(a), load(b), float(opt("--tolerance", "0.001")), int(opt("--min", "1")))
    else:
        ok, lines = starts(load(a), load(b), float(opt("--epoch-offset", "0")), float(opt("--tolerance", "0.001")),
                           int(opt("--min", "5")))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
