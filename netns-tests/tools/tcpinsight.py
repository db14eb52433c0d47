#!/usr/bin/env python3
"""tcpinsight.py latency [--held=EGRESS.pcap,...] CAPTURE.pcap... > truth.json
   tcpinsight.py compare truth.json measured.json [--per-connection N] [--tolerance-us US]
   tcpinsight.py sequence CAPTURE.pcap... > truth.json

Ground truth for flowtap's per-connection TCP latency, from captures of the TAPs (both
directions; frames are merged in capture-time order). A plain parser of classic pcap files and
IPv4/IPv6 TCP headers, on the definitions the README gives:

  - the client is the side that sent a SYN without ACK, the server the side of the SYN/ACK;
  - SYN time: the client's last SYN before its first segment with ACK and no SYN (and before
    its first data); SYN/ACK time: the server's last SYN/ACK before its first data;
  - ACK time: the client's first segment with ACK and no SYN after its SYN;
  - data time: each side's first segment with payload, before its FIN or RST;
  - server network delay = SYN/ACK - SYN; client network delay = ACK - SYN/ACK; application
    latency = server's first data - client's first data, when positive (else 0).

Prints one object per connection: {"client": [ip, port], "server": [ip, port], "server_us",
"client_us", "app_us"} (0 where the packets were not there). With --held= naming the captures
of the frames flowtap wrote (tcpdump -Q in on each TAP), each also carries "server_held",
"client_held" and "app_held": [how long flowtap held the earlier packet, and the later one]
in microseconds (tools/held.py). flowtap stamps each frame while it holds it, so a figure may
be short by the first and long by the second beyond the tolerance.

sequence: per flow direction, the data segments that were retransmissions and those that were
out of order, by the README's definition: sequence numbers modulo 2^32; the first data segment
sets the high mark (the end of the highest data seen); one starting beyond the mark leaves a
hole (replacing any earlier one) and moves the mark; one starting inside the hole is out of
order (and shrinks the hole when it starts at its front); any other starting below the mark is
a retransmission. Prints {"flow": [src, sport, dst, dport], "retransmitted", "out_of_order",
"segments"} per direction with data.

compare: measured.json is a list of {"flow": [src, sport, dst, dport], "client_us", "server_us",
"app_us"} (a record or a live flow, either direction; a value may be null where the source
cannot show it). Every connection of the truth must be measured at least N times (default 1),
each measurement within US microseconds (default 1000) of the truth, widened by the truth's held
window where it has one; prints the largest error.
"""
import ipaddress
import json
import struct
import sys

import held
from pcapfile import frames

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def segment(frame, with_sequence=False):
    """((src, sport), (dst, dport), flags, payload length[, sequence]) of a TCP frame, or None."""
    etype, off = struct.unpack(">H", frame[12:14])[0], 14
    while etype in (0x8100, 0x88A8):
        etype, off = struct.unpack(">H", frame[off + 2:off + 4])[0], off + 4
    ip = frame[off:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl, total = (ip[0] & 0x0F) * 4, struct.unpack(">H", ip[2:4])[0]
        src, dst, l4, l4len = ip[12:16], ip[16:20], ip[ihl:], total - ihl
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        src, dst, l4, l4len = ip[8:24], ip[24:40], ip[40:], struct.unpack(">H", ip[4:6])[0]
    else:
        return None
    if len(l4) < 20:
        return None
    sport, dport = struct.unpack(">HH", l4[:4])
    header = (l4[12] >> 4) * 4
    ends = (str(ipaddress.ip_address(src)), sport), (str(ipaddress.ip_address(dst)), dport), l4[13], l4len - header
    return ends + (struct.unpack(">I", l4[4:8])[0],) if with_sequence else ends


def latency(paths, egress=()):
    index = held.index(egress)
    # By capture time alone: a stable sort keeps each file's order among equal timestamps.
    segs = sorted(((ts, s, h) for p in paths for ts, f, h in held.frames_held(p, index) if (s := segment(f))),
                  key=lambda x: x[0])
    conns = {}
    kept = {}   # (connection, side, event) -> the held time of the packet that set it
    for ts, (src, dst, flags, payload), h in segs:
        side = {"syn": 0, "ack": 0, "data": 0, "ended": False}
        c = conns.setdefault(frozenset((src, dst)), {"sides": {}, "client": None, "server": None})
        me = c["sides"].setdefault(src, dict(side))

        def mark(event):
            me[event] = ts
            kept[(id(c), src, event)] = h or 0.0
        syn_ack = flags & (SYN | ACK)
        if syn_ack == SYN and not me["ack"] and not me["data"]:
            c["client"], c["server"] = src, dst
            mark("syn")
        elif syn_ack == SYN | ACK and not me["data"]:
            mark("syn")
        elif not me["ended"] and me["syn"]:
            if syn_ack == ACK and src == c["client"] and not me["ack"]:
                mark("ack")
            if payload > 0 and not me["data"]:
                mark("data")
        if flags & (FIN | RST):
            me["ended"] = True
    out = []
    for c in conns.values():
        if not c["client"] or c["server"] not in c["sides"]:
            continue
        cl, sv = c["sides"][c["client"]], c["sides"][c["server"]]

        def between(a, b):
            return round((b - a) * 1e6) if a and b > a else 0

        def window(a, b):
            return [round(kept.get((id(c),) + a, 0.0) * 1e6), round(kept.get((id(c),) + b, 0.0) * 1e6)]
        o = {"client": list(c["client"]), "server": list(c["server"]), "server_us": between(cl["syn"], sv["syn"]),
             "client_us": between(sv["syn"], cl["ack"]), "app_us": between(cl["data"], sv["data"])}
        if egress:
            o.update(server_held=window((c["client"], "syn"), (c["server"], "syn")),
                     client_held=window((c["server"], "syn"), (c["client"], "ack")),
                     app_held=window((c["client"], "data"), (c["server"], "data")))
        out.append(o)
    return out


def sequence(paths):
    def after(a, b):
        d = (a - b) & 0xFFFFFFFF
        return 0 < d < 0x80000000

    flows = {}
    for ts, frame in sorted(((ts, f) for p in paths for ts, f in frames(p)), key=lambda x: x[0]):
        s = segment(frame, with_sequence=True)
        if not s or s[3] <= 0:
            continue
        src, dst, _, length, seq = s
        end = (seq + length) & 0xFFFFFFFF
        f = flows.get((src, dst))
        if f is None:
            flows[(src, dst)] = {"high": end, "hole": (end, end), "retransmitted": 0, "out_of_order": 0, "segments": 1}
            continue
        f["segments"] += 1
        high, (start, stop) = f["high"], f["hole"]
        if after(seq, high):
            f["hole"], f["high"] = (high, seq), end
        elif seq == high:
            f["high"] = end
        else:
            if not after(start, seq) and after(stop, seq):
                f["out_of_order"] += 1
                if seq == start:
                    f["hole"] = (stop if after(end, stop) else end, stop)
            else:
                f["retransmitted"] += 1
            if after(end, high):
                f["high"] = end
    return [{"flow": [src[0], src[1], dst[0], dst[1]], "retransmitted": f["retransmitted"],
             "out_of_order": f["out_of_order"], "segments": f["segments"]} for (src, dst), f in flows.items()]


def compare(truth_path, measured_path, per, tolerance):
    truth = json.load(open(truth_path))
    measured = json.load(open(measured_path))
    worst, bad, counts = 0, [], {}
    for t in truth:
        ends = {tuple(t["client"]), tuple(t["server"])}
        mine = [m for m in measured if {tuple(m["flow"][:2]), tuple(m["flow"][2:])} == ends]
        counts[t["client"][1]] = len(mine)
        for m in mine:
            for k in ("client_us", "server_us", "app_us"):
                if m[k] is None:
                    continue
                err = m[k] - t[k]
                early, late = t.get(k.replace("_us", "_held"), [0, 0])
                worst = max(worst, abs(err))
                if t[k] and (err < -early - tolerance or err > late + tolerance) or not t[k] and abs(err) > tolerance:
                    bad.append(f"{t['client'][1]} {k}: {m[k]} against {t[k]} (held {early} and {late} us)")
    short = [port for port, n in counts.items() if n < per]
    print(f"    {len(truth)} connections, {sum(counts.values())} measurements, largest error {worst} us")
    for line in bad[:10]:
        print(f"    off by more than {tolerance} us: {line}")
    if short:
        print(f"    connections measured fewer than {per} times: {short}")
    return not bad and not short and truth


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "latency":
        json.dump(latency([a for a in sys.argv[2:] if not a.startswith("--")], held.option(sys.argv)), sys.stdout, indent=1)
    elif len(sys.argv) >= 3 and sys.argv[1] == "sequence":
        json.dump(sequence(sys.argv[2:]), sys.stdout, indent=1)
    elif len(sys.argv) >= 4 and sys.argv[1] == "compare":
        args = sys.argv[4:]
        per = int(args[args.index("--per-connection") + 1]) if "--per-connection" in args else 1
        tolerance = int(args[args.index("--tolerance-us") + 1]) if "--tolerance-us" in args else 1000
        sys.exit(0 if compare(sys.argv[2], sys.argv[3], per, tolerance) else 1)
    else:
        sys.exit(__doc__)
