import FlowTapBase

/// Where `--metrics [ADDR:]PORT` listens: an IPv4 or IPv6 literal (IPv6 in brackets) and a
/// port, or a port alone (or `*:PORT`) for every address, as Prometheus exporters take
/// `--web.listen-address`.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// nil: every address (IPv6 and IPv4, or IPv4 alone where IPv6 is off).
    public var host: IPAddress?
    public var port: UInt16

    public init(host: IPAddress?, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(SetupError) {
        let usage = "give --metrics PORT, ADDR:PORT or [IPV6]:PORT, e.g. --metrics 9750 or --metrics 10.0.0.1:9750"
        var hostText: Substring?
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw SetupError("--metrics '\(text)' opens '[' without ']:PORT'", fix: usage)
            }
            hostText = text[text.index(after: text.startIndex) ..< close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            guard text.firstIndex(of: ":") == colon else {
                throw SetupError("--metrics '\(text)' has an IPv6 address without brackets", fix: usage)
            }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText), port > 0 else {
            throw SetupError("--metrics '\(text)' has no port from 1 to 65535", fix: usage)
        }
        self.port = port
        guard let hostText, !hostText.isEmpty, hostText != "*" else { host = nil; return }
        guard let host = IPAddress(String(hostText)) else {
            throw SetupError("--metrics '\(text)': '\(hostText)' is not an IPv4 or IPv6 address", fix: usage)
        }
        guard text.hasPrefix("[") == host.isIPv6 else {
            throw SetupError("--metrics '\(text)' has an IPv4 address in brackets", fix: usage)
        }
        self.host = host
    }

    /// `ADDR:PORT`, `[ADDR]:PORT`, or `*:PORT` for every address (as ss(8) shows it).
    public var description: String { host?.withPort(port) ?? "*:\(port)" }
}
