import CFlowTapLinux
import Glibc
import Synchronization

/// A one-way "it is time" between threads: a flag a busy loop can read for the cost of a load,
/// and an eventfd a sleeping thread can poll. Once rung it stays rung.
public final class Doorbell: Sendable {
    private let rung = Atomic<Bool>(false)
    /// Becomes readable, and stays so, when the bell rings.
    public let descriptor: CInt

    public init() throws(SetupError) {
        let fd = cft_eventfd_create()
        guard fd >= 0 else {
            throw SetupError("cannot create an eventfd: \(SetupError.text(-fd))", fix: "raise the open-file limit (ulimit -n)")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    public func ring() {
        rung.store(true, ordering: .releasing)
        _ = cft_eventfd_signal(descriptor)
    }

    @inline(__always)
    public var isRung: Bool { rung.load(ordering: .acquiring) }
}

/// Time since the Unix epoch, from clock_gettime(CLOCK_REALTIME) (a vDSO call, no system
/// call). Flow timestamps are exported in this clock, so expiry uses it too. Nanoseconds fit a
/// UInt64 until 2554.
public enum WallClock {
    @inline(__always)
    public static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    @inline(__always)
    public static func nowMs() -> UInt64 { nowNs() / 1_000_000 }
}

/// A pthread, created with pthread_create(3), named with pthread_setname_np(3) so that
/// `top -H` shows what it does, and joined exactly once (the join consumes it).
public struct PosixThread: ~Copyable {
    private let handle: pthread_t

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// nil when pthread_create fails (out of memory or thread limit).
    public init?(name: String, _ body: @escaping @Sendable () -> Void) {
        guard let thread = Self.spawn(name: name, body) else { return nil }
        handle = thread
    }

    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            _ = cft_set_thread_name(start.name)
            start.body()
            return nil
        }, start)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return nil
        }
        return thread
    }

    /// pthread_join(3).
    public consuming func join() {
        let rc = pthread_join(handle, nil)
        precondition(rc == 0, "pthread_join failed: \(rc)")
    }
}

/// Several threads started together and joined together (the forwarders of every queue).
public final class ThreadGroup {
    private var handles: [pthread_t] = []

    public init() {}

    /// False when the thread could not be created.
    public func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        guard let thread = PosixThread.spawn(name: name, body) else { return false }
        handles.append(thread)
        return true
    }

    /// pthread_join(3) of each, once.
    public func joinAll() {
        for handle in handles {
            let rc = pthread_join(handle, nil)
            precondition(rc == 0, "pthread_join failed: \(rc)")
        }
        handles.removeAll()
    }
}

/// Lets through one message per interval and counts the rest, so that an error repeated per
/// frame shows in the log as one line with a count.
public struct RateLimiter: Sendable {
    public let intervalMs: UInt64
    private var nextAllowed: UInt64 = 0
    private var suppressed = 0

    public init(intervalMs: UInt64 = 5000) { self.intervalMs = intervalMs }

    /// nil when this occurrence should be silent; otherwise how many were silenced before it.
    public mutating func admit(now: UInt64) -> Int? {
        guard now >= nextAllowed else { suppressed += 1; return nil }
        nextAllowed = now + intervalMs
        defer { suppressed = 0 }
        return suppressed
    }
}
