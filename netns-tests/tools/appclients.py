#!/usr/bin/env python3
"""appclients.py - the clients of test_app_fields.sh that a stock tool cannot play.

  appclients.py split-hello HOST PORT NAME   a TLS ClientHello (Python's ssl, OpenSSL) for NAME,
                                             written in 120-byte pieces, each its own segment
  appclients.py split-request HOST PORT HOST_HEADER
                                             an HTTP/1.1 GET whose request line is cut in two
  appclients.py reorder IN OUT PORT          IN with the 2nd and 3rd data segments of the
                                             split-hello connection to PORT swapped (times too)
"""
import socket
import ssl
import sys
import time


def pieces(sock, data, size):
    for i in range(0, len(data), size):
        sock.sendall(data[i:i + size])
        time.sleep(0.02)


def split_hello(host, port, name):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    pieces(s, outgoing.read(), 120)
    try:
        incoming.write(s.recv(65536))
    except OSError:
        pass
    s.close()


def split_request(host, port, host_header):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = f"GET /split/path?q=1 HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: appclients/1\r\nConnection: close\r\n\r\n"
    s.sendall(request[:2].encode())
    time.sleep(0.05)
    pieces(s, request[2:].encode(), 20)
    while s.recv(65536):
        pass
    s.close()


def reorder(src, dst, port):
    from scapy.all import rdpcap, wrpcap, TCP
    packets = list(rdpcap(src))
    data = [i for i, p in enumerate(packets) if TCP in p and p[TCP].dport == int(port) and len(p[TCP].payload) > 0]
    # The connection whose hello was written in 120-byte pieces (split-hello).
    split = [packets[i][TCP].sport for i in data if len(packets[i][TCP].payload) == 120]
    if not split:
        sys.exit(f"reorder: no connection to port {port} with 120-byte segments")
    data = [i for i in data if packets[i][TCP].sport == split[0]]
    if len(data) < 3:
        sys.exit(f"reorder: {len(data)} data segments to port {port}, need 3")
    a, b = data[1], data[2]
    packets[a].time, packets[b].time = packets[b].time, packets[a].time
    packets[a], packets[b] = packets[b], packets[a]
    wrpcap(dst, packets)


if __name__ == "__main__":
    {"split-hello": split_hello, "split-request": split_request, "reorder": reorder}[sys.argv[1]](*sys.argv[2:])
