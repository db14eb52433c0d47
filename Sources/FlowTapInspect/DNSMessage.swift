import FlowTapBase

/// A DNS message (RFC 1035 §4.1), over UDP or, after its two-byte length (RFC 1035 §4.2.2;
/// RFC 7766), over TCP: its header and first question. Names are read label by label within
/// the message; a compression pointer (§4.1.4) must point before where it stands and at most
/// `maxPointers` are followed, so that a loop ends; a name longer than 255 bytes or a label
/// longer than 63 is malformed. Nothing is trusted that the message's bytes do not hold.
public enum DNSMessage {
    public static let maxPointers = 16

    public enum Outcome: Sendable, Equatable {
        case query(DNSFacts)
        case response(DNSFacts)
        /// A TCP stream that has not brought its first message whole: at least `bytes`.
        case incomplete(bytes: Int)
        case malformed(InspectIssue)
    }

    /// The message in a UDP payload.
    public static func parse(_ message: UnsafeRawBufferPointer) -> Outcome {
        var facts = DNSFacts()
        return outcome(parse(message, into: &facts), facts)
    }

    /// The first message of a TCP stream, after its length (`parseStream(_:into:)`).
    public static func parseStream(_ stream: UnsafeRawBufferPointer) -> Outcome {
        var facts = DNSFacts()
        return outcome(parseStream(stream, into: &facts), facts)
    }

    static func outcome(_ step: ParseStep, _ facts: DNSFacts) -> Outcome {
        switch step {
        case .found: facts.responseCode == nil ? .query(facts) : .response(facts)
        case let .incomplete(bytes): .incomplete(bytes: bytes)
        case .notThis: .malformed(.badDNSMessage)
        case let .malformed(issue): .malformed(issue)
        }
    }

    /// The message in a UDP payload, into `facts` (cleared first; a response's has its
    /// `responseCode`).
    public static func parse(_ message: UnsafeRawBufferPointer, into facts: inout DNSFacts) -> ParseStep {
        facts.clear()
        guard let p = message.baseAddress else { return .malformed(.badDNSMessage) }
        var ranOut = false
        return parse(p, length: message.count, ranOut: &ranOut, into: &facts)
    }

    /// The first message of a TCP stream, after its length. The header and the question lead
    /// the message, so they are read from what has come, whole or not: a long response (DNSSEC,
    /// a zone transfer) is named from its first segment, where waiting for all of it gave it up
    /// at the reassembly buffer's size, and a stream that is not DNS is told by its header. Only
    /// a question that runs past what has come waits for more.
    public static func parseStream(_ stream: UnsafeRawBufferPointer, into facts: inout DNSFacts) -> ParseStep {
        facts.clear()
        guard let p = stream.baseAddress, stream.count >= 2 else { return .incomplete(bytes: 2) }
        let length = Int(p.be16(0))
        guard length >= 12 else { return .malformed(.badDNSMessage) }
        let have = min(length, stream.count - 2)
        guard have >= 12 else { return .incomplete(bytes: 2 + 12) }
        var ranOut = false
        let step = parse(p + 2, length: have, ranOut: &ranOut, into: &facts)
        // At least one more byte; a question never needs more than its first few hundred.
        return ranOut && have < length ? .incomplete(bytes: stream.count + 1) : step
    }

    /// `ranOut`: the message was malformed only for ending early, as a stream's first bytes may.
    static func parse(_ p: UnsafeRawPointer, length: Int, ranOut: inout Bool, into facts: inout DNSFacts)
        -> ParseStep
    {
        guard length >= 12 else {
            ranOut = true
            return .malformed(.badDNSMessage)
        }
        facts.id = p.be16(0)
        let flags = p.be16(2)
        let isResponse = flags & 0x8000 != 0
        guard (flags >> 11) & 0xF == 0, p.be16(4) >= 1 else { return .malformed(.badDNSMessage) } // QUERY, a question
        var at = 12
        let issue = name(p, length: length, at: &at, into: &facts.queryName, ranOut: &ranOut)
        guard issue == .none else { return .malformed(issue) }
        guard at + 4 <= length else {
            ranOut = true
            return .malformed(.badDNSMessage)
        }
        facts.queryType = p.be16(at)
        if isResponse { facts.responseCode = UInt8(flags & 0xF) }
        return .found
    }

    /// The name at `at` into `name`, dotted; `at` ends past it (past the first pointer when it
    /// has one).
    static func name(_ p: UnsafeRawPointer, length: Int, at: inout Int, into name: inout BoundedText<255>)
        -> InspectIssue
    {
        var ranOut = false
        return Self.name(p, length: length, at: &at, into: &name, ranOut: &ranOut)
    }

    /// The same; `ranOut` when it was malformed only for ending at `length`.
    static func name(
        _ p: UnsafeRawPointer, length: Int, at: inout Int, into name: inout BoundedText<255>, ranOut: inout Bool
    ) -> InspectIssue {
        var position = at
        var pointers = 0
        var wire = 0 // the name's length on the wire, as RFC 1035 §2.3.4 bounds it
        var resumed: Int?
        while true {
            guard position < length else {
                ranOut = true
                return .badDNSMessage
            }
            let label = Int(p.u8(position))
            switch label & 0xC0 {
            case 0x00:
                if label == 0 {
                    at = resumed ?? position + 1
                    if name.isEmpty { name.append(UInt8(ascii: ".")) }
                    return .none
                }
                guard position + 1 + label <= length else {
                    ranOut = true
                    return .badDNSMessage
                }
                wire += label + 1
                guard wire <= 254 else { return .dnsNameTooLong }
                if !name.isEmpty { name.append(UInt8(ascii: ".")) }
                name.append(p + position + 1, length: label)
                position += 1 + label
            case 0xC0:
                guard position + 2 <= length else {
                    ranOut = true
                    return .badDNSMessage
                }
                let target = Int(p.be16(position) & 0x3FFF)
                pointers += 1
                guard pointers <= maxPointers, target < position else { return .dnsPointerLoop }
                if resumed == nil { resumed = position + 2 }
                position = target
            default:
                return .badDNSMessage // 0x40 and 0x80: extended label types, obsolete
            }
        }
    }
}
