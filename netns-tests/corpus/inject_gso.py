#!/usr/bin/python3
"""inject_gso.py IFACE SRC_MAC DST_MAC EXPECTED.json

Sends GSO super-frames through an AF_PACKET socket with PACKET_VNET_HDR, each behind its
virtio_net_hdr, and writes the per-flow packets and IP octets a wire carries for them, computed
from their definition: ceil(payload / gso_size) segments, the IP and transport headers once per
segment plus the payload. Without TAP offloads the kernel cuts them before the probe; with
`--offload` they reach it whole.
"""
import json
import socket
import struct
import sys

from scapy.all import IP, TCP, UDP, Ether, IPv6

iface, src, dst, out = sys.argv[1:5]
SOL_PACKET, PACKET_VNET_HDR = 263, 15
NEEDS_CSUM, TCPV4, TCPV6, UDP_L4 = 1, 1, 4, 5

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
s.bind((iface, 0))


def checksum_seed(pseudo):
    """The folded, uncomplemented pseudo-header sum a CHECKSUM_PARTIAL packet carries."""
    if len(pseudo) % 2:
        pseudo += b"\0"
    total = sum(struct.unpack(f"!{len(pseudo) // 2}H", pseudo))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


expected = {}
for name, build, gso_type, mss, payload, count in [
    ("tcp4", lambda p: IP(src="10.77.60.1", dst="10.77.60.2") / TCP(sport=42000, dport=9000, flags="PA") / p, TCPV4, 1448, 20000, 3),
    ("tcp6", lambda p: IPv6(src="fd00:60::1", dst="fd00:60::2") / TCP(sport=42001, dport=9001, flags="PA") / p, TCPV6, 1428, 15000, 2),
    ("udp4", lambda p: IP(src="10.77.60.1", dst="10.77.60.2") / UDP(sport=42002, dport=9002) / p, UDP_L4, 1400, 10000, 2),
]:
    for _ in range(count):
        pkt = build(b"g" * payload)
        raw = bytes(pkt)
        v6 = pkt.version == 6
        ip_len = 40 if v6 else 20
        l4_len = 20 if gso_type != UDP_L4 else 8
        l4 = raw[ip_len:]
        proto = 6 if gso_type != UDP_L4 else 17
        if v6:
            pseudo = raw[8:40] + struct.pack("!IxxxB", len(l4), proto)
        else:
            pseudo = raw[12:20] + struct.pack("!xBH", proto, len(l4))
        check_at = 16 if proto == 6 else 6
        l4 = l4[:check_at] + struct.pack("!H", checksum_seed(pseudo)) + l4[check_at + 2:]
        frame = bytes(Ether(src=src, dst=dst, type=0x86DD if v6 else 0x0800)) + raw[:ip_len] + l4
        header = struct.pack("<BBHHHH", NEEDS_CSUM, gso_type, 14 + ip_len + l4_len, mss, 14 + ip_len, check_at)
        s.send(header + frame)
        segments = -(-payload // mss)
        key = (pkt.src, pkt.dst, proto, pkt.payload.sport, pkt.payload.dport)
        e = expected.setdefault(key, [0, 0])
        e[0] += segments
        e[1] += segments * (ip_len + l4_len) + payload
json.dump([[list(k), v[0], v[1]] for k, v in expected.items()], open(out, "w"))
print(f"injected super-frames for {len(expected)} flows")
