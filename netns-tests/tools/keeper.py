#!/usr/bin/env python3
"""keeper.py LOG -- COMMAND...: a small service manager for the tests, standing in for systemd
(not PID 1 here). It does what systemd's documentation says of a Type=notify unit with
Restart=on-failure, RestartForceExitStatus=, RestartSec= and FileDescriptorStoreMax=
(systemd.service(5), sd_notify(3), sd_listen_fds(3), systemd's FILE_DESCRIPTOR_STORE doc):

- $NOTIFY_SOCKET: an AF_UNIX datagram socket at KEEPER_SOCKET (or /tmp/keeper-PID.sock); READY=1, STOPPING=1, WATCHDOG=1 and STATUS= are
  logged; FDSTORE=1 keeps the message's descriptors under FDNAME= (at most
  KEEPER_FDSTORE_MAX, default 64; beyond that they are closed, as systemd does);
  FDSTOREREMOVE=1 closes and forgets every descriptor named FDNAME=.
- Each start passes the store: descriptors 3 on, $LISTEN_FDS, $LISTEN_PID (the child's own
  PID), $LISTEN_FDNAMES (names joined by ':').
- When the child ends it is started again after KEEPER_RESTART_SEC (default 0.1) if it exited
  with a non-zero status, with KEEPER_FORCE_STATUS (default 75), or was killed by a signal
  other than SIGTERM, SIGINT, SIGHUP or SIGPIPE; otherwise the keeper ends too. The store
  lives across restarts.
- SIGUSR1 to the keeper: SIGKILL to the child (a crash). SIGTERM: stop, as `systemctl stop`
  on systemd 252 does: SIGTERM to the child, wait, then close the store
  (FileDescriptorStorePreserve= came in 254).

LOG gets one line per event: "MONOTONIC-SECONDS EVENT ...": start PID NAMES, exit PID status N
| signal N, message TEXT (newlines as '|'), stored NAME, removed NAME, refused NAME, stop,
killed PID (the SIGKILL sent); and, to tell a restart's gap apart from flowtap's own: slow exit
(each thread's state and kernel stack, once, when a killed child is still there 200 ms later)
and keeper stalled N ms (the keeper's own loop went unrun over 50 ms).
"""
import array
import glob
import os
import signal
import socket
import sys
import time


class Keeper:
    def __init__(self, log, command):
        self.log = open(log, "a", buffering=1)
        self.command = command
        self.store = []                      # (name, fd)
        self.max = int(os.environ.get("KEEPER_FDSTORE_MAX", "64"))
        self.restart_sec = float(os.environ.get("KEEPER_RESTART_SEC", "0.1"))
        self.force = int(os.environ.get("KEEPER_FORCE_STATUS", "75"))
        self.path = os.environ.get("KEEPER_SOCKET") or f"/tmp/keeper-{os.getpid()}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)           # the unit's User= sends here after the drop
        self.sock.setblocking(False)
        self.child = None
        self.killed = None
        self.stopping = False

    def event(self, text):
        self.log.write(f"{time.monotonic():.6f} {text}\n")

    def receive(self):
        while True:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(64 * 4))
            except BlockingIOError:
                return
            fds = array.array("i")
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            fields = dict(line.split("=", 1) for line in data.decode(errors="replace").split("\n") if "=" in line)
            self.event("message " + data.decode(errors="replace").replace("\n", "|"))
            name = fields.get("FDNAME", "stored")
            if fields.get("FDSTOREREMOVE") == "1":
                for n, fd in [e for e in self.store if e[0] == name]:
                    os.close(fd)
                self.store = [e for e in self.store if e[0] != name]
                self.event(f"removed {name}")
            if fields.get("FDSTORE") == "1":
                for fd in fds:
                    if len(self.store) < self.max:
                        self.store.append((name, fd))
                        self.event(f"stored {name} ({len(self.store)} in the store)")
                    else:
                        os.close(fd)
                        self.event(f"refused {name}")
            else:
                for fd in fds:
                    os.close(fd)

    def start(self):
        names = [n for n, _ in self.store]
        pid = os.fork()
        if pid == 0:
            for i, (_, fd) in enumerate(self.store):
                os.dup2(fd, 100 + i, inheritable=False)
            for i in range(len(self.store)):
                os.dup2(100 + i, 3 + i, inheritable=True)
            os.closerange(3 + len(self.store), 4096)
            env = dict(os.environ, NOTIFY_SOCKET=self.path)
            if self.store:
                env.update(LISTEN_FDS=str(len(self.store)), LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=":".join(names))
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.execvpe(self.command[0], self.command, env)
        self.child = pid
        self.event(f"start {pid} {' '.join(names) or '-'}")

    def run(self):
        signal.signal(signal.SIGUSR1, lambda *_: self.crash())
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        self.start()
        last = time.monotonic()
        while True:
            now = time.monotonic()
            if now - last > 0.05:
                # The keeper itself was not run: a gap it would add to a restart's.
                self.event(f"keeper stalled {(now - last) * 1000:.0f} ms")
            last = now
            self.receive()
            pid, status = os.waitpid(self.child, os.WNOHANG)
            if pid == 0:
                if self.killed and now - self.killed > 0.2:
                    self.slow_exit()
                time.sleep(0.001)
                continue
            self.receive()
            self.killed = None
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                self.event(f"exit {pid} signal {sig}")
                again = sig not in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE)
            else:
                code = os.WEXITSTATUS(status)
                self.event(f"exit {pid} status {code}")
                again = code != 0 or code == self.force
            if self.stopping or not again:
                for _, fd in self.store:
                    os.close(fd)
                self.event(f"end, {len(self.store)} stored descriptors closed")
                os.unlink(self.path)
                return 0
            time.sleep(self.restart_sec)
            self.start()
            last = time.monotonic()  # RestartSec is the keeper's own wait, not a stall

    def crash(self):
        """SIGKILL to the child, logged: the time from here to its exit is the kernel's teardown."""
        if self.child:
            os.kill(self.child, signal.SIGKILL)
            self.killed = time.monotonic()
            self.event(f"killed {self.child}")

    def slow_exit(self):
        """A child killed 200 ms ago and not yet gone: where its threads are, in the kernel."""
        self.killed = None
        for task in sorted(glob.glob(f"/proc/{self.child}/task/*")):
            try:
                state = [l for l in open(f"{task}/status") if l.startswith("State:")][0].split(None, 1)[1].strip()
                stack = open(f"{task}/stack").read().replace("\n", " | ")
            except OSError as e:
                state, stack = "?", str(e)
            self.event(f"slow exit: task {os.path.basename(task)} {state}: {stack}")

    def stop(self):
        self.stopping = True
        self.event("stop")
        if self.child:
            os.kill(self.child, signal.SIGTERM)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
        return 2
    return Keeper(sys.argv[1], sys.argv[3:]).run()


if __name__ == "__main__":
    sys.exit(main())
