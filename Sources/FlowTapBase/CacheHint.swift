import CFlowTapLinux

/// Hints to the processor's caches, for loops that know the next address they will read long
/// before they read it (`flowtap read`'s expiry: the flow table's entries and labels, which are
/// out of the caches by the time a flow's deadline comes).
public enum CacheHint {
    /// Starts fetching the cache line at `address`. Any address will do: a prefetch never faults.
    @inline(__always) @inlinable
    public static func prefetch(_ address: UnsafeRawPointer) { cft_prefetch(address) }
}
