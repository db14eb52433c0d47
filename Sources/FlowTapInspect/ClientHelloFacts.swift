/// What a TLS ClientHello tells of its connection: the server it names, the first application
/// protocol it offers, the highest version it offers, and its JA4 fingerprint; over QUIC,
/// the QUIC version too.
public struct ClientHelloFacts: Sendable, Equatable, BitwiseCopyable {
    /// The server_name extension's host name (RFC 6066 §3); under ECH, the outer name.
    public var serverName = BoundedText<255>()
    /// The first protocol of the ALPN extension (RFC 7301), e.g. "h2".
    public var alpn = BoundedText<32>()
    /// The highest version offered: supported_versions' (RFC 8446 §4.2.1), else the hello's
    /// legacy version. 0x0304 is TLS 1.3.
    public var version: UInt16 = 0
    /// The JA4 TLS client fingerprint (FoxIO's JA4 specification), e.g.
    /// "t13d1516h2_8daaf6152771_e5627efa2ab1"; empty when the hello lists more ciphers,
    /// extensions or signature algorithms than `JA4.Ingredients` holds.
    public var ja4 = BoundedText<36>()
    /// The QUIC version of the Initials that carried the hello (1, or 0x6b3343cf for v2); 0
    /// for TLS over TCP.
    public var quicVersion: UInt32 = 0

    public init() {}

    /// As new (a parser reusing the facts clears them first).
    public mutating func clear() {
        serverName.clear()
        alpn.clear()
        version = 0
        ja4.clear()
        quicVersion = 0
    }
}
