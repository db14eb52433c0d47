#!/usr/bin/env python3
"""A QUIC server and client from aioquic (PyPI), for the application-visibility tests.

  quicpeer.py server HOST PORT CERT KEY
      answers every connection with any of the ALPN values clients offer, until killed.
  quicpeer.py client HOST PORT SERVER_NAME [--v2] [--alpn A,B] [--large N]
      one connection: the handshake, a PING, a close. --v2 speaks QUIC version 2 (RFC 9369)
      from the first Initial; --large N offers N further ALPN values of 60 bytes, so that the
      ClientHello spans several Initial packets.
      Exits 0 when the handshake completed, 1 when it did not (within 5 s).
  quicpeer.py reverse IN OUT PORT
      IN with the first three datagrams of each connection to PORT whose hello spans three
      Initials (--large) in reverse order (times too), as a network may deliver them.
  quicpeer.py rekey IN OUT PORT
      IN with the 2nd and 3rd Initials of each such connection protected again by aioquic's
      own crypto under another Destination Connection ID (the first one's keys kept), as a
      client writes its later Initials once it has the server's connection ID (nDPI PR #2278).
"""
import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio import connect, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import QuicProtocolVersion

# Every value a client may offer (the server picks the first it knows from the client's list).
SERVER_ALPN = ["h3", "hq-interop", "doq", "flowtap-test"]


async def run_server(host, port, cert, key):
    config = QuicConfiguration(is_client=False, alpn_protocols=SERVER_ALPN)
    config.supported_versions = [QuicProtocolVersion.VERSION_1, QuicProtocolVersion.VERSION_2]
    config.load_cert_chain(cert, key)
    await serve(host, port, configuration=config)
    await asyncio.Event().wait()


async def run_client(host, port, name, v2, alpn, large):
    protocols = alpn.split(",") + ["x%02d" % i + "-" * 57 for i in range(large)]
    config = QuicConfiguration(is_client=True, alpn_protocols=protocols, server_name=name)
    config.verify_mode = ssl.CERT_NONE
    if v2:
        config.original_version = QuicProtocolVersion.VERSION_2
        config.supported_versions = [QuicProtocolVersion.VERSION_2]
    async with connect(host, port, configuration=config, wait_connected=True) as client:
        await asyncio.wait_for(client.ping(), 5)


def reverse(src, dst, port):
    from scapy.all import rdpcap, wrpcap
    packets = list(rdpcap(src))
    flows = three_initial_flows(packets, port)
    if not flows:
        sys.exit(f"reverse: no connection to port {port} whose hello spans three Initials")
    for first in flows:
        times = [packets[i].time for i in first]
        moved = [packets[i] for i in reversed(first)]
        for i, p, t in zip(first, moved, times):
            p.time = t
            packets[i] = p
    wrpcap(dst, packets)


def three_initial_flows(packets, port):
    """The indexes of the first three datagrams of each connection to `port` whose hello spans
    three Initials (three full datagrams before the server's first answer)."""
    from scapy.all import UDP
    flows = {}
    for i, p in enumerate(packets):
        if UDP in p and p[UDP].dport == port:
            flows.setdefault(p[UDP].sport, []).append(i)
    return [idx[:3] for idx in flows.values()
            if len(idx) >= 3 and all(len(packets[i][UDP].payload) >= 1200 for i in idx[:3])]


def rekey(src, dst, port):
    import os
    from aioquic.buffer import Buffer
    from aioquic.quic.crypto import CryptoPair
    from aioquic.quic.packet import pull_quic_header
    from scapy.all import IP, UDP, rdpcap, wrpcap
    packets = list(rdpcap(src))
    flows = three_initial_flows(packets, port)
    if not flows:
        sys.exit(f"rekey: no connection to port {port} whose hello spans three Initials")
    for first, *later in flows:
        original = pull_quic_header(Buffer(data=bytes(packets[first][UDP].payload)), host_cid_length=8).destination_cid
        other = os.urandom(len(original))
        for i in later:
            datagram = bytes(packets[i][UDP].payload)
            buf = Buffer(data=datagram)
            header = pull_quic_header(buf, host_cid_length=8)
            pair = CryptoPair()
            pair.setup_initial(cid=original, is_client=False, version=header.version)
            plain_header, payload, number = pair.decrypt_packet(datagram[:header.packet_length], buf.tell(), 0)
            at = plain_header.index(original, 5)
            new_header = plain_header[:at] + other + plain_header[at + len(original):]
            sender = CryptoPair()
            sender.setup_initial(cid=original, is_client=True, version=header.version)
            packet = sender.encrypt_packet(new_header, payload, number)
            packets[i][UDP].remove_payload()
            packets[i][UDP].add_payload(packet + datagram[header.packet_length:])
            del packets[i][UDP].chksum, packets[i][UDP].len, packets[i][IP].chksum, packets[i][IP].len
    wrpcap(dst, packets)


def main():
    if sys.argv[1:2] == ["rekey"]:
        rekey(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    if sys.argv[1:2] == ["reverse"]:
        reverse(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("cert")
    s.add_argument("key")
    c = sub.add_parser("client")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("name")
    c.add_argument("--v2", action="store_true")
    c.add_argument("--alpn", default="h3")
    c.add_argument("--large", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "server":
        asyncio.run(run_server(args.host, args.port, args.cert, args.key))
        return 0
    try:
        asyncio.run(asyncio.wait_for(run_client(args.host, args.port, args.name, args.v2, args.alpn, args.large), 5))
    except Exception as error:  # the test reports the failure; the traceback says nothing more
        print(f"quicpeer.py: handshake with {args.host}:{args.port} failed: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
