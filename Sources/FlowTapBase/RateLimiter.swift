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
