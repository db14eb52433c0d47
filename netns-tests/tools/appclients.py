#!/usr/bin/env python3
"""appclients.py - the clients of test_app_fields.sh that a stock tool cannot play.

  appclients.py split-hello HOST PORT NAME   a TLS ClientHello (Python's ssl, OpenSSL) for NAME,
                                             written in 120-byte pieces, each its own segment
  appclients.py split-request HOST PORT HOST_HEADER
                                             an HTTP/1.1 GET whose request line is cut in two
  appclients.py reorder IN OUT PORT          IN with the 2nd and 3rd data segments of the
                                             split-hello connection to PORT swapped (times too)
  appclients.py hold-hellos HOST PORT COUNT SECONDS [LINGER]
                                             COUNT connections, each writing the first 200 bytes
                                             of a ClientHello for holdN.flowtap.test, holding
                                             SECONDS, then the rest (each hello needs a
                                             reassembly buffer for SECONDS); closed LINGER
                                             seconds later (0.5)
  appclients.py sink HOST PORT              a TCP server that reads every connection to its end
  appclients.py ssh-server HOST PORT SECONDS an SSH server's side as far as its banner: sends
                                             it, reads what comes for SECONDS, closes
"""
import socket
import ssl
import sys
import time


def pieces(sock, data, size):
    for i in range(0, len(data), size):
        sock.sendall(data[i:i + size])
        time.sleep(0.02)


def hello(name):
    """A ClientHello for NAME as Python's ssl (OpenSSL) writes it."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def split_hello(host, port, name):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pieces(s, hello(name), 120)
    try:
        s.recv(65536)
    except OSError:
        pass
    s.close()


def hold_hellos(host, port, count, seconds, linger=0.5):
    held = []
    for i in range(int(count)):
        data = hello(f"hold{i}.flowtap.test")
        s = socket.create_connection((host, int(port)), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(data[:200])
        held.append((s, data[200:]))
    print(f"holding {len(held)}", flush=True)
    time.sleep(float(seconds))
    for s, rest in held:
        s.sendall(rest)
    time.sleep(float(linger))
    for s, _ in held:
        s.close()


def sink(host, port):
    import threading
    listener = socket.create_server((host, int(port)), backlog=256)

    def drain(conn):
        with conn:
            while conn.recv(65536):
                pass

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def ssh_server(host, port, seconds):
    listener = socket.create_server((host, int(port)))
    conn, _ = listener.accept()
    conn.sendall(b"SSH-2.0-appclients_1.0\r\n")
    conn.settimeout(0.2)
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        try:
            if not conn.recv(65536):
                break
        except socket.timeout:
            pass
    conn.close()
    listener.close()


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
    {"split-hello": split_hello, "split-request": split_request, "reorder": reorder, "hold-hellos": hold_hellos,
     "sink": sink, "ssh-server": ssh_server}[sys.argv[1]](*sys.argv[2:])
