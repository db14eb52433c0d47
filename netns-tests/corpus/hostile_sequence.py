#!/usr/bin/python3
"""hostile_sequence.py OUTDIR H1_MAC H2_MAC PHASE

Frames built to trip the full-buffer and timing rules of an inline probe, in three phases
that the test sends with pauses between them (so that fragment timeouts and expiry run on
full tables), written to OUTDIR/PHASE.pcap, and OUTDIR/PHASE.json: how many IP packets of
10.66.0.0/16 the phase holds (every one must be in the collector, none lost) and how many
frames in all.

  fill:  orphan IP fragments (later fragments whose first never comes, 300 packet IDs), a
         flood of 3000 new UDP flows, TCP flows torn down by FIN and RST storms, first
         fragments that come after their later ones, hostile frames of every decodable kind.
  churn: sent after the fragment timeout: more orphans and new flows, so expiry evicts from
         full sets while new ones arrive.
  last:  orphans and new flows just before SIGTERM: shutdown with everything full.
Needs scapy (Debian python3-scapy, run with /usr/bin/python3).
"""
import json
import sys

from scapy.all import IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, fragment, wrpcap

out, h1, h2, phase = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
frames = []
packets = 0


def eth(**kw):
    return Ether(src=h1, dst=h2, **kw)


def ip_frame(p):
    global packets
    packets += 1
    frames.append(eth() / IP(bytes(p)))


def orphans(base_id, n, net):
    # Later fragments only (offset 8 bytes, more fragments set): the first never comes.
    for i in range(n):
        ip_frame(IP(src=f"10.66.{net}.{i % 250 + 1}", dst="10.66.200.1", id=base_id + i, flags="MF", frag=1,
                    proto=17) / Raw(b"f" * 24))


def new_flows(n, net):
    for i in range(n):
        ip_frame(IP(src=f"10.66.{net}.{i % 250 + 1}", dst="10.66.201.1") / UDP(sport=1024 + i, dport=53) / Raw(b"q" * 10))


if phase == "fill":
    orphans(0, 300, 1)
    new_flows(3000, 2)
    for i in range(100):
        for flags in ["S", "A", "F", "R", "FA", "RA"]:
            ip_frame(IP(src="10.66.3.1", dst="10.66.202.1") / TCP(sport=20000 + i, dport=80, flags=flags))
    # Later fragments first, then the first fragment: attributed to the transport flow.
    for i in range(50):
        pieces = fragment(IP(src="10.66.4.1", dst="10.66.203.1", id=5000 + i) / UDP(sport=4000 + i, dport=9) / Raw(b"z" * 1200), fragsize=400)
        for p in reversed(pieces):
            ip_frame(p)
    # Hostile frames: forwarded, counted by reason, never metered (not in `packets`).
    good = bytes(IP(src="10.66.5.1", dst="10.66.204.1") / UDP(sport=1, dport=2) / Raw(b"h" * 20))
    for _ in range(20):
        frames.append(eth() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / Raw(good))
        frames.append(eth(type=0x0800) / Raw(good[:2] + (900).to_bytes(2, "big") + good[4:]))
        frames.append(eth(type=0x86DD) / Raw(bytes(IPv6(src="fd00:66::1", dst="fd00:66::2", nh=60, plen=16)) + bytes([60, 200]) + b"\0" * 14))
        frames.append(eth(type=0x8847) / Raw(b"".join((500 + i << 12 | 64).to_bytes(4, "big") for i in range(12)) + good))
elif phase == "churn":
    orphans(10000, 300, 6)
    new_flows(2000, 7)
elif phase == "last":
    orphans(20000, 300, 8)
    new_flows(2000, 9)

wrpcap(f"{out}/{phase}.pcap", frames)
json.dump({"packets": packets, "frames": len(frames)}, open(f"{out}/{phase}.json", "w"))
print(f"hostile_sequence {phase}: {len(frames)} frames, {packets} IP packets of 10.66/16")
