// Unaligned big-endian loads from a raw frame. Callers check bounds first; these do not, so the
// per-frame path pays for each check once.
extension UnsafeRawPointer {
    @inline(__always) @inlinable package func u8(_ offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }
    @inline(__always) @inlinable package func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) @inlinable package func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    /// Eight bytes in memory (network) order, for addresses that are stored, hashed and
    /// written back without being interpreted.
    @inline(__always) @inlinable package func raw64(_ offset: Int) -> UInt64 {
        loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }
    @inline(__always) @inlinable package func raw32(_ offset: Int) -> UInt32 {
        loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }
    /// A 48-bit MAC address in memory order, in the low six bytes.
    @inline(__always) @inlinable package func mac(_ offset: Int) -> UInt64 {
        UInt64(loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            | UInt64(loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)) << 32
    }
}
