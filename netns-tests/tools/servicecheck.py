#!/usr/bin/env python3
"""servicecheck.py COMMAND ARGS...: checks of the service-manager protocol in test_service.sh.
NOTIFY is sockets.py notify-listener's log ("SECONDS MESSAGE" lines), FREEZE freeze_thread.py's
("SECONDS frozen", "SECONDS thawed").

  watchdog-before-hang NOTIFY FREEZE PERIOD   WATCHDOG=1 at least every PERIOD s until the hang
  watchdog-during-hang NOTIFY FREEZE PERIOD   none from one PERIOD after the hang to its end, some after
  json-log LOG                                 every stderr line a JSON object with time, level, message
"""
import json

from cli import main


def pings(notify):
    return [float(l.split()[0]) for l in open(notify) if "WATCHDOG=1" in l]


def marks(freeze):
    return {l.split()[1]: float(l.split()[0]) for l in open(freeze) if l.split()[1:] in (["frozen"], ["thawed"])}


def watchdog_before_hang(notify, freeze, period):
    frozen = marks(freeze).get("frozen", float("inf"))
    t = [p for p in pings(notify) if p < frozen]
    gaps = [b - a for a, b in zip(t, t[1:])]
    print(f"    largest gap between pings: {max(gaps, default=float('inf')):.3f} s")
    return bool(gaps) and max(gaps) < float(period)


def watchdog_during_hang(notify, freeze, period):
    m = marks(freeze)
    frozen, thawed = m["frozen"], m["thawed"]
    during = [t for t in pings(notify) if frozen + float(period) < t < thawed]
    after = [t for t in pings(notify) if t > thawed]
    print(f"    pings while hung (after one period): {len(during)}; after: {len(after)}")
    return not during and bool(after)


def json_log(log):
    lines = [l for l in open(log) if not l.startswith("flowtap: ")]   # the closing lines go to stdout
    objects = [json.loads(l) for l in lines]
    print(f"    {len(objects)} JSON log lines, levels {sorted(set(o['level'] for o in objects))}")
    return bool(objects) and all({"time", "level", "message"} <= o.keys() for o in objects)


COMMANDS = {"watchdog-before-hang": watchdog_before_hang, "watchdog-during-hang": watchdog_during_hang, "json-log": json_log}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
