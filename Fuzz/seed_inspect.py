#!/usr/bin/env python3
"""seed_inspect.py OUTDIR: seeds for FuzzInspect, a flow's first bytes each: ClientHellos in
one record and split over several, with GREASE, an ECH-sized extension, none at all (TLS 1.0),
cut short; DNS messages over UDP and TCP, with a compression pointer and a pointer loop; HTTP
requests and a status line; an SSH banner."""
import hashlib
import os
import struct
import sys


def be16(v):
    return struct.pack(">H", v)


def hello(ciphers, extensions, version=0x0303, session=32):
    body = be16(version) + b"\x11" * 32 + bytes([session]) + b"\x22" * session
    body += be16(len(ciphers) * 2) + b"".join(be16(c) for c in ciphers) + b"\x01\x00"
    if extensions is not None:
        ext = b"".join(be16(t) + be16(len(d)) + d for t, d in extensions)
        body += be16(len(ext)) + ext
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def records(handshake, size=16384):
    out = b""
    for at in range(0, len(handshake), size):
        part = handshake[at:at + size]
        out += b"\x16\x03\x01" + be16(len(part)) + part
    return out


def sni(name):
    n = name.encode()
    return (0, be16(len(n) + 3) + b"\x00" + be16(len(n)) + n)


def alpn(names):
    lst = b"".join(bytes([len(n)]) + n.encode() for n in names)
    return (0x10, be16(len(lst)) + lst)


CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D,
           0x002F, 0x0035]
BROWSER = [sni("www.example.com"), alpn(["h2", "http/1.1"]), (0x2B, b"\x06\x3a\x3a\x03\x04\x03\x03"),
           (0x0D, be16(8) + b"\x04\x03\x08\x04\x04\x01\x05\x03"), (0x0A, be16(4) + b"\x00\x1d\x00\x17"),
           (0x33, be16(38) + be16(0x1D) + be16(32) + b"\x33" * 32), (0x1A1A, b"")]


DNS = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00"
       b"\x00\x1c\x00\x01")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = [
        records(hello(CIPHERS, BROWSER)),
        records(hello([0x0A0A] + CIPHERS, BROWSER + [(0xFAFA, b"\x00")])),
        records(hello(CIPHERS, BROWSER + [(0xFE0D, b"\x07" * 1400)]), size=500),
        records(hello([0x002F, 0x0035], None, version=0x0301)),
        records(hello(CIPHERS, BROWSER))[:150],
        records(hello(CIPHERS, [sni("a" * 300)])),
        b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
        b"POST /form HTTP/1.0\r\nUser-Agent: x\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
        DNS,
        be16(len(DNS)) + DNS,
        DNS[:12] + b"\xc0\x0c\x00\x01\x00\x01",
        b"\x12\x34\x81\x83\x00\x01\x00\x00\x00\x01\x00\x00" + DNS[12:] + b"\xc0\x0c\x00\x06\x00\x01",
        b"\x16\x03\x01\x40\x01" + b"\x00" * 40,
    ]
    for seed in seeds:
        with open(os.path.join(out, hashlib.sha1(seed).hexdigest()), "wb") as f:
            f.write(seed)
    print(f"seed_inspect: {len(seeds)} inputs in {out}")


main()
