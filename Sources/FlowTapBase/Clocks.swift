import Glibc
import Synchronization

/// Time since the Unix epoch, from clock_gettime(CLOCK_REALTIME) (a vDSO call, no system
/// call). Only what goes out in records and message headers is in this clock: it can step
/// (settimeofday, NTP), so nothing waits on it. Nanoseconds fit a UInt64 until 2554.
public enum WallClock {
    @inline(__always) @inlinable
    public static func nowNs() -> UInt64 { clockNanoseconds(CLOCK_REALTIME) }

    @inline(__always) @inlinable
    public static func nowMs() -> UInt64 { nowNs() / 1_000_000 }
}

/// Time that only moves forward, from clock_gettime(CLOCK_MONOTONIC) (a vDSO call): what flow
/// expiry, fragment timeouts, biflow pairing and the export thread's timers measure, so that a step of
/// the wall clock in either direction neither freezes nor flushes them.
public enum MonotonicClock {
    @inline(__always) @inlinable
    public static func nowNs() -> UInt64 { clockNanoseconds(CLOCK_MONOTONIC) }

    @inline(__always) @inlinable
    public static func nowMs() -> UInt64 { nowNs() / 1_000_000 }

    /// What to add to a monotonic time to get the wall-clock time of the same instant: one
    /// value for the whole process (see `WallClockOffset`).
    public static func wallOffsetNs() -> UInt64 { WallClockOffset.current() }
}

/// The wall clock minus the monotonic clock. Both are slewed alike by NTP, so the difference
/// changes only when the wall clock steps; a fresh measurement differs from the last by the time
/// between its two reads (microseconds, or a whole preemption). Each forwarding thread converts
/// its records' times with it, and `--biflow` orients a conversation by comparing the two
/// directions' start times, which come from different threads: a SYN-ACK metered 30 µs after
/// its SYN must never look earlier. So the process keeps one offset, and a thread's measurement
/// replaces it only when it differs by more than `stepNs`: a real step.
public enum WallClockOffset {
    /// Smaller differences are measurement noise, larger ones a step of the wall clock.
    public static let stepNs: UInt64 = 1_000_000
    private static let shared = Atomic<UInt64>(0)

    /// The process's offset, after taking in a step of the wall clock if there was one.
    public static func current() -> UInt64 {
        let measured = measure()
        var stored = shared.load(ordering: .acquiring)
        while stored == 0 || distance(stored, measured) > stepNs {
            let (exchanged, original) = shared.compareExchange(
                expected: stored, desired: measured,
                ordering: .acquiringAndReleasing)
            if exchanged { return measured }
            stored = original
        }
        return stored
    }

    /// Wall minus monotonic, from the tightest of a few bracketed reads (wall, monotonic, wall):
    /// a read preempted between its clocks would be off by the preemption.
    static func measure() -> UInt64 {
        var best: (width: UInt64, offset: UInt64) = (.max, 0)
        for _ in 0 ..< 4 {
            let before = WallClock.nowNs()
            let mono = MonotonicClock.nowNs()
            let after = WallClock.nowNs()
            let width = after &- before
            if width < best.width { best = (width, (before &+ width / 2) &- mono) }
            if width < 10_000 { break }
        }
        return best.offset
    }

    private static func distance(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }
}

/// clock_gettime(2) of `clock`, in nanoseconds.
@inline(__always) @inlinable
func clockNanoseconds(_ clock: clockid_t) -> UInt64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
