#!/usr/bin/env python3
"""seed_quic.py OUTDIR: seeds for FuzzQUIC. Real client Initials made by aioquic (PyPI): v1 and
v2, a hello over three Initials (many ALPN values); each also opened by aioquic's own crypto and
written as a plaintext seed (a 0 byte, then the frames), with its CRYPTO frames' offsets
contradicting each other and overlapping; and broken headers: a DCID longer than 20 bytes, a
length past the datagram, a truncated packet, garbage coalesced after a real Initial, an
unknown version."""
import hashlib
import os
import sys

from aioquic.buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import QuicProtocolVersion, pull_quic_header


def client_datagrams(v2=False, large=0):
    config = QuicConfiguration(is_client=True, alpn_protocols=["h3"] + ["x%02d" % i + "-" * 57 for i in range(large)],
                               server_name="seed.flowtap.test")
    if v2:
        config.original_version = QuicProtocolVersion.VERSION_2
        config.supported_versions = [QuicProtocolVersion.VERSION_2]
    connection = QuicConnection(configuration=config)
    connection.connect(("10.0.0.2", 443), now=0.0)
    return [d for d, _ in connection.datagrams_to_send(now=0.0)]


def plaintext(datagram):
    """The frames of the datagram's first Initial, opened with aioquic's Initial keys."""
    buf = Buffer(data=datagram)
    header = pull_quic_header(buf, host_cid_length=8)
    end = header.packet_length
    pair = CryptoPair()
    pair.setup_initial(cid=header.destination_cid, is_client=False, version=header.version)
    _, payload, _ = pair.decrypt_packet(datagram[:end], buf.tell(), 0)
    return payload


def crypto(offset, data):
    def varint(v):
        return bytes([v]) if v < 64 else (0x4000 | v).to_bytes(2, "big") if v < 16384 else (0x80000000 | v).to_bytes(4, "big")
    return b"\x06" + varint(offset) + varint(len(data)) + data


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = []
    v1 = client_datagrams()
    v2 = client_datagrams(v2=True)
    big = client_datagrams(large=40)
    seeds += v1 + v2 + big
    for d in v1 + v2 + big:
        seeds.append(b"\0" + plaintext(d))
    hello = plaintext(v1[0])
    # Contradictory and overlapping offsets, an ACK and a PING among them, a CONNECTION_CLOSE.
    seeds.append(b"\0" + crypto(10, b"A" * 40) + crypto(0, b"B" * 30) + crypto(20, b"C" * 5) + b"\x01")
    seeds.append(b"\0" + b"\x02\x05\x00\x01\x00\x00\x00\x00" + crypto(4096, b"D" * 20) + b"\x1c\x00\x00\x00")
    seeds.append(b"\0" + crypto(2 ** 30, b"E" * 8))
    seeds.append(b"\0" + hello[:len(hello) // 2])
    first = v1[0]
    seeds.append(first[:5] + bytes([21]) + first[6:])  # a DCID of 21 bytes
    seeds.append(first[:24] + b"\x7f\xff" + first[26:])  # a length past the datagram
    seeds.append(first[:300])  # cut
    seeds.append(first[:1000] + b"\xc0\x00\x00\x00\x01\x08" + os.urandom(64))  # garbage coalesced
    seeds.append(first[:1] + b"\x00\x00\x00\x07" + first[5:])  # an unknown version
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"seed_quic.py: {len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
