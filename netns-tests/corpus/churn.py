#!/usr/bin/python3
"""churn.py IFACE SRC_MAC DST_MAC FLOWS RATE

Sends FLOWS one-packet UDP flows from h1, each a new flow (16 source addresses 10.77.1.0-15 ×
65 536 source ports), paced at RATE frames per second: the flow-churn load. Prints how many it
sent. IPv4 header checksums are right; UDP checksums are 0 (none), as IPv4 allows.
"""
import socket
import struct
import sys
import time

iface, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
flows, rate = int(sys.argv[4]), int(sys.argv[5])


def mac(text):
    return bytes(int(b, 16) for b in text.split(":"))


def checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


frames = []
for a in range(16):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 18, 0, 0x4000, 64, 17, 0,
                               bytes([10, 77, 1, a]), bytes([10, 77, 0, 2])))
    struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
    frames.append(bytearray(mac(dst) + mac(src) + b"\x08\x00" + bytes(ip) + struct.pack("!HHHH", 0, 9, 26, 0) + bytes(18)))

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
start = time.monotonic()
for n in range(flows):
    frame = frames[n >> 16 & 15]
    struct.pack_into("!H", frame, 34, n & 0xFFFF)
    s.send(frame)
    if n % 100 == 99:  # pace in small steps: a long burst overflows the TAP's queue
        ahead = (n + 1) / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
print(f"sent {flows} flows in {time.monotonic() - start:.1f} s")
