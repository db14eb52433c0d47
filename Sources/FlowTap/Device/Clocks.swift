import Glibc

/// Time since the Unix epoch, from clock_gettime(CLOCK_REALTIME) (a vDSO call, no system
/// call). Only what goes out in records and message headers is in this clock: it can step
/// (settimeofday, NTP), so nothing waits on it. Nanoseconds fit a UInt64 until 2554.
public enum WallClock {
    @inline(__always)
    public static func nowNs() -> UInt64 { clockNanoseconds(CLOCK_REALTIME) }

    @inline(__always)
    public static func nowMs() -> UInt64 { nowNs() / 1_000_000 }
}

/// Time that only moves forward, from clock_gettime(CLOCK_MONOTONIC) (a vDSO call): what flow
/// expiry, fragment timeouts, biflow pairing and the walker's timers measure, so that a step of
/// the wall clock in either direction neither freezes nor flushes them.
public enum MonotonicClock {
    @inline(__always)
    public static func nowNs() -> UInt64 { clockNanoseconds(CLOCK_MONOTONIC) }

    @inline(__always)
    public static func nowMs() -> UInt64 { nowNs() / 1_000_000 }

    /// What to add to a monotonic time to get the wall-clock time of the same instant, now.
    public static func wallOffsetNs() -> UInt64 { WallClock.nowNs() &- nowNs() }
}

/// clock_gettime(2) of `clock`, in nanoseconds.
@inline(__always)
func clockNanoseconds(_ clock: clockid_t) -> UInt64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
