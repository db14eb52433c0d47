#!/usr/bin/env python3
"""played_handshakes.py - TCP connections whose two ends are played with exact timing.

    played_handshakes.py --client-ns NS --server-ns NS --count N [--seed S] [--out plan.json]
                         [--bulk SEGMENTS --loss P --reorder P] [--marked K]

This kernel has no netem, so the delays on each side of the probe are made here: one process
holds a packet socket on h1's eth0 (the client) and one on h2's (the server), each opened in its
namespace. Per connection it sends the SYN from h1, waits until h2 has it (so it crossed the
probe), sleeps the server's delay and sends the SYN/ACK from h2, waits for it at h1, sleeps the
client's delay and sends the ACK and the request, then the server's delay-to-answer and the
response, then FIN, FIN/ACK and the last ACK. Each connection has its own delays (several
milliseconds each, from the seed). The addresses are 10.77.0.101 and 10.77.0.102, which neither
host has, so neither kernel answers the segments (no RST); they travel by the hosts' MACs.

With --marked K, the client of every K-th connection (the first, then K later, …) marks its
packets DSCP AF11 (ToS 0x28) and the server does not: one connection, two ToS.

With --bulk, the client then sends SEGMENTS data segments of 1000 bytes, one at a time (each
waits until it has crossed the probe, so the TAPs' queues never overflow and the probe sees the
order sent), in which each segment is, with probability --loss, lost after the probe: sent, and
sent again three segments and 30 ms later (beyond the connection's round trip, as a sender's
retransmission comes); or with probability --reorder, swapped with the next one. A
connection with --loss 0 --reorder 0 is clean.

Writes what it meant to do (ports, delays, segments lost and swapped) as JSON; the ground truth
is the probe's capture.
"""
import argparse
import ctypes
import json
import os
import random
import select
import socket
import struct
import time

CLIENT_IP, SERVER_IP = "10.77.0.101", "10.77.0.102"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003


def packet_socket(ns):
    """An AF_PACKET socket on eth0 of network namespace `ns` (ip netns name)."""
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind(("eth0", 0))
        mac = s.getsockname()[4]   # the interface's own address (sysfs shows the root namespace's)
        if libc.setns(here, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
        os.close(there)
    return s, mac


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, payload=b"", tos=0):
    """Ethernet + IPv4 + TCP (20-byte header), checksums right."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
    tcp = tcp[:16] + struct.pack("!H", checksum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(tcp), 0, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_of(data):
    """(sport, dport, flags, seq) of an IPv4 TCP frame, or None."""
    if len(data) < 54 or data[12:14] != b"\x08\x00" or data[23] != 6:
        return None
    ihl = (data[14] & 0x0F) * 4
    sport, dport, seq = struct.unpack("!HHI", data[14 + ihl:22 + ihl])
    return sport, dport, data[14 + ihl + 13], seq


def wait_for(sock, sport, dport, flags, seq=None, timeout=2.0):
    """Until `sock` receives the segment sport -> dport with exactly `flags` (and `seq`)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        data, addr = sock.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        t = tcp_of(data)
        if t and t[:3] == (sport, dport, flags) and seq in (None, t[3]):
            return
    raise SystemExit(f"played_handshakes: segment {sport}->{dport} flags {flags:#x} did not cross the probe")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-ns", required=True)
    ap.add_argument("--server-ns", required=True)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--first-port", type=int, default=42000)
    ap.add_argument("--bulk", type=int, default=0)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--marked", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    cs, cmac = packet_socket(a.client_ns)
    ss, smac = packet_socket(a.server_ns)
    rnd = random.Random(a.seed)
    plan = []
    for i in range(a.count):
        cport, sport = a.first_port + i, 80
        server_ms, client_ms, app_ms = rnd.uniform(2, 9), rnd.uniform(2, 9), rnd.uniform(1, 6)
        c_isn, s_isn = rnd.randrange(1 << 32), rnd.randrange(1 << 32)
        request, response = b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 400
        tos = 0x28 if a.marked and i % a.marked == 0 else 0

        def c2s(seq, ack, flags, payload=b""):
            cs.send(frame(cmac, smac, CLIENT_IP, SERVER_IP, cport, sport, seq, ack, flags, payload, tos))

        def s2c(seq, ack, flags, payload=b""):
            ss.send(frame(smac, cmac, SERVER_IP, CLIENT_IP, sport, cport, seq, ack, flags, payload))

        c2s(c_isn, 0, SYN)
        wait_for(ss, cport, sport, SYN)
        time.sleep(server_ms / 1000)
        s2c(s_isn, c_isn + 1, SYN | ACK)
        wait_for(cs, sport, cport, SYN | ACK)
        time.sleep(client_ms / 1000)
        c2s(c_isn + 1, s_isn + 1, ACK)
        c2s(c_isn + 1, s_isn + 1, PSH | ACK, request)
        wait_for(ss, cport, sport, PSH | ACK)
        time.sleep(app_ms / 1000)
        s2c(s_isn + 1, c_isn + 1 + len(request), PSH | ACK, response)
        wait_for(cs, sport, cport, PSH | ACK)
        seq, ack = c_isn + 1 + len(request), s_isn + 1 + len(response)
        # The segments in the order they cross the probe: a lost one again three places later.
        lost, swapped, base = [], [], []
        i = 0
        while i < a.bulk:
            if i + 1 < a.bulk and rnd.random() < a.reorder:
                base += [i + 1, i]
                swapped.append(i)
                i += 2
            else:
                base.append(i)
                i += 1
        wire, due = [], {}
        for j, n in enumerate(base):
            wire.append(n)
            if n not in swapped and n - 1 not in swapped and rnd.random() < a.loss:
                lost.append(n)
                due.setdefault(j + 3, []).append(("again", n))
            wire += due.pop(j, [])
        wire += [k for j in sorted(due) for k in due[j]]
        for k in wire:
            again = isinstance(k, tuple)
            n = k[1] if again else k
            if again:
                time.sleep(0.03)   # as a real sender does, after more than the connection's RTT
            c2s(seq + n * 1000, ack, ACK, (b"r" if again else b"d") * 1000)
            wait_for(ss, cport, sport, ACK, (seq + n * 1000) & 0xFFFFFFFF)
        end = seq + a.bulk * 1000   # the client's next sequence number
        c2s(end, ack, FIN | ACK)
        wait_for(ss, cport, sport, FIN | ACK)
        s2c(ack, end + 1, FIN | ACK)
        wait_for(cs, sport, cport, FIN | ACK)
        c2s(end + 1, ack + 1, ACK)
        plan.append({"client": [CLIENT_IP, cport], "server": [SERVER_IP, sport],
                     "server_ms": server_ms, "client_ms": client_ms, "app_ms": app_ms,
                     "segments": a.bulk, "lost": lost, "swapped": swapped, "client_tos": tos})
    if a.out:
        json.dump(plan, open(a.out, "w"), indent=1)
    print(f"played_handshakes: {len(plan)} connections")


if __name__ == "__main__":
    main()
