import Glibc
import Synchronization

/// What the main thread asks of one pipeline thread (a forwarder, the export thread), read by
/// that thread between frames and ticks: go on, park, stop, quit. The eventfd wakes it from
/// its poll; the acknowledgement tells the main thread it did what was asked.
///
/// - park: leave the wire alone and wait, everything settled (a handover is under way); with
///   `parkEmptied`, every flow reported first (the successor cannot read this cache).
/// - run: go on after a park (the handover failed, or never came).
/// - stop: report every flow ("forced end") and end: the probe stops.
/// - quit: end without reporting: a successor has taken the flows over.
public final class ThreadCommand: Sendable {
    public enum Command: Int, Sendable { case run = 0, park, parkEmptied, stop, quit }

    private let command = Atomic<Int>(0)
    /// The command carried out last (-1: none yet).
    private let done = Atomic<Int>(-1)
    private let event: EventFD
    /// Readable while a command waits to be seen; `clearWake` empties it.
    public var descriptor: CInt { event.descriptor }

    public init() throws(SetupError) { event = try EventFD() }

    /// From the main thread.
    public func send(_ c: Command) {
        done.store(-1, ordering: .releasing)
        command.store(c.rawValue, ordering: .releasing)
        event.signal()
    }

    /// From the thread: one load, for its loop.
    @inline(__always)
    public var isRun: Bool { command.load(ordering: .acquiring) == 0 }

    public var current: Command { Command(rawValue: command.load(ordering: .acquiring)) ?? .stop }

    /// From the thread: `c` is carried out (parked, or running again).
    public func acknowledge(_ c: Command) { done.store(c.rawValue, ordering: .releasing) }

    /// From the thread, once it has seen the command: the eventfd no longer wakes its poll.
    public func clearWake() { event.clear() }

    /// From the main thread: whether the thread acknowledged `c` within `timeoutMs`.
    public func wait(for c: Command, timeoutMs: Int) -> Bool {
        let deadline = MonotonicClock.nowMs() + UInt64(timeoutMs)
        while done.load(ordering: .acquiring) != c.rawValue {
            if MonotonicClock.nowMs() >= deadline { return false }
            usleep(200)
        }
        return true
    }

    /// From the thread, parked: sleeps until the command is no longer `parked`; returns it.
    public func waitWhileParked() -> Command {
        while true {
            let c = current
            if c != .park && c != .parkEmptied { return c }
            _ = SystemCall.pollReadable(descriptor, -1, timeoutMs: 5)
            if current == c { clearWake() }
        }
    }
}
