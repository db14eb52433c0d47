#!/usr/bin/env python3
"""freeze_thread.py TID SECONDS: stop one thread of a process (not the process) for SECONDS,
with PTRACE_SEIZE + PTRACE_INTERRUPT, then let it run again (PTRACE_DETACH). Prints
"<monotonic> frozen" once it has stopped and "<monotonic> thawed" before it runs again. Needs
root (or CAP_SYS_PTRACE); test_service.sh uses it to hang flowtap's export thread."""
import ctypes
import os
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 17, 0x4206, 0x4207, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
tid, seconds = int(sys.argv[1]), float(sys.argv[2])
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
    sys.exit("freeze_thread: PTRACE_SEIZE of %d failed: %s" % (tid, os.strerror(ctypes.get_errno())))
libc.ptrace(PTRACE_INTERRUPT, tid, None, None)
os.waitpid(tid, WALL)
print("%.3f frozen" % time.monotonic())
time.sleep(seconds)
print("%.3f thawed" % time.monotonic())
libc.ptrace(PTRACE_DETACH, tid, None, None)
