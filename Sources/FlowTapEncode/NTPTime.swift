/// dateTimeMicroseconds and dateTimeNanoseconds (RFC 7011 §6.1.9–10): the NTP timestamp format,
/// 32 bits of seconds since 1900 and 32 bits of fraction in units of 2^-32 s (not raw
/// nanoseconds, VPP's mistake).
public enum NTPTime {
    /// Seconds from 1900-01-01 to 1970-01-01.
    public static let unixEpoch: UInt64 = 2_208_988_800

    public static func nanoseconds(_ ns: UInt64) -> UInt64 {
        let seconds = ns / 1_000_000_000 + unixEpoch
        let fraction = ((ns % 1_000_000_000) << 32) / 1_000_000_000
        return (seconds & 0xFFFF_FFFF) << 32 | fraction
    }

    /// Microsecond resolution: the 11 low fraction bits are zero (§6.1.9), so the fraction is
    /// rounded to the nearest 2^-21 s (≈ 0.48 µs), carrying into the seconds.
    public static func microseconds(_ ns: UInt64) -> UInt64 {
        let t = nanoseconds(ns - ns % 1000)
        return (t &+ 0x400) & ~0x7FF
    }
}
