#!/usr/bin/env python3
"""played_handshakes.py - TCP connections whose two ends are played with exact timing.

    played_handshakes.py --client-ns NS --server-ns NS --count N [--seed S] [--out plan.json]

This kernel has no netem, so the delays on each side of the probe are made here: one process
holds a packet socket on h1's eth0 (the client) and one on h2's (the server), each opened in its
namespace. Per connection it sends the SYN from h1, waits until h2 has it (so it crossed the
probe), sleeps the server's delay and sends the SYN/ACK from h2, waits for it at h1, sleeps the
client's delay and sends the ACK and the request, then the server's delay-to-answer and the
response, then FIN, FIN/ACK and the last ACK. Each connection has its own delays (several
milliseconds each, from the seed). The addresses are 10.77.0.101 and 10.77.0.102, which neither
host has, so neither kernel answers the segments (no RST); they travel by the hosts' MACs.

Writes what it meant to do (ports and delays) as JSON; the ground truth is the probe's capture.
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


def frame(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, payload=b""):
    """Ethernet + IPv4 + TCP (20-byte header), checksums right."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + payload
    tcp = tcp[:16] + struct.pack("!H", checksum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_of(data):
    """(sport, dport, flags) of an IPv4 TCP frame, or None."""
    if len(data) < 54 or data[12:14] != b"\x08\x00" or data[23] != 6:
        return None
    ihl = (data[14] & 0x0F) * 4
    sport, dport = struct.unpack("!HH", data[14 + ihl:18 + ihl])
    return sport, dport, data[14 + ihl + 13]


def wait_for(sock, sport, dport, flags, timeout=2.0):
    """Until `sock` receives the segment sport -> dport with exactly `flags`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        data, addr = sock.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        t = tcp_of(data)
        if t == (sport, dport, flags):
            return
    raise SystemExit(f"played_handshakes: segment {sport}->{dport} flags {flags:#x} did not cross the probe")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-ns", required=True)
    ap.add_argument("--server-ns", required=True)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--first-port", type=int, default=42000)
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

        def c2s(seq, ack, flags, payload=b""):
            cs.send(frame(cmac, smac, CLIENT_IP, SERVER_IP, cport, sport, seq, ack, flags, payload))

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
        c2s(c_isn + 1 + len(request), s_isn + 1 + len(response), FIN | ACK)
        wait_for(ss, cport, sport, FIN | ACK)
        s2c(s_isn + 1 + len(response), c_isn + 2 + len(request), FIN | ACK)
        wait_for(cs, sport, cport, FIN | ACK)
        c2s(c_isn + 2 + len(request), s_isn + 2 + len(response), ACK)
        plan.append({"client": [CLIENT_IP, cport], "server": [SERVER_IP, sport],
                     "server_ms": server_ms, "client_ms": client_ms, "app_ms": app_ms})
    if a.out:
        json.dump(plan, open(a.out, "w"), indent=1)
    print(f"played_handshakes: {len(plan)} connections")


if __name__ == "__main__":
    main()
