/// What a DNS message (RFC 1035 §4.1) tells of its flow: the question's name and type, and,
/// in a response, its code.
public struct DNSFacts: Sendable, Equatable, BitwiseCopyable {
    /// The question's name, dotted, as sent (no trailing dot; "." for the root).
    public var queryName = BoundedText<255>()
    public var queryType: UInt16 = 0
    /// RCODE of a response (0 no error, 3 NXDOMAIN); nil in a query.
    public var responseCode: UInt8?
    public var id: UInt16 = 0

    public init() {}

    /// As new (a parser reusing the facts clears them first).
    public mutating func clear() {
        queryName.clear()
        queryType = 0
        responseCode = nil
        id = 0
    }
}
