#!/usr/bin/env python3
"""capconvert.py IN.pcap OUT.pcap [--big-endian] [--ns] [--link LINK] [--first N]

Rewrites a classic pcap of Ethernet frames (tools/pcapfile.py reads it) in another of the
forms a capture file may take, by hand, so that the reader's tests need no tool that might
share its assumptions: the other byte order (magic a1b2c3d4 written big-endian), nanosecond
timestamps (magic a1b23c4d), and other link types (tcpdump.org/linktypes.html):
  sll      Linux cooked v1 (113): a 16-byte header, the EtherType at bytes 14-15
  sll2     Linux cooked v2 (276): 20 bytes, the EtherType first
  raw      raw IP (101): the IP packet alone; raw12 and raw14: the same under 12 and 14
  null     BSD loopback (0): a 4-byte address family in little-endian (Darwin: AF_INET 2,
           AF_INET6 30); null-be: big-endian (FreeBSD's AF_INET6, 28)
  loop     OpenBSD loopback (108): the family in network order (AF_INET6 24)
  ppp      PPP (9) with the HDLC-like FF 03 and a two-byte protocol (0x0021, 0x0057);
           ppp-bare: no FF 03, the IPv4 protocol compressed to one byte (0x21)
  ppp-hdlc PPP in HDLC-like framing (50)
  chdlc    Cisco HDLC (104): address 0x0F, control 0, the EtherType; chdlc-as-ppp: the same
           frames under PPP's type 9, as libpcap writes them
Frames that are not IPv4 or IPv6 are left out of the files whose link cannot hold them (all
but Ethernet and cooked). Timestamps are kept to the microsecond (or nanosecond) the input
had; a frame cut short by its snap length keeps its original length. With --first, only the
first N records.
"""
import struct
import sys

from pcapfile import MAGICS


def records(path):
    data = open(path, "rb").read()
    endian, scale = MAGICS[data[:4]]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        yield sec, round(frac * scale * 1e9), data[off + 16:off + 16 + incl], orig
        off += 16 + incl


def relink(frame, link):
    etype, off = struct.unpack(">H", frame[12:14])[0], 14
    if link == "ethernet":
        return frame
    payload = frame[14:]
    if link == "sll":
        # packet type 0 (to us), ARPHRD_ETHER 1, address length 6, the source MAC padded to 8.
        return struct.pack(">HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + struct.pack(">H", etype) + payload
    if link == "sll2":
        return struct.pack(">HHIHBB", etype, 0, 2, 1, 0, 6) + frame[6:12] + b"\0\0" + payload
    if etype not in (0x0800, 0x86DD):
        return None
    v6 = etype == 0x86DD
    if link in ("raw", "raw12", "raw14"):
        return payload
    if link == "null":
        return struct.pack("<I", 30 if v6 else 2) + payload
    if link == "null-be":
        return struct.pack(">I", 28 if v6 else 2) + payload
    if link == "loop":
        return struct.pack(">I", 24 if v6 else 2) + payload
    if link in ("ppp", "ppp-hdlc"):
        return b"\xff\x03" + struct.pack(">H", 0x0057 if v6 else 0x0021) + payload
    if link == "ppp-bare":
        return (struct.pack(">H", 0x0057) if v6 else b"\x21") + payload
    if link in ("chdlc", "chdlc-as-ppp"):
        return b"\x0f\x00" + struct.pack(">H", etype) + payload
    raise SystemExit(f"capconvert.py: no link {link}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    src, dst = argv[0], argv[1]
    big, ns = "--big-endian" in argv, "--ns" in argv
    link = argv[argv.index("--link") + 1] if "--link" in argv else "ethernet"
    linktype = {"ethernet": 1, "sll": 113, "sll2": 276, "raw": 101, "raw12": 12, "raw14": 14, "null": 0, "null-be": 0,
                "loop": 108, "ppp": 9, "ppp-bare": 9, "ppp-hdlc": 50, "chdlc": 104, "chdlc-as-ppp": 9}[link]
    first = int(argv[argv.index("--first") + 1]) if "--first" in argv else None
    e = ">" if big else "<"
    with open(dst, "wb") as out:
        out.write(struct.pack(e + "IHHiIII", 0xA1B23C4D if ns else 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for n, (sec, nanos, frame, orig) in enumerate(records(src)):
            if first is not None and n >= first:
                break
            f = relink(frame, link)
            if f is None:
                continue
            frac = nanos if ns else nanos // 1000
            out.write(struct.pack(e + "IIII", sec, frac, len(f), orig - len(frame) + len(f)) + f)


if __name__ == "__main__":
    main(sys.argv[1:])
