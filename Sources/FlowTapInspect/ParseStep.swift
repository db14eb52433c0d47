/// What a parser made of the bytes at a stream's start, when it writes its facts where its
/// caller keeps them (the flow table's one set of facts a parser, reused): returning the facts
/// inside the outcome copied them at every return and every match, and zeroed a new set each
/// call (HTTP's are 800 bytes; callgrind on `read` of a capture rich in named flows). The
/// parsers' `Outcome` forms, with the facts in them, are for the tests and the fuzzers.
public enum ParseStep: Sendable, Equatable {
    /// The message is this protocol's: its facts are written.
    case found
    /// More of the stream is needed: at least `bytes` from its start.
    case incomplete(bytes: Int)
    /// The bytes are not this protocol's.
    case notThis
    case malformed(InspectIssue)
}
