#!/usr/bin/env python3
"""inject.py COMMAND ARGS...: frames the tests put on a host's wire with scapy (run it in the
host's namespace as /usr/bin/python3, whose scapy is Debian's python3-scapy).

  replay PCAP INTERVAL IFACE           every frame of PCAP, INTERVAL seconds apart
  merge OUT PCAP...                    the frames of each PCAP in turn, into OUT
  udp SRC_MAC DST_MAC SRC DST SPORT DPORT LENGTH COUNT IFACE
                                       COUNT copies of one UDP datagram with LENGTH payload bytes
  l2-corpus H1_MAC H2_MAC IFACE        the L2 cases: an 802.1Q frame (VLAN 100) ×3, QinQ (10 over
                                       20) ×2, broadcast ARP ×4, MPLS (1000 over 2000) ×5
  pppoe H1_MAC H2_MAC IFACE            PPPoE sessions (RFC 2516) as an access link carries them: UDP,
                                       TCP and ICMP over IPv4 (session 0x1111), ICMP under QinQ (300
                                       over 42, session 0x2222, the PPP protocol compressed to a
                                       byte), IPv6 UDP (session 0x3333), and the non-IP frames
                                       around them: LCP echo, discovery (PADI)
"""
from cli import main


def scapy():
    from scapy import all as s
    s.conf.verb = 0
    return s


def udp_frames(src_mac, dst_mac, src, dst, sport, dport, length, count):
    s = scapy()
    return [s.Ether(src=src_mac, dst=dst_mac) / s.IP(src=src, dst=dst) / s.UDP(sport=int(sport), dport=int(dport))
            / (b"x" * int(length))] * int(count)


def l2_frames(h1, h2):
    s = scapy()
    frames = [s.Ether(src=h1, dst=h2) / s.Dot1Q(vlan=100) / s.IP(src="10.77.100.1", dst="10.77.100.2")
              / s.UDP(sport=1111, dport=2222) / (b"x" * 100)] * 3
    frames += [s.Ether(src=h1, dst=h2, type=0x88A8) / s.Dot1Q(vlan=10, type=0x8100) / s.Dot1Q(vlan=20)
               / s.IP(src="10.77.101.1", dst="10.77.101.2") / s.UDP(sport=3333, dport=4444) / (b"y" * 50)] * 2
    frames += [s.Ether(src=h1, dst="ff:ff:ff:ff:ff:ff") / s.ARP(psrc="10.77.0.1", pdst="10.77.0.99", hwsrc=h1)] * 4
    # MPLS: two labels (1000 over 2000), then IPv4/UDP. Label stack entries built by hand.
    stack = (1000 << 12 | 64).to_bytes(4, "big") + (2000 << 12 | 0x100 | 64).to_bytes(4, "big")
    inner = bytes(s.IP(src="10.77.102.1", dst="10.77.102.2") / s.UDP(sport=5555, dport=6666) / (b"z" * 30))
    frames += [s.Ether(src=h1, dst=h2, type=0x8847) / (stack + inner)] * 5
    return frames


def replay(pcap, interval, iface):
    s = scapy()
    s.sendp(s.rdpcap(pcap), iface=iface, inter=float(interval))


def merge(out, *pcaps):
    s = scapy()
    s.wrpcap(out, [f for p in pcaps for f in s.rdpcap(p)])


def udp(src_mac, dst_mac, src, dst, sport, dport, length, count, iface):
    scapy().sendp(udp_frames(src_mac, dst_mac, src, dst, sport, dport, length, count), iface=iface)


def l2_corpus(h1, h2, iface):
    s = scapy()
    frames = l2_frames(h1, h2)
    # Sent in the groups above, as the test reads them.
    for start, n in ((0, 3), (3, 2), (5, 4), (9, 5)):
        s.sendp(frames[start:start + n], iface=iface)


def pppoe_frames(h1, h2):
    s = scapy()
    from scapy.layers.ppp import PPPoE, PPPoED

    def session(sid, inner, tags=(), compressed=False):
        # The PPP protocol written by hand: two bytes, or one (protocol field compression).
        protocol = 0x0057 if inner.haslayer(s.IPv6) else 0x0021
        e = s.Ether(src=h1, dst=h2)
        for tpid, vlan in tags:
            e = e / s.Dot1Q(vlan=vlan)
            if tpid == 0x88A8:
                e.type = 0x88A8
        return e / PPPoE(sessionid=sid) / (bytes([protocol]) if compressed else protocol.to_bytes(2, "big")) / inner

    frames = [session(0x1111, s.IP(src="10.77.110.1", dst="10.77.110.2") / s.UDP(sport=7000, dport=7001) / (b"u" * 200))] * 10
    frames += [session(0x1111, s.IP(src="10.77.110.1", dst="10.77.110.2") / s.TCP(sport=7002, dport=80, flags=f, seq=1000 + i)
                       / (b"t" * (300 if f == "PA" else 0))) for i, f in enumerate(["S", "A", "PA", "PA", "FA", "A"])]
    frames += [session(0x2222, s.IP(src="10.77.111.1", dst="10.77.111.2") / s.ICMP(id=9, seq=i) / (b"p" * 56),
                       tags=((0x88A8, 300), (0x8100, 42)), compressed=True) for i in range(5)]
    frames += [session(0x3333, s.IPv6(src="fd00:112::1", dst="fd00:112::2") / s.UDP(sport=7100, dport=7101) / (b"v" * 120))] * 7
    lcp = s.Ether(src=h1, dst=h2) / PPPoE(sessionid=0x1111) / bytes.fromhex("c021" + "0901000800000000")
    padi = s.Ether(src=h1, dst="ff:ff:ff:ff:ff:ff") / PPPoED(code=0x09, sessionid=0)
    return frames + [lcp] * 3 + [padi] * 2


def pppoe(h1, h2, iface):
    scapy().sendp(pppoe_frames(h1, h2), iface=iface, inter=0.002)


COMMANDS = {"replay": replay, "merge": merge, "udp": udp, "l2-corpus": l2_corpus, "pppoe": pppoe}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
