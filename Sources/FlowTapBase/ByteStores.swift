// Unaligned big-endian stores into an export message. Callers check bounds first (the encoders
// reserve a record's whole size before writing it); these do not.
extension UnsafeMutableRawPointer {
    @inline(__always) @inlinable package func put16(_ v: UInt16, at offset: Int = 0) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) @inlinable package func put32(_ v: UInt32, at offset: Int = 0) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inline(__always) @inlinable package func put64(_ v: UInt64, at offset: Int = 0) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt64.self)
    }
    @inline(__always) @inlinable package func put24(_ v: UInt32, at offset: Int = 0) {
        storeBytes(of: UInt8(truncatingIfNeeded: v >> 16), toByteOffset: offset, as: UInt8.self)
        storeBytes(of: UInt16(truncatingIfNeeded: v).bigEndian, toByteOffset: offset + 1, as: UInt16.self)
    }
    /// A MAC kept in memory order in the low six bytes of `v`.
    @inline(__always) @inlinable package func putMAC(_ v: UInt64) {
        storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        storeBytes(of: UInt16(truncatingIfNeeded: v >> 32), toByteOffset: 4, as: UInt16.self)
    }
}
