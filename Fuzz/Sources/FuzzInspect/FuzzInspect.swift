import FlowTapInspect

/// One fuzz input is a flow's first bytes, as the application-visibility parsers take them:
/// every parser reads it (the ClientHello, a DNS message over UDP and over TCP, an HTTP request
/// and status line, an SSH banner), and the ClientHello parser reads it again cut at a point
/// its last byte picks, as a stream that has not all arrived. Under AddressSanitizer no read
/// may leave the input or the scratch buffer; a cut stream is complete only if the whole one
/// is, with the same facts, or it asks for more than it has. A JA4 memo kept across inputs (as
/// a forwarder keeps one across flows) must give every hello the fingerprint it has without
/// one. libFuzzer calls from one thread, so the scratch buffer and the memo are shared by no one.
nonisolated(unsafe) let scratch = UnsafeMutableRawBufferPointer.allocate(
    byteCount: ClientHello.maxHandshake, alignment: 8)
nonisolated(unsafe) let memo = JA4Memo.allocate()

func fuzzInspect(_ input: UnsafeRawBufferPointer) -> CInt {
    _ = DNSMessage.parse(input)
    if case let .incomplete(bytes) = DNSMessage.parseStream(input) { precondition(bytes > input.count) }
    if case let .incomplete(bytes) = HTTPMessage.request(input) { precondition(bytes > input.count) }
    _ = HTTPMessage.response(input)
    _ = SSHBanner.recognise(input)
    let whole = ClientHello.parse(input, scratch: scratch)
    precondition(ClientHello.parse(input, scratch: scratch, memo: memo) == whole, "the memo changed a hello's facts")
    guard let last = input.last, input.count > 1 else { return 0 }
    let cut = Int(last) * input.count / 256
    let part = ClientHello.parse(UnsafeRawBufferPointer(rebasing: input[..<cut]), scratch: scratch)
    switch part {
    case let .incomplete(bytes):
        precondition(bytes > cut, "a cut stream asked for no more than it had")
    case .complete:
        precondition(part == whole, "a cut stream's hello differs from the whole stream's")
    case .notTLS, .malformed:
        break
    }
    return 0
}
