/// What an HTTP/1.x exchange (RFC 9112) tells of its flow: the request's method, target,
/// version, Host and User-Agent, and the response's status.
public struct HTTPFacts: Sendable, Equatable, BitwiseCopyable {
    public var method = BoundedText<16>()
    /// The request target, its first `capacity` bytes (`truncated` says when it was longer).
    public var target = BoundedText<255>()
    public var host = BoundedText<255>()
    public var userAgent = BoundedText<255>()
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version = BoundedText<8>()
    /// The response's status code; 0 before a response is seen.
    public var status: UInt16 = 0

    public init() {}

    /// As new (a parser reusing the facts clears them first).
    public mutating func clear() {
        method.clear()
        target.clear()
        host.clear()
        userAgent.clear()
        version.clear()
        status = 0
    }
}
