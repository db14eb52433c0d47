#!/usr/bin/env python3
"""pcapflows.py [--first] [--icmp-types] [--fields] [--held=EGRESS.pcap,...] CAPTURE.pcap... > flows.json

Ground truth from captures of the TAPs: per flow (src, dst, protocol, source port,
destination port) the packets and IP bytes (IPv4 total length, or 40 + IPv6 payload length).
Walks 802.1Q/802.1ad tags, PPPoE sessions and IPv6 extension headers to the transport
protocol, as a flow probe must; ICMP and ICMPv6 flows have ports 0, later fragments too. Non-IP frames are left out.
A plain parser of classic pcap files: no dissector stands between the bytes and the counts.
With --first, each row also carries the capture time (Unix seconds) of the flow's first packet.
With --icmp-types, ICMP/ICMPv6 flows keep type << 8 | code as their destination port.
With --fields, the output is instead one object per flow and capture file, with every field a
flow record carries that the wire shows: {"key", "capture" (the file's name without .pcap:
the TAP it came in on), "packets", "bytes", "first", "last" (capture times, Unix seconds),
"tcp_flags" (OR over the segments), "tos" ([the ToS / traffic class]), "icmp" (type << 8 |
code, or null)}. A flow is keyed per capture file and ToS, as a probe that records l3 keys it
(a TIME_WAIT socket's last ACK may carry another ToS than the connection did).
With --held= naming the captures of the frames flowtap wrote (tcpdump -Q in on each TAP), each
--fields object also carries "first_held" and "last_held", and each --first row a fifth value,
the first packet's held time: how long flowtap held that frame (tools/held.py), seconds or
null.
"""
import ipaddress
import json
import struct
import sys
from collections import defaultdict

import held

EXTENSION = {0, 43, 60, 51, 44}
icmp_types = False   # --icmp-types (set by main)


def flow(frame):
    etype, off = struct.unpack(">H", frame[12:14])[0], 14
    while etype in (0x8100, 0x88A8):
        etype, off = struct.unpack(">H", frame[off + 2:off + 4])[0], off + 4
    if etype == 0x8864:   # a PPPoE session (RFC 2516): 6 bytes, then the PPP protocol
        if frame[off + 6] & 1:   # compressed to one byte (RFC 1661 protocol field compression)
            protocol, off = frame[off + 6], off + 7
        else:
            protocol, off = struct.unpack(">H", frame[off + 6:off + 8])[0], off + 8
        etype = {0x0021: 0x0800, 0x0057: 0x86DD}.get(protocol, 0)
    ip = frame[off:]
    later_fragment = False
    if etype == 0x0800:
        tos = ip[1]
        ihl = (ip[0] & 0x0F) * 4
        length = struct.unpack(">H", ip[2:4])[0]
        proto = ip[9]
        src, dst = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20])
        later_fragment = struct.unpack(">H", ip[6:8])[0] & 0x1FFF != 0
        l4 = ip[ihl:]
    elif etype == 0x86DD:
        tos = (struct.unpack(">H", ip[0:2])[0] >> 4) & 0xFF
        length = 40 + struct.unpack(">H", ip[4:6])[0]
        proto, p = ip[6], 40
        src, dst = ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40])
        while proto in EXTENSION:
            if proto == 44:
                later_fragment = later_fragment or struct.unpack(">H", ip[p + 2:p + 4])[0] >> 3 != 0
                size = 8
            elif proto == 51:
                size = (ip[p + 1] + 2) * 4
            else:
                size = (ip[p + 1] + 1) * 8
            proto, p = ip[p], p + size
        l4 = ip[p:]
    else:
        return None
    sport = dport = 0
    flags, icmp = 0, None
    if proto in (6, 17, 132) and not later_fragment and len(l4) >= 4:
        sport, dport = struct.unpack(">HH", l4[:4])
        if proto == 6 and len(l4) >= 14:
            flags = struct.unpack(">H", l4[12:14])[0] & 0x0FFF
    elif proto in (1, 58) and len(l4) >= 2:
        if not later_fragment:
            icmp = l4[0] << 8 | l4[1]
        if icmp_types:
            dport = l4[0] << 8 | l4[1]
    return (str(src), str(dst), proto, sport, dport), length, (flags, tos, icmp)


def main(argv):
    global icmp_types
    first = "--first" in argv
    icmp_types = "--icmp-types" in argv
    egress = held.option(argv)
    index = held.index(egress)
    paths = [a for a in argv[1:] if not a.startswith("--")]
    if "--fields" in argv:
        out = {}
        for path in paths:
            capture = path.rsplit("/", 1)[-1].removesuffix(".pcap")
            for ts, frame, kept in held.frames_held(path, index):
                f = flow(frame)
                if not f:
                    continue
                key, length, (flags, tos, icmp) = f
                o = out.setdefault((capture, key, tos), {"key": list(key), "capture": capture, "packets": 0, "bytes": 0,
                                                         "first": ts, "last": ts, "tcp_flags": 0, "tos": [], "icmp": icmp,
                                                         "first_held": kept, "last_held": kept})
                o["packets"] += 1
                o["bytes"] += length
                if ts < o["first"]:
                    o["first"], o["first_held"] = ts, kept
                if ts >= o["last"]:
                    o["last"], o["last_held"] = ts, kept
                o["tcp_flags"] |= flags
                if tos not in o["tos"]:
                    o["tos"].append(tos)
        if not egress:
            for o in out.values():
                del o["first_held"], o["last_held"]
        json.dump(list(out.values()), sys.stdout)
        return
    counts = defaultdict(lambda: [0, 0, float("inf"), None])
    for path in paths:
        for ts, frame, kept in held.frames_held(path, index):
            f = flow(frame)
            if f:
                c = counts[f[0]]
                c[0] += 1
                c[1] += f[1]
                if ts < c[2]:
                    c[2], c[3] = ts, kept
    extra = (lambda v: [v[2], v[3]]) if first and egress else (lambda v: [v[2]]) if first else (lambda v: [])
    json.dump([[list(k), v[0], v[1]] + extra(v) for k, v in sorted(counts.items())], sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
