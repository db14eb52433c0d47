import FlowTapBase
import FlowTapDecode
import FlowTapMeter

/// `--match FILTER` of `show flows` and `expire`: space-separated `field=value` terms, all of
/// which must hold. Fields: src, dst (an address), sport, dport (a port; ICMP's type/code is
/// dport), proto (a number, or tcp, udp, icmp, icmpv6).
public struct FlowFilter: Sendable {
    struct Address: Sendable { var w0: UInt64, w1: UInt64, version: UInt8 }
    var source: Address?
    var destination: Address?
    var sourcePort: UInt16?
    var destinationPort: UInt16?
    var proto: UInt8?

    public static let fields = ["src", "dst", "sport", "dport", "proto"]

    public init(parsing text: String) throws(SetupError) {
        for term in text.split(separator: " ") where !term.isEmpty {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw SetupError(
                    "filter term '\(term)' is not FIELD=VALUE",
                    fix: "write terms such as src=10.0.0.1 dport=443 proto=tcp")
            }
            let (field, value) = (parts[0], parts[1])
            switch field {
            case "src", "dst":
                guard let address = IPAddress(value) else {
                    throw SetupError(
                        "filter \(field)=\(value) is not an IP address",
                        fix: "give an IPv4 or IPv6 address, e.g. \(field)=10.0.0.1")
                }
                let words = OwnExportFilter.words(address)
                let a = Address(w0: words.0, w1: words.1, version: address.isIPv6 ? 6 : 4)
                if field == "src" { source = a } else { destination = a }
            case "sport", "dport":
                guard let port = UInt16(value) else {
                    throw SetupError("filter \(field)=\(value) is not a port", fix: "give 0 to 65535")
                }
                if field == "sport" { sourcePort = port } else { destinationPort = port }
            case "proto":
                let names: [String: UInt8] = ["tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132]
                guard let p = names[value.lowercased()] ?? UInt8(value) else {
                    throw SetupError(
                        "filter proto=\(value) is not a protocol", fix: "give tcp, udp, icmp, icmpv6 or a number")
                }
                proto = p
            default:
                throw SetupError("unknown filter field '\(field)'", fix: "use \(Self.fields.joined(separator: ", "))")
            }
        }
    }

    public func matches(_ key: FlowKey) -> Bool {
        if let s = source, key.w0 != s.w0 || key.w1 != s.w1 || key.ipVersion != s.version { return false }
        if let d = destination, key.w2 != d.w0 || key.w3 != d.w1 || key.ipVersion != d.version { return false }
        if let p = sourcePort, key.sourcePort != p { return false }
        if let p = destinationPort, key.destinationPort != p { return false }
        if let p = proto, key.ipProtocol != p { return false }
        return true
    }
}

extension FlowKey {
    /// The source and destination as text (IPv4 or IPv6 by the key's version; "-" for non-IP).
    public var addresses: (source: String, destination: String) {
        func text(_ a: UInt64, _ b: UInt64) -> String {
            switch ipVersion {
            case 4: return IPv4Address(UInt32(bigEndian: UInt32(truncatingIfNeeded: a))).description
            case 6:
                var bytes = [UInt8](repeating: 0, count: 16)
                withUnsafeBytes(of: a) { for i in 0 ..< 8 { bytes[i] = $0[i] } }
                withUnsafeBytes(of: b) { for i in 0 ..< 8 { bytes[8 + i] = $0[i] } }
                return IPv6Address(bytes: bytes).description
            default: return "-"
            }
        }
        return (text(w0, w1), text(w2, w3))
    }
}
