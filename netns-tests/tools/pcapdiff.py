#!/usr/bin/env python3
"""pcapdiff.py SENT.pcap RECEIVED.pcap [MIN_FRAMES]

Frames must arrive byte-identical: every frame of SENT must be in RECEIVED, byte for byte, and
nothing else. The two files are compared as multisets of frames: a sender on two CPUs can hand
two frames to its capture in one order and to the wire in the other, so positions are only
reported (how many frames sit elsewhere), not judged. Exits 0 when both hold the same frames
and there are at least MIN_FRAMES of them (default 1), 1 otherwise.
"""
import struct
import sys
from collections import Counter


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        sys.exit(f"{path}: not a classic pcap file")
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if incl != orig:
            sys.exit(f"{path}: frame {len(out)} was cut by the snap length ({incl} of {orig})")
        out.append(data[off:off + incl])
        off += incl
    return out


sent, received = frames(sys.argv[1]), frames(sys.argv[2])
minimum = int(sys.argv[3]) if len(sys.argv) > 3 else 1
moved = sum(a != b for a, b in zip(sent, received))
print(f"sent {len(sent)} frames, received {len(received)}, {moved} at another position")
missing = Counter(sent) - Counter(received)
extra = Counter(received) - Counter(sent)
if missing or extra:
    sys.exit(f"{sum(missing.values())} sent frames never arrived unchanged; {sum(extra.values())} received frames were never sent")
if len(sent) < minimum:
    sys.exit(f"only {len(sent)} frames, expected at least {minimum}")
