"""held.py - how long flowtap held each frame, from two captures of the TAPs.

The capture of a TAP's frames towards flowtap (tcpdump -Q out) stamps a frame when the kernel
queues it for flowtap's read; the capture of the other TAP's frames from flowtap (-Q in)
stamps the same bytes when flowtap's write hands them back. flowtap stamps a frame between
the two (after its read, before its write), so any time it reports for that frame lies in
[ingress time, ingress time + held]. On a busy machine, held is what a descheduled forwarder
waited (milliseconds on a shared CI VM, even under SCHED_FIFO), and the tests' time checks
allow exactly that much late, measured per frame, never a fixed slack.

A forwarded frame is byte for byte the frame read, so frames are matched by their bytes, in
order (a repeated frame pairs with its repeats in turn). A frame the egress capture lacks has
held None (then no lateness is allowed).
"""
from collections import defaultdict, deque

from pcapfile import frames


def index(egress_paths):
    """bytes -> the capture times of that frame in the egress captures, in order."""
    out = defaultdict(deque)
    for path in egress_paths:
        for ts, frame in frames(path):
            out[bytes(frame)].append(ts)
    return out


def frames_held(path, egress):
    """(time, frame, held seconds or None) for each frame of the ingress capture `path`."""
    for ts, frame in frames(path):
        times = egress.get(bytes(frame))
        held = None
        while times:
            t = times.popleft()
            if t >= ts:
                held = t - ts
                break
        yield ts, frame, held


def outside(error, held, tolerance):
    """How far a reported time that is `error` seconds after the capture's lies outside the
    window the frame was inside flowtap, widened by `tolerance` each side (the formats' cut to
    milliseconds); 0 when inside."""
    late = max(0.0, (held or 0.0))
    if error < -tolerance:
        return -tolerance - error
    if error > late + tolerance:
        return error - late - tolerance
    return 0.0


def option(argv):
    """The egress captures named by a `--held=A.pcap,B.pcap` argument, or []."""
    for a in argv:
        if a.startswith("--held="):
            return [p for p in a.split("=", 1)[1].split(",") if p]
    return []
