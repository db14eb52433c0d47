#!/usr/bin/python3
"""make_corpus.py OUTDIR H1_MAC H2_MAC

Writes OUTDIR/corpus.pcap, frames in the order they are to be sent from h1, and
OUTDIR/expected.json: what a flow probe must report, computed here from the corpus itself:
  "flows":  [[[src, dst, proto, sport, dport], packets, ip_bytes], ...] for every well-formed flow
            (fragments belong to their packet's transport flow; ICMP ports 0),
  "issues": {reason: frames} for the hostile frames, by flowtap's reason names,
  "non_ip": frames that are not IP.
Needs scapy (Debian python3-scapy, run with /usr/bin/python3).
"""
import json
import sys
from collections import defaultdict

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, ICMPv6EchoRequest, Raw, fragment,
                       fragment6, wrpcap)
from scapy.layers.inet import IPOption_Router_Alert

out, h1, h2 = sys.argv[1], sys.argv[2], sys.argv[3]
frames = []
flows = defaultdict(lambda: [0, 0])
issues = defaultdict(int)
non_ip = 0


def eth(**kw):
    return Ether(src=h1, dst=h2, **kw)


def add(frame, key=None, ip_len=None):
    """Queue a frame; with a key, count it in that flow with ip_len IP bytes."""
    frames.append(frame)
    if key is not None:
        f = flows[key]
        f[0] += 1
        f[1] += ip_len


def ipv4(src, dst, l4, **kw):
    p = IP(src=src, dst=dst, **kw) / l4
    return IP(bytes(p))  # finalise lengths and checksums


A, B = "10.77.50.1", "10.77.50.2"
A6, B6 = "fd00:50::1", "fd00:50::2"

# TCP that ends with FIN, and TCP that ends with RST
for flags, payload in [("S", b""), ("A", b"x" * 100), ("PA", b"y" * 300), ("FA", b"")]:
    p = ipv4(A, B, TCP(sport=41000, dport=80, flags=flags) / payload)
    add(eth() / p, (A, B, 6, 41000, 80), p.len)
for flags in ["S", "R"]:
    p = ipv4(A, B, TCP(sport=41001, dport=81, flags=flags))
    add(eth() / p, (A, B, 6, 41001, 81), p.len)
# UDP of several sizes, ICMP echo
for size in [10, 200, 1000, 1400, 0]:
    p = ipv4(A, B, UDP(sport=5000, dport=5001) / (b"u" * size))
    add(eth() / p, (A, B, 17, 5000, 5001), p.len)
for seq in range(3):
    p = ipv4(A, B, ICMP(type=8, id=7, seq=seq) / (b"p" * 56))
    add(eth() / p, (A, B, 1, 0, 0), p.len)
# short frames padded to 60 bytes: octets come from the IP length, not the frame
for _ in range(3):
    p = ipv4(A, B, UDP(sport=5002, dport=5003) / b"s")
    add(eth() / p / Raw(b"\0" * (60 - 14 - p.len)), (A, B, 17, 5002, 5003), p.len)
# IPv4 with options
for _ in range(2):
    p = ipv4(A, B, UDP(sport=5004, dport=5005) / (b"o" * 40), options=[IPOption_Router_Alert()])
    add(eth() / p, (A, B, 17, 5004, 5005), p.len)
# IPv6 with hop-by-hop and destination options, UDP; ICMPv6 echo
for size in [20, 500]:
    p = IPv6(bytes(IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP(sport=6000, dport=6001) / (b"v" * size)))
    add(eth() / p, (A6, B6, 17, 6000, 6001), 40 + p.plen)
for seq in range(2):
    p = IPv6(bytes(IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(seq=seq)))
    add(eth() / p, (A6, B6, 58, 0, 0), 40 + p.plen)
# 802.1Q, QinQ and MPLS around IPv4/UDP
for _ in range(3):
    p = ipv4(A, B, UDP(sport=5006, dport=5007) / (b"q" * 64))
    add(eth() / Dot1Q(vlan=100) / p, (A, B, 17, 5006, 5007), p.len)
for _ in range(2):
    p = ipv4(A, B, UDP(sport=5008, dport=5009) / (b"Q" * 64))
    add(eth(type=0x88A8) / Dot1Q(vlan=10, type=0x8100) / Dot1Q(vlan=20) / p, (A, B, 17, 5008, 5009), p.len)
stack = (300 << 12 | 64).to_bytes(4, "big") + (301 << 12 | 0x100 | 64).to_bytes(4, "big")
for _ in range(3):
    p = ipv4(A, B, UDP(sport=5010, dport=5011) / (b"m" * 64))
    add(eth(type=0x8847) / Raw(stack + bytes(p)), (A, B, 17, 5010, 5011), p.len)
# IPv4 fragments: a packet in order, a packet last-fragment-first
for ident, order in [(101, [0, 1, 2]), (102, [2, 1, 0])]:
    whole = IP(src=A, dst=B, id=ident) / UDP(sport=5012, dport=5013) / (b"f" * 3000)
    parts = fragment(whole, fragsize=1200)
    for i in order:
        part = IP(bytes(parts[i]))
        add(eth() / part, (A, B, 17, 5012, 5013), part.len)
# IPv6 fragments, in order and reversed
for ident, order in [(201, [0, 1, 2]), (202, [2, 0, 1])]:
    whole = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=ident) / UDP(sport=6002, dport=6003) / (b"F" * 3000)
    parts = fragment6(whole, 1280)
    for i in order:
        part = IPv6(bytes(parts[i]))
        add(eth() / part, (A6, B6, 17, 6002, 6003), 40 + part.plen)
# non-IP frames
for _ in range(3):
    add(Ether(src=h1, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.77.50.1", pdst="10.77.50.9", hwsrc=h1))
    non_ip += 1
for _ in range(2):  # a local experimental ethertype (LLDP's group address never crosses a bridge)
    add(eth(type=0x88B5) / Raw(b"\x02\x07\x04" + b"\0" * 40))
    non_ip += 1


def hostile(reason, frame):
    frames.append(frame)
    issues[reason] += 1


good = bytes(ipv4(A, B, UDP(sport=1, dport=2) / (b"h" * 20)))
tcp = bytes(ipv4(A, B, TCP(sport=3, dport=4)))
v6 = bytes(IPv6(src=A6, dst=B6) / UDP(sport=7, dport=8) / (b"w" * 20))


def set16(b, at, v):
    return b[:at] + v.to_bytes(2, "big") + b[at + 2:]


hostile("truncated-ipv4", eth(type=0x0800))                                  # zero-length body
hostile("truncated-ipv4", eth(type=0x0800) / Raw(good[:10]))
# A frame shorter than an Ethernet header cannot be sent through AF_PACKET, and a truncated
# 802.1Q tag cannot be sent here either: the kernel's VLAN untagging drops it before any
# bridge port, so it never reaches a TAP. The unit tests cover it.
hostile("bad-ipv4-header", eth(type=0x0800) / Raw(bytes([0x44]) + good[1:]))   # IHL 4
hostile("ipv4-length-beyond-frame", eth(type=0x0800) / Raw(set16(good, 2, 900)))
hostile("ipv4-length-below-header", eth(type=0x0800) / Raw(set16(good, 2, 12)))
hostile("truncated-ipv6", eth(type=0x86DD) / Raw(v6[:30]))
hostile("ipv6-length-beyond-frame", eth(type=0x86DD) / Raw(set16(v6, 4, 1000)))  # a payload length that lies
loop = bytes(IPv6(src=A6, dst=B6, nh=60, plen=16)) + bytes([60, 200]) + b"\0" * 14  # chain runs past the packet
hostile("ipv6-extension-chain", eth(type=0x86DD) / Raw(loop))
hostile("truncated-tcp", eth(type=0x0800) / Raw(set16(bytes(IP(src=A, dst=B, proto=6) / Raw(b"0123456789")), 2, 30)))
hostile("bad-tcp-data-offset", eth(type=0x0800) / Raw(tcp[:32] + bytes([0x40]) + tcp[33:]))  # data offset 4
hostile("truncated-udp", eth(type=0x0800) / Raw(set16(bytes(IP(src=A, dst=B, proto=17) / Raw(b"abcd")), 2, 24)))
hostile("truncated-mpls", eth(type=0x8847) / Raw((400 << 12 | 64).to_bytes(4, "big") * 3))  # no bottom of stack
hostile("too-many-vlan-tags", eth() / Dot1Q(vlan=10) / Dot1Q(vlan=20) / Dot1Q(vlan=30) / Raw(good))
hostile("bad-ipv6-header", eth(type=0x86DD) / Raw(bytes([0x45]) + v6[1:]))       # version 4 under IPv6's ethertype
hostile("ipv6-jumbogram", eth(type=0x86DD) / Raw(set16(v6, 4, 0)[:6] + bytes([0]) + v6[7:]))  # length 0, hop-by-hop
hostile("truncated-icmp", eth(type=0x0800) / Raw(set16(bytes(ipv4(A, B, Raw(b"\x08"), proto=1)), 2, 21)))
hostile("mpls-stack-too-deep", eth(type=0x8847) / Raw(b"".join((500 + i << 12 | (0x100 if i == 8 else 0) | 64).to_bytes(4, "big") for i in range(9)) + good))

wrpcap(f"{out}/corpus.pcap", frames)
json.dump({"flows": [[list(k), v[0], v[1]] for k, v in sorted(flows.items())],
           "issues": dict(issues), "non_ip": non_ip, "frames": len(frames)},
          open(f"{out}/expected.json", "w"), indent=1)
print(f"corpus: {len(frames)} frames, {len(flows)} flows, {sum(issues.values())} hostile, {non_ip} non-IP")
