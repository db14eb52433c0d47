#!/usr/bin/env python3
"""capconvert.py IN.pcap OUT.pcap [--big-endian] [--ns] [--link ethernet|sll|sll2|raw] [--first N]

Rewrites a classic pcap of Ethernet frames (tools/pcapfile.py reads it) in another of the
forms a capture file may take, by hand, so that the reader's tests need no tool that might
share its assumptions: the other byte order (magic a1b2c3d4 written big-endian), nanosecond
timestamps (magic a1b23c4d), and the link types Linux cooked v1 (113: a 16-byte header, the
EtherType at bytes 14-15), cooked v2 (276: 20 bytes, the EtherType first) and raw IP (101: the
IP packet alone). Frames that are not IPv4 or IPv6 are left out of a raw-IP file, which cannot
hold them. Timestamps are kept to the microsecond (or nanosecond) the input had. With --first,
only the first N records.
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
    if etype in (0x0800, 0x86DD):
        return payload
    return None


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    src, dst = argv[0], argv[1]
    big, ns = "--big-endian" in argv, "--ns" in argv
    link = argv[argv.index("--link") + 1] if "--link" in argv else "ethernet"
    linktype = {"ethernet": 1, "sll": 113, "sll2": 276, "raw": 101}[link]
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
