#!/usr/bin/env python3
"""short_connections.py server PORT | client HOST PORT COUNT FIRST_SOURCE_PORT [reset]

HTTP-like short TCP connections, each one a whole connection: the client connects from its own
source port (FIRST_SOURCE_PORT + i, so that no two connections share a 5-tuple), sends a
request, reads the response to its end and closes; the server answers 1200 bytes and closes
first, as an HTTP/1.0 server does. The client prints how many connections completed.

With "reset" the client asks for a response without the close, and once it has the whole
response it resets the connection (SO_LINGER 0: a RST instead of a FIN): the server's direction
then carries neither a FIN nor a RST of its own.
"""
import socket
import struct
import sys

RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 1161\r\n\r\n" + b"x" * 1161

if sys.argv[1] == "server":
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(sys.argv[2])))
    srv.listen(128)
    print("listening", flush=True)
    while True:
        conn, _ = srv.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(2048)
            if not chunk:
                break
            data += chunk
        conn.sendall(RESPONSE)
        if data.startswith(b"GET /reset"):
            # Keep the connection open until the client resets it.
            try:
                while conn.recv(2048):
                    pass
            except ConnectionResetError:
                pass
        conn.close()
else:
    host, port, count, first = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    reset = sys.argv[6:] == ["reset"]
    done = 0
    for i in range(count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", first + i))
        s.connect((host, port))
        s.sendall(b"GET /%s%d HTTP/1.0\r\nHost: h2\r\n\r\n" % (b"reset" if reset else b"", i))
        got = b""
        while not (reset and len(got) >= len(RESPONSE)):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        done += got == RESPONSE
    print(done)
