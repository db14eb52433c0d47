#!/usr/bin/env python3
"""controlcheck.py COMMAND ARGS...: checks of flowtap's control socket answers (`flowtap show
stats|flows|collectors --json`), read from a file or, with -, from standard input.

  stats-keys STATS                  2 directions and 1 collector, each with the documented keys
  frames STATS DIRECTION            prints the frames of the direction named so
  flows-active STATS N              every direction has N live flows
  flows-active-by-name STATS A=N,B=M  each named direction has that many live flows
  flow-listed FLOWS SRC DST PACKETS one ICMP flow SRC->DST with PACKETS packets; every flow has the keys
  flows-only FLOWS SRC DIRECTION    exactly one flow, from SRC, in DIRECTION
  flows-count FLOWS N               exactly N flows
  icmp-errors COLLECTORS            the first collector counted an ICMP error
  resets-per-queue STATS QUEUES     reset notices closed flows on each of QUEUES queues
"""
import json
import sys

from cli import main


def load(path):
    return json.load(sys.stdin if path == "-" else open(path))


def stats_keys(path):
    s = load(path)
    d_keys = {"name", "queue", "frames", "bytes", "flows_active", "flows_created", "kernel_drops", "reset_notices"}
    c_keys = {"url", "messages", "records", "send_errors", "records_lost", "last_error"}
    print("    directions:", [d["name"] for d in s["directions"]], "collectors:", [c["url"] for c in s["collectors"]])
    return len(s["directions"]) == 2 and all(d_keys <= d.keys() for d in s["directions"]) \
        and len(s["collectors"]) == 1 and all(c_keys <= c.keys() for c in s["collectors"])


def frames(path, direction):
    print(next(d["frames"] for d in load(path)["directions"] if d["name"] == direction))


def flows_active(path, n):
    return all(d["flows_active"] == int(n) for d in load(path)["directions"])


def flows_active_by_name(path, expected):
    want = {name: int(n) for name, n in (kv.rsplit("=", 1) for kv in expected.split(","))}
    return {d["name"]: d["flows_active"] for d in load(path)["directions"]} == want


def flow_listed(path, src, dst, packets):
    flows = load(path)
    mine = [f for f in flows if f["src"] == src and f["dst"] == dst and f["proto"] == 1]
    print("    ", [(f["src"], f["dst"], f["packets"], f["bytes"], f["direction"]) for f in flows])
    keys = {"src", "dst", "sport", "dport", "proto", "packets", "bytes"}
    return len(mine) == 1 and mine[0]["packets"] == int(packets) and all(keys <= f.keys() for f in flows)


def flows_only(path, src, direction):
    f = load(path)
    return len(f) == 1 and f[0]["src"] == src and f[0]["direction"] == direction


def flows_count(path, n):
    return len(load(path)) == int(n)


def icmp_errors(path):
    return load(path)[0]["icmp_errors"] >= 1


def resets_per_queue(path, queues):
    closed = {}
    for d in load(path)["directions"]:
        closed[d["queue"]] = closed.get(d["queue"], 0) + d["reset_notices"]["closed"]
    print(f"    flows closed by a reset notice, per queue: {closed}")
    return len(closed) == int(queues) and all(closed.values())


COMMANDS = {"stats-keys": stats_keys, "frames": frames, "flows-active": flows_active,
            "flows-active-by-name": flows_active_by_name, "flow-listed": flow_listed, "flows-only": flows_only,
            "flows-count": flows_count, "icmp-errors": icmp_errors, "resets-per-queue": resets_per_queue}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
