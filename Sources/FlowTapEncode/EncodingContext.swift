/// What encoders need beyond the record itself.
public struct EncodingContext: Sendable, Equatable {
    /// Wall-clock milliseconds at which the exporter started: the zero of sysUptime (NetFlow
    /// v9/v5) and the value of systemInitTimeMilliseconds (IE 160).
    public var systemInitMs: UInt64

    public init(systemInitMs: UInt64) { self.systemInitMs = systemInitMs }

    /// sysUptime at wall-clock `ms`: milliseconds since the start, modulo 2^32. Header and
    /// records use this one function, so they wrap together after 49.7 days and a collector's
    /// `unix_secs·1000 − (sysUptime − switched)` stays right across the wrap.
    @inline(__always)
    public func uptime(at ms: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: ms &- systemInitMs)
    }
}
