#!/usr/bin/env python3
"""quicflood.py - QUIC v1 client Initials with random Destination Connection IDs and random
payloads (their tags never verify), each from a new source port: every datagram a new flow
whose Initial a probe would have to open.

  quicflood.py send HOST PORT SECONDS     as fast as this process can, for SECONDS; prints the
                                          datagrams sent
  quicflood.py pcap OUT COUNT GAP_US      a pcap (Ethernet, IPv4, 10.0.x.1 -> 10.0.0.2) of COUNT
                                          such datagrams, GAP_US microseconds apart (checksums
                                          left 0, as gencapture.py leaves them)
"""
import os
import socket
import struct
import sys
import time

SIZE = 1200


def initial():
    """A long header (version 1, Initial), an 8-byte DCID, no SCID, no token, a 2-byte length
    covering the rest, then random bytes: 1200 bytes in all, as a client pads them."""
    dcid = os.urandom(8)
    head = bytes([0xC3]) + struct.pack("!I", 1) + bytes([8]) + dcid + bytes([0, 0])
    rest = SIZE - len(head) - 2
    return head + struct.pack("!H", 0x4000 | rest) + os.urandom(rest)


def send(host, port, seconds):
    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(initial(), (host, port))
            sent += 1
        except OSError:
            pass
        finally:
            s.close()
    print(sent)


def pcap(out, count, gap_us):
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000 * 1_000_000
        for i in range(count):
            payload = initial()
            sport = 1024 + i % 60000
            udp = struct.pack("!HHHH", sport, 443, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             bytes([10, 0, (i >> 16) & 0xFF, 1]), bytes([10, 0, 0, 2]))
            frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)) + frame)
            t += gap_us


def main():
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1] == "pcap":
        pcap(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))


if __name__ == "__main__":
    main()
