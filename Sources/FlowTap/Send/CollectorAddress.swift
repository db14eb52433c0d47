import Glibc

/// Where records go: `--collector HOST[:PORT]`. HOST is an IPv4 address or a name that
/// resolves to one; PORT defaults to the IPFIX port, 4739 (RFC 7011 §10.3.1).
public struct CollectorAddress: Sendable, Equatable, CustomStringConvertible {
    public static let defaultIPFIXPort: UInt16 = 4739

    public let host: IPv4Address
    public let port: UInt16

    public init(host: IPv4Address, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    public init(parsing text: String) throws(SetupError) {
        var rest = Substring(text)
        if let scheme = rest.firstRange(of: "://") {
            let format = rest[..<scheme.lowerBound].lowercased()
            guard format == "ipfix" else {
                throw SetupError("collector '\(text)' asks for format '\(format)', which this flowtap cannot export yet",
                                 fix: "use ipfix://HOST:PORT or leave the format out")
            }
            rest = rest[scheme.upperBound...]
        }
        if rest.hasPrefix("[") || rest.filter({ $0 == ":" }).count > 1 {
            throw SetupError("collector '\(text)' is an IPv6 address, and this flowtap exports over IPv4 only",
                             fix: "give the collector's IPv4 address, e.g. --collector 10.0.0.2:4739")
        }
        var port = Self.defaultIPFIXPort
        var hostText = rest
        if let colon = rest.lastIndex(of: ":") {
            hostText = rest[..<colon]
            guard let p = UInt16(rest[rest.index(after: colon)...]), p > 0 else {
                throw SetupError("collector '\(text)' has no valid port", fix: "write it as HOST:PORT with PORT from 1 to 65535, e.g. 10.0.0.2:4739")
            }
            port = p
        }
        guard !hostText.isEmpty else {
            throw SetupError("collector '\(text)' has no host", fix: "write it as HOST:PORT, e.g. 10.0.0.2:4739")
        }
        guard let host = IPv4Address(String(hostText)) ?? Self.resolve(String(hostText)) else {
            throw SetupError("collector host '\(hostText)' is neither an IPv4 address nor a name that resolves to one",
                             fix: "give an address such as 10.0.0.2:4739")
        }
        self.init(host: host, port: port)
    }

    /// getaddrinfo(3) restricted to IPv4.
    static func resolve(_ name: String) -> IPv4Address? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let sa = first.pointee.ai_addr else { return nil }
        return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
            IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
        }
    }
}
