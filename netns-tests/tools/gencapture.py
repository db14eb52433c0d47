#!/usr/bin/env python3
"""gencapture.py OUT.pcap PACKETS [--flows N] [--seconds S] [--seed X] [--apps]

A large capture for the side-by-side read benchmark (netns-tests/bench-read.sh): about PACKETS
Ethernet frames over S seconds (default 120) in about N flows (default PACKETS / 20), written
as a classic little-endian microsecond pcap. The mix, per flow drawn at random:
  - 60 % TCP connections: SYN, SYN/ACK, ACK, data segments both ways (mostly 1448 bytes from
    the server), FIN, FIN/ACK, ACK; 30 % of them over IPv6;
  - 30 % UDP exchanges (DNS-like or streams of 200-1200 bytes), 20 % over IPv6;
  - 10 % ICMP echo (IPv4) and ICMPv6 echo;
  - 15 % of all flows carry an 802.1Q tag (VLAN 10-99).
With --apps, a capture rich in what flowtap names: each TCP connection's client first writes a
real ClientHello (Python's ssl, one of 64 server names) or an HTTP/1.1 request, and the
server's first segment is a TLS ServerHello record or an HTTP status line; UDP to port 53 is
DNS queries and their responses.
Each flow starts at a random time and its packets are a few milliseconds apart, so that
thousands are open at once and none is idle for more than a second; the frames of all flows
are merged in time order. Checksums are left 0 (no probe checks them). The ground truth is not
this script's: it is tools/pcapflows.py over the file written.
"""
import heapq
import random
import struct
import sys


def ipv4(src, dst, proto, payload_len, tos=0):
    return struct.pack(">BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, 0, 0x4000, 64, proto, 0, src, dst)


def ipv6(src, dst, proto, payload_len):
    return struct.pack(">IHBB16s16s", 6 << 28, payload_len, proto, 64, src, dst)


def ethernet(vlan, ethertype):
    head = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
    if vlan:
        return head + struct.pack(">HHH", 0x8100, vlan, ethertype)
    return head + struct.pack(">H", ethertype)


def frame(flow, forward, l4, proto):
    v6, vlan, a, b = flow
    src, dst = (a, b) if forward else (b, a)
    ip = ipv6(src, dst, proto, len(l4)) if v6 else ipv4(src, dst, proto, len(l4))
    return ethernet(vlan, 0x86DD if v6 else 0x0800) + ip + l4


def tcp(sport, dport, seq, ack, flags, payload):
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + bytes(payload)


HELLOS = []


def hellos():
    """64 ClientHellos as OpenSSL writes them, for server names www0.bench.test ..."""
    if not HELLOS:
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        for i in range(64):
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ctx.wrap_bio(incoming, outgoing, server_hostname=f"www{i}.bench.test")
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            HELLOS.append(outgoing.read())
    return HELLOS


def dns(ident, name, response):
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    flags = 0x8183 if response and ident % 10 == 0 else (0x8180 if response else 0x0100)
    answer = struct.pack(">HHHIH4s", 0xC00C, 1, 1, 300, 4, bytes([10, 9, ident >> 8 & 0xFF, ident & 0xFF])) if response and flags == 0x8180 else b""
    return struct.pack(">HHHHHH", ident, flags, 1, 1 if answer else 0, 0, 0) + question + answer


def flow_frames(n, start, seed, apps=False):
    """The frames of flow n, from `start`: (time, bytes) in time order."""
    rng = random.Random(seed * 1_000_003 + n)
    v6 = rng.random() < 0.3
    vlan = rng.randrange(10, 100) if rng.random() < 0.15 else 0
    if v6:
        a = b"\xfd\x00" + bytes(13) + bytes([1 + n % 250])
        b = b"\xfd\x00\x00\x01" + bytes(8) + struct.pack(">I", n)
    else:
        a = bytes([10, 1, n >> 16 & 0xFF, 1 + n % 250])
        b = bytes([10, 2 + (n >> 24), n >> 8 & 0xFF, n & 0xFF])
    flow = (v6, vlan, a, b)
    kind = rng.random()
    sport, dport = 1024 + rng.randrange(60000), rng.choice((80, 443, 53, 8080, 5201))
    out = []
    t = start
    if kind < 0.6:
        c, s = rng.randrange(1 << 32), rng.randrange(1 << 32)
        out.append((t, frame(flow, True, tcp(sport, dport, c, 0, 0x02, b""), 6)))
        t += 0.001 + rng.random() * 0.01
        out.append((t, frame(flow, False, tcp(dport, sport, s, c + 1, 0x12, b""), 6)))
        t += 0.0005
        out.append((t, frame(flow, True, tcp(sport, dport, c + 1, s + 1, 0x10, b""), 6)))
        c += 1
        s += 1
        if apps:
            # The client's first message, then the server's first bytes (its data follows).
            if dport in (80, 8080):
                request = (f"GET /item/{n} HTTP/1.1\r\nHost: web{n % 64}.bench.test\r\nUser-Agent: gencapture/1\r\n"
                           "Accept: */*\r\n\r\n").encode()
                answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40000\r\n\r\n"
            else:
                request = hellos()[n % 64]
                answer = b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + bytes(32 + 1 + 32) + b"\x13\x01\x00" + bytes(50)
            t += 0.0003
            out.append((t, frame(flow, True, tcp(sport, dport, c, s, 0x18, request), 6)))
            c += len(request)
            t += 0.002
            out.append((t, frame(flow, False, tcp(dport, sport, s, c, 0x18, answer), 6)))
            s += len(answer)
        for _ in range(rng.choice((2, 6, 14, 30))):
            t += rng.random() * 0.004
            size = 1448 if rng.random() < 0.7 else rng.randrange(1, 1448)
            out.append((t, frame(flow, False, tcp(dport, sport, s, c, 0x18, b"x" * size), 6)))
            s += size
            if rng.random() < 0.5:
                t += 0.0002
                out.append((t, frame(flow, True, tcp(sport, dport, c, s, 0x10, b""), 6)))
        t += 0.001
        out.append((t, frame(flow, True, tcp(sport, dport, c, s, 0x11, b""), 6)))
        t += 0.001
        out.append((t, frame(flow, False, tcp(dport, sport, s, c + 1, 0x11, b""), 6)))
        t += 0.001
        out.append((t, frame(flow, True, tcp(sport, dport, c + 1, s + 1, 0x10, b""), 6)))
    elif kind < 0.9 and apps and dport == 53:
        for i in range(rng.choice((1, 2))):
            ident = (n + i) & 0xFFFF
            name = f"host{n % 500}.zone{n % 7}.bench.test"
            q = dns(ident, name, False)
            out.append((t, frame(flow, True, struct.pack(">HHHH", sport, dport, 8 + len(q), 0) + q, 17)))
            t += 0.0008
            r = dns(ident, name, True)
            out.append((t, frame(flow, False, struct.pack(">HHHH", dport, sport, 8 + len(r), 0) + r, 17)))
            t += rng.random() * 0.01
    elif kind < 0.9:
        for _ in range(rng.choice((1, 2, 8, 24))):
            size = rng.randrange(200, 1200)
            l4 = struct.pack(">HHHH", sport, dport, 8 + size, 0) + b"u" * size
            out.append((t, frame(flow, True, l4, 17)))
            if rng.random() < 0.5:
                t += 0.001
                back = struct.pack(">HHHH", dport, sport, 8 + 100, 0) + b"r" * 100
                out.append((t, frame(flow, False, back, 17)))
            t += rng.random() * 0.01
    else:
        proto, request, reply = (58, 128, 129) if flow[0] else (1, 8, 0)
        ident = n & 0xFFFF
        for i in range(rng.choice((1, 3, 5))):
            out.append((t, frame(flow, True, struct.pack(">BBHHH", request, 0, 0, ident, i) + b"p" * 56, proto)))
            t += 0.0003
            out.append((t, frame(flow, False, struct.pack(">BBHHH", reply, 0, 0, ident, i) + b"p" * 56, proto)))
            t += 0.01
    return out


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    path, packets = argv[0], int(argv[1])
    opt = lambda name, default: type(default)(argv[argv.index(name) + 1]) if name in argv else default
    seed = opt("--seed", 1)
    apps = "--apps" in argv
    rng = random.Random(seed)
    seconds = opt("--seconds", 120.0)
    count = opt("--flows", packets // 20)
    base = 1_700_000_000
    # Flows begin in order of their start; a heap merges the frames of those begun, so that only
    # the flows open at a time are in memory.
    starts = sorted((rng.random() * seconds, n) for n in range(count))
    heap, streams, nxt, written = [], {}, 0, 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while heap or nxt < len(starts):
            while nxt < len(starts) and (not heap or starts[nxt][0] <= heap[0][0]):
                start, n = starts[nxt]
                nxt += 1
                stream = iter(flow_frames(n, start, seed, apps))
                t, f = next(stream)
                streams[n] = stream
                heapq.heappush(heap, (t, n, f))
            t, n, f = heapq.heappop(heap)
            whole = int(t)
            out.write(struct.pack("<IIII", base + whole, int((t - whole) * 1e6), len(f), len(f)))
            out.write(f)
            written += 1
            following = next(streams[n], None)
            if following:
                heapq.heappush(heap, (following[0], n, following[1]))
            else:
                del streams[n]
    print(f"gencapture: {written} packets in {count} flows over {seconds:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
