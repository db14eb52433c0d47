#!/usr/bin/env python3
"""procs.py COMMAND ARGS...: process roles the tests play.

  kill-on-line LOG PATTERN SECONDS   watches LOG (every 0.1 ms) for a line matching the regular
                                     expression PATTERN, whose first group is a PID, and sends
                                     that process SIGKILL at once; prints the PID. Fails when no
                                     such line came within SECONDS. For killing a process at a
                                     point it logs, closer than a shell loop can.
"""
import os
import re
import signal
import time

from cli import main


def kill_on_line(log, pattern, seconds):
    expression = re.compile(pattern)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        try:
            text = open(log, errors="replace").read()
        except FileNotFoundError:
            text = ""
        found = expression.search(text)
        if found:
            pid = int(found.group(1))
            os.kill(pid, signal.SIGKILL)
            print(pid)
            return True
        time.sleep(0.0001)
    return False


COMMANDS = {"kill-on-line": kill_on_line}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
