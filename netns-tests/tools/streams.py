#!/usr/bin/env python3
"""streams.py COMMAND ARGS...: paced UDP streams with sequence numbers, to see what a handover
or a crash does to the link from the hosts' side. Every datagram carries its stream's sequence
number and its send time (CLOCK_MONOTONIC, which the namespaces share).

  send HOST PORT RATE SECONDS [SPORT]   RATE datagrams a second for SECONDS, then 5 end markers
                                         with the count sent
  receive PORT OUT.json                  until the end marker (or 30 s of silence): writes sent,
                                         received, lost, reordered, duplicated, the largest gap
                                         between arrivals and the largest one-way delay (ms)
  check OUT.json... [--max-gap MS]       each stream: nothing lost, reordered or duplicated, and
                                         (given) every gap under MS; prints the figures
  report OUT.json...                     prints the figures only (a baseline that loses on purpose)
"""
import json
import socket
import struct
import time

from cli import main

DATA = struct.Struct("!QQQ")       # magic, sequence, send time (ns)
MAGIC, END = 0x464C4F5754415031, 0x464C4F5754415045


def send(host, port, rate, seconds, sport="0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sport)))
    rate, seconds = float(rate), float(seconds)
    count = int(rate * seconds)
    start = time.monotonic_ns()
    period = int(1e9 / rate)
    for seq in range(count):
        due = start + seq * period
        # Sleep until 100 us before the datagram is due, then spin: spinning the whole period
        # (1 ms at 1000 a second) kept a CPU busy per stream, and two streams starved the
        # 2-CPU machine the probe under test shares (a SIGKILLed flowtap then took up to 5 s
        # to leave the kernel; tools/keeper.py logs such a slow exit).
        while True:
            now = time.monotonic_ns()
            if now >= due:
                break
            if due - now > 200_000:
                time.sleep((due - now - 100_000) / 1e9)
        s.sendto(DATA.pack(MAGIC, seq, time.monotonic_ns()).ljust(64, b"\0"), (host, int(port)))
    for _ in range(5):
        time.sleep(0.05)
        s.sendto(DATA.pack(END, count, 0).ljust(64, b"\0"), (host, int(port)))


def stats(arrivals, sent):
    """arrivals: (sequence, send ns, arrival ns) in arrival order."""
    seen, reordered, duplicated, highest = set(), 0, 0, -1
    gap = delay = gap_end = 0
    for i, (seq, sent_ns, at) in enumerate(arrivals):
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < highest:
            reordered += 1
        highest = max(highest, seq)
        delay = max(delay, at - sent_ns)
        if i and at - arrivals[i - 1][2] > gap:
            gap, gap_end = at - arrivals[i - 1][2], at
    # When the largest gap ended, in CLOCK_MONOTONIC seconds (the clock tools/keeper.py logs
    # by), so that a gap can be matched with the restart before it.
    return {"sent": sent, "received": len(seen), "lost": (sent - len(seen)) if sent is not None else None,
            "reordered": reordered, "duplicated": duplicated, "max_gap_ms": gap / 1e6, "max_delay_ms": delay / 1e6,
            "max_gap_end": gap_end / 1e9}


def receive(port, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(30)
    print("listening", flush=True)
    arrivals, sent = [], None
    while sent is None:
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        at = time.monotonic_ns()
        magic, seq, sent_ns = DATA.unpack_from(data)
        if magic == END:
            sent = seq
        elif magic == MAGIC:
            arrivals.append((seq, sent_ns, at))
    # The sender's other end markers land here, not as ICMP port-unreachable flows.
    s.settimeout(0.5)
    try:
        while True:
            s.recv(2048)
    except socket.timeout:
        pass
    json.dump(stats(arrivals, sent), open(out, "w"))


def line(path, r):
    return (f"    {path.split('/')[-1]}: sent {r['sent']}, lost {r['lost']}, reordered {r['reordered']}, duplicated {r['duplicated']}, "
            f"largest gap {r['max_gap_ms']:.1f} ms (ended at {r.get('max_gap_end', 0):.3f}), largest one-way delay {r['max_delay_ms']:.1f} ms")


def report(*paths):
    for path in paths:
        print(line(path, json.load(open(path))))


def check(*args):
    args = list(args)
    limit = None
    if "--max-gap" in args:
        i = args.index("--max-gap")
        limit = float(args[i + 1])
        del args[i:i + 2]
    ok = bool(args)
    for path in args:
        r = json.load(open(path))
        good = r["sent"] is not None and r["lost"] == 0 and r["reordered"] == 0 and r["duplicated"] == 0 and r["sent"] > 0
        if limit is not None:
            good = good and r["max_gap_ms"] < limit
        ok = ok and good
        print(line(path, r) + ("" if good else "  <- FAIL"))
    return ok


COMMANDS = {"send": send, "receive": receive, "check": check, "report": report}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
