#!/usr/bin/env python3
"""sockets.py COMMAND ARGS...: small socket roles the tests play in a namespace.

  closed-port-probe DST   three UDP datagrams (ToS 0x20) to DST port 9, answered by ICMP port
                          unreachable, and a TCP connect to port 9, answered by a RST
  sink ADDR PORT...       UDP sockets that read and drop whatever comes, until killed
  hold-port ADDR PORT SECONDS   a TCP listener on ADDR:PORT for SECONDS (a port in use)
  slow-request ADDR PORT SECONDS   an HTTP request sent one byte a second for SECONDS (a
                          slowloris); prints what the server answered, if anything
  big-head ADDR PORT BYTES  a request head of BYTES bytes; prints the server's status line
  notify-listener PATH    an AF_UNIX datagram socket at PATH (mode 0777) that prints "listening",
                          then each message as "MONOTONIC-SECONDS TEXT" with newlines as "|"
"""
import os
import select
import socket
import sys
import time

from cli import main


def closed_port_probe(dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x20)
    for _ in range(3):
        s.sendto(b"closed", (dst, 9))      # port unreachable comes back
    t = socket.socket()
    try:
        t.connect((dst, 9))                  # SYN, RST back
    except OSError:
        pass


def sink(addr, *ports, rounds=None):
    socks = []
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((addr, int(port)))
        socks.append(s)
    while rounds is None or rounds > 0:
        for s in select.select(socks, [], [])[0]:
            s.recv(65535)
        rounds = None if rounds is None else rounds - 1


def hold_port(addr, port, seconds):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen()
    time.sleep(float(seconds))


def slow_request(addr, port, seconds):
    s = socket.create_connection((addr, int(port)), timeout=5)
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    for i in range(int(seconds)):
        try:
            s.sendall(request[i:i + 1])
        except OSError:
            break
        time.sleep(1)
    s.settimeout(8)   # the server answers 408 10 s after the first byte
    try:
        print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
    except OSError:
        print("")


def big_head(addr, port, size):
    s = socket.create_connection((addr, int(port)), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Fill: " + b"a" * int(size) + b"\r\n\r\n")
    except OSError:
        pass
    print(s.recv(4096).decode(errors="replace").split("\r\n")[0])


def notify_line(message, now):
    return "%.3f %s" % (now, message.replace("\n", "|"))


def notify_listener(path, count=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)
    print("listening", flush=True)
    while count is None or count > 0:
        print(notify_line(s.recv(4096).decode(), time.monotonic()), flush=True)
        count = None if count is None else count - 1


COMMANDS = {"closed-port-probe": closed_port_probe, "sink": sink, "hold-port": hold_port, "notify-listener": notify_listener,
            "slow-request": slow_request, "big-head": big_head}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
