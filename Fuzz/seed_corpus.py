#!/usr/bin/python3
"""seed_corpus.py PCAP OUTDIR: fuzz inputs for FuzzMeter from a capture (the netns corpus,
netns-tests/corpus/make_corpus.py), in the target's layout: a configuration byte, an MTU byte,
then [step, length (2 bytes), frame] chunks.

Writes one input per frame under two configurations, the whole capture as one sequence with
housekeeping and time steps, the same with a virtio_net_hdr (GSO) in front of each frame, and
the sequence that once trapped the forwarder: orphan IP fragments expiring into a full table.
Regenerate with:  python3 netns-tests/corpus/make_corpus.py DIR MAC1 MAC2
                  python3 Fuzz/seed_corpus.py DIR/corpus.pcap Fuzz/corpus
                  python3 Fuzz/seed_corpus.py --apps Fuzz/corpus   (flows flowtap names)
                  python3 Fuzz/seed_corpus.py --named PCAP Fuzz/corpus
                      (a capture of UDP flows flowtap names, e.g. test_app_quic.sh's QUIC
                      connections: each connection's first three datagrams, within fuzz.sh's
                      -max_len, 1 ms apart)
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


def app_sequences():
    """Flows whose first bytes flowtap names: a ClientHello (Python's ssl) in three segments
    after a SYN, in order and with two swapped; an HTTP request cut in two, and its status
    line; a ServerHello; an SSH banner; DNS over UDP (query, NXDOMAIN) and over TCP with its
    length. Each a sequence of frames, small enough for -max_len=4096."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="seed.flowtap.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    eth = b"\x02\x77\0\0\0\x02\x02\x77\0\0\0\x01\x08\x00"

    def ip(proto, payload, reverse=False):
        a, b = bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2])
        src, dst = (b, a) if reverse else (a, b)
        return eth + struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst) + payload

    def tcp(seq, flags, data=b"", sport=40000, dport=443, reverse=False):
        if reverse:
            sport, dport = dport, sport
        return ip(6, struct.pack(">HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0) + data, reverse)

    def udp(data, reverse=False):
        sport, dport = (53, 40053) if reverse else (40053, 53)
        return ip(17, struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data, reverse)

    base = 1000
    cuts = [0, 150, 300, len(hello)]
    pieces = [tcp(base + 1 + cuts[i], 0x18, hello[cuts[i]:cuts[i + 1]]) for i in range(3)]
    syn = tcp(base, 0x02)
    request = b"GET /seed?q=1 HTTP/1.1\r\nHost: web.flowtap.test\r\nUser-Agent: seed/1\r\n\r\n"
    question = b"\x04seed\x07flowtap\x04test\x00\x00\x01\x00\x01"
    query = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + question
    nxdomain = struct.pack(">HHHHHH", 7, 0x8183, 1, 0, 0, 0) + question
    server_hello = b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03" + bytes(32) + b"\x00\x13\x01\x00"
    return [
        [syn, *pieces],
        [syn, pieces[0], pieces[2], pieces[1]],
        [tcp(base, 0x02, dport=8080), tcp(base + 1, 0x18, request[:5], dport=8080),
         tcp(base + 6, 0x18, request[5:], dport=8080),
         tcp(5000, 0x18, b"HTTP/1.1 404 Not Found\r\n\r\n", dport=8080, reverse=True)],
        [tcp(base, 0x02), tcp(7000, 0x18, server_hello, reverse=True)],
        [tcp(base, 0x02, dport=22), tcp(base + 1, 0x18, b"SSH-2.0-OpenSSH_9.2p1\r\n", dport=22)],
        [udp(query), udp(nxdomain, reverse=True)],
        [tcp(base, 0x02, dport=53), tcp(base + 1, 0x18, struct.pack(">H", len(query)) + query, dport=53)],
    ]


def main():
    if sys.argv[1] == "--named":
        pcap, out = sys.argv[2], sys.argv[3]
        connections = {}
        for f in frames(pcap):
            # Ethernet, IPv4 without options, UDP: the connection by its two ports.
            if len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 17:
                ports = tuple(sorted(struct.unpack(">HH", f[34:38])))
                connections.setdefault(ports, []).append(f)
        for first in connections.values():
            seq = b"".join(chunk(f, 1) for f in first[:3])
            for config in [0x00, 0x8F, 0x17]:
                write(out, bytes([config, 0]) + seq)
        print(f"seed_corpus: {len(os.listdir(out))} inputs in {out}")
        return
    if sys.argv[1] == "--apps":
        out = sys.argv[2]
        for frames_of_flow in app_sequences():
            seq = b"".join(chunk(f) for f in frames_of_flow)
            for config in [0x00, 0x8F, 0x17]:
                write(out, bytes([config, 0]) + seq)
        print(f"seed_corpus: {len(os.listdir(out))} inputs in {out}")
        return
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
