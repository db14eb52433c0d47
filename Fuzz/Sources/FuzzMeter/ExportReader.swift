import FlowTapBase
import FlowTapDecode
import FlowTapEncode

/// Reads an export message's framing as a collector would, independently of the encoders:
/// the header's version and length (or count), then every set (FlowSet) in turn, each at least
/// its own header long, ending exactly at the message's end. A violation stops the fuzzer.
enum ExportReader {
    static func be16(_ m: [UInt8], _ i: Int) -> Int { Int(m[i]) << 8 | Int(m[i + 1]) }

    static func check(_ m: [UInt8], format: ExportFormat) {
        switch format {
        case .ipfix:
            precondition(m.count >= 16 && be16(m, 0) == 10, "IPFIX header")
            precondition(be16(m, 2) == m.count, "IPFIX length field is the message length")
            sets(m, from: 16, padded: false)
        case .v9:
            precondition(m.count >= 20 && be16(m, 0) == 9, "NetFlow v9 header")
            sets(m, from: 20, padded: true)
        case .v5:
            precondition(m.count >= 24 && be16(m, 0) == 5, "NetFlow v5 header")
            let n = be16(m, 2)
            precondition(n >= 1 && n <= 30 && m.count == 24 + 48 * n, "v5 count matches the records")
        }
    }

    /// `padded`: every set a multiple of 4 bytes (NetFlow v9's FlowSets; in IPFIX padding is
    /// optional, RFC 7011 §3.3.1, and flowtap's options template set has none).
    static func sets(_ m: [UInt8], from start: Int, padded: Bool) {
        var i = start
        while i < m.count {
            precondition(i + 4 <= m.count, "a set header past the end")
            let length = be16(m, i + 2)
            precondition(length >= 4 && i + length <= m.count, "a set length that lies")
            precondition(!padded || length % 4 == 0, "FlowSets are padded to 4 bytes")
            i += length
        }
        precondition(i == m.count, "sets end at the message's end")
    }
}
