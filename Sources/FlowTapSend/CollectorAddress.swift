import FlowTapBase
import FlowTapEncode
import Glibc

/// Where records go: `--collector [FORMAT://]HOST[:PORT]`. HOST is an IPv4 address, a bracketed
/// IPv6 address, or a name that resolves to an IPv4 address; PORT defaults to the format's.
public struct CollectorAddress: Sendable, Equatable, CustomStringConvertible {
    public let format: ExportFormat
    public let host: IPAddress
    public let port: UInt16
    /// `--output`: the files' path, where this "collector" is an IPFIX file (no host or port).
    public let file: String?

    public init(format: ExportFormat = .ipfix, host: IPAddress, port: UInt16? = nil) {
        self.format = format
        self.host = host
        self.port = port ?? format.defaultPort
        file = nil
    }

    /// The IPFIX files of `--output PATH`, as statistics, metrics and checkpoints name them.
    public init(file path: String) {
        format = .ipfix
        host = .v4(IPv4Address(0))
        port = 0
        file = path
    }

    public var description: String { file.map { "file://\($0)" } ?? "\(format)://\(host.withPort(port))" }

    /// Parses one `--collector`; `defaultFormat` (from `--format`) applies when none is given.
    public init(parsing text: String, defaultFormat: ExportFormat = .ipfix) throws(SetupError) {
        var rest = Substring(text)
        var format = defaultFormat
        if let scheme = rest.firstRange(of: "://") {
            let name = String(rest[..<scheme.lowerBound])
            guard let f = ExportFormat(name: name) else {
                throw SetupError(
                    "collector '\(text)' names an unknown format '\(name)'", fix: "use ipfix://, v9:// or v5://")
            }
            format = f
            rest = rest[scheme.upperBound...]
        }
        let hostText: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw SetupError(
                    "collector '\(text)' opens '[' without closing it",
                    fix: "write an IPv6 collector as [ADDR]:PORT, e.g. [fd00:9::2]:4739")
            }
            hostText = rest[rest.index(after: rest.startIndex) ..< close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else {
                    throw SetupError(
                        "collector '\(text)' has '\(after)' after the address", fix: "write it as [ADDR]:PORT")
                }
                portText = after.dropFirst()
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            throw SetupError(
                "collector '\(text)' looks like an IPv6 address without brackets",
                fix: "write it as [ADDR]:PORT, e.g. [fd00:9::2]:4739")
        } else if let colon = rest.lastIndex(of: ":") {
            hostText = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            hostText = rest
        }
        var port: UInt16?
        if let portText {
            guard let p = UInt16(portText), p > 0 else {
                throw SetupError(
                    "collector '\(text)' has no valid port",
                    fix: "write it as HOST:PORT with PORT from 1 to 65535, e.g. 10.0.0.2:\(format.defaultPort)")
            }
            port = p
        }
        guard !hostText.isEmpty else {
            throw SetupError(
                "collector '\(text)' has no host", fix: "write it as HOST:PORT, e.g. 10.0.0.2:\(format.defaultPort)")
        }
        guard let host = IPAddress(String(hostText)) ?? Self.resolve(String(hostText)).map(IPAddress.v4) else {
            throw SetupError(
                "collector host '\(hostText)' is neither an IP address nor a name that resolves to one",
                fix: "give an address such as 10.0.0.2:\(format.defaultPort) or [fd00::2]:\(format.defaultPort)")
        }
        self.init(format: format, host: host, port: port)
    }

    /// getaddrinfo(3) restricted to IPv4.
    static func resolve(_ name: String) -> IPv4Address? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let sa = first.pointee.ai_addr,
            case .v4(let address)? = SocketAddress(copying: sa, length: first.pointee.ai_addrlen).ipAddress
        else { return nil }
        return address
    }
}
