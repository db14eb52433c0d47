#!/usr/bin/python3
"""seed_corpus.py PCAP OUTDIR: fuzz inputs for FuzzMeter from a capture (the netns corpus,
netns-tests/corpus/make_corpus.py), in the target's layout: a configuration byte, an MTU byte,
then [step, length (2 bytes), frame] chunks.

Writes one input per frame under two configurations, the whole capture as one sequence with
housekeeping and time steps, the same with a virtio_net_hdr (GSO) in front of each frame, and
the sequence that once trapped the forwarder: orphan IP fragments expiring into a full table.
Regenerate with:  python3 netns-tests/corpus/make_corpus.py DIR MAC1 MAC2
                  python3 Fuzz/seed_corpus.py DIR/corpus.pcap Fuzz/corpus
"""
import hashlib
import os
import struct
import sys


def frames(path):
    data = open(path, "rb").read()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    at = 24
    while at + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[at:at + 16])
        yield data[at + 16:at + 16 + caplen]
        at += 16 + caplen


def chunk(frame, step=0):
    return bytes([step]) + struct.pack(">H", len(frame)) + frame


def write(out, data):
    name = hashlib.sha1(data).hexdigest()
    open(os.path.join(out, name), "wb").write(data)


def vnet(frame, gso_type=1, gso_size=100):
    # flags NEEDS_CSUM, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers
    return struct.pack("<BBHHHHH", 1, gso_type, 54, gso_size, 34, 16, 0) + frame


def ipv4_fragment(ident, src_last):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 36, ident, 0x0001, 64, 17, 0,
                     bytes([10, 66, 0, 1]), bytes([10, 66, 1, src_last]))
    return b"\x02\x77\0\0\0\x02\x02\x77\0\0\0\x01\x08\x00" + ip + b"f" * 16


def encapsulated_frames():
    """PPPoE sessions (two-byte and compressed PPP protocols, under QinQ, LCP, a cut header),
    an IPv4 total length of 0 (TSO) and an IPv6 jumbogram: the decoder's less common paths."""
    eth = lambda t: b"\x02\x77\0\0\0\x02\x02\x77\0\0\0\x01" + struct.pack(">H", t)
    ip4 = lambda total, proto=17: struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, proto, 0,
                                              bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))
    udp = struct.pack(">HHHH", 1000, 2000, 28, 0) + b"x" * 20
    pppoe = lambda proto, n: bytes([0x11, 0, 0x12, 0x34]) + struct.pack(">H", n) + proto
    return [eth(0x8864) + pppoe(b"\x00\x21", 50) + ip4(48) + udp,
            eth(0x8864) + pppoe(b"\x21", 49) + ip4(48) + udp,
            eth(0x88A8) + b"\x01\x2c\x81\x00" + b"\x00\x2a\x88\x64" + pppoe(b"\x00\x21", 50) + ip4(48) + udp,
            eth(0x8864) + pppoe(b"\xc0\x21", 10) + bytes(8),
            eth(0x8864) + bytes([0x11, 0, 0x12]),
            eth(0x0800) + ip4(0, 6) + struct.pack(">HHIIHHHH", 1, 2, 1, 0, 0x5010, 100, 0, 0) + b"d" * 3000,
            eth(0x86DD) + struct.pack(">IHBB", 6 << 28, 0, 0, 64) + bytes(32) + bytes([6, 0, 0xC2, 4, 0, 0, 0x0B, 0xD0])
            + bytes(3000)]


def main():
    pcap, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    all_frames = list(frames(pcap))
    for f in all_frames:
        write(out, bytes([0x00, 0]) + chunk(f))
        write(out, bytes([0x8F, 3]) + chunk(f))           # l2,l3,l4, 64 flows, biflow
    steps = [0x10, 1, 8 | 2, 3, 0x10 | 8 | 4, 0, 8 | 5, 0x10 | 8 | 6]
    seq = b"".join(chunk(f, steps[i % len(steps)]) for i, f in enumerate(all_frames))
    for config in [0x00, 0x07, 0x2A, 0x61, 0x8F]:
        write(out, bytes([config, 0]) + seq)
    gso = b"".join(chunk(vnet(f), steps[i % len(steps)]) for i, f in enumerate(all_frames))
    write(out, bytes([0x10, 0]) + gso)
    write(out, bytes([0x9F, 1]) + gso)
    # Orphan fragments, then eight flows fill an 8-slot table, then the fragments expire.
    orphans = b"".join(chunk(ipv4_fragment(i, i), 0) for i in range(40))
    fill = b"".join(chunk(f, 0) for f in all_frames[:12])
    write(out, bytes([0x00, 0]) + orphans + fill + chunk(all_frames[0], 8 | 4))
    write(out, bytes([0x00, 0]) + orphans + fill)      # expired only at shutdown
    for f in encapsulated_frames():
        write(out, bytes([0x00, 0]) + chunk(f))
        write(out, bytes([0x8F, 3]) + chunk(f))
    write(out, bytes([0x07, 0]) + b"".join(chunk(f, 0x10 if i % 2 else 0) for i, f in enumerate(encapsulated_frames())))
    print(f"seed_corpus: {len(os.listdir(out))} inputs in {out}")


main()
