import FlowTapInspect

/// One fuzz input is a flow's first bytes, as the application-visibility parsers take them:
/// every parser reads it (the ClientHello, a DNS message over UDP and over TCP, an HTTP request
/// and status line, an SSH banner), and the ClientHello parser reads it again cut at a point
/// its last byte picks, as a stream that has not all arrived. Under AddressSanitizer no read
/// may leave the input or the scratch buffer; a cut stream is complete only if the whole one
/// is, with the same facts, or it asks for more than it has. A JA4 memo kept across inputs (as
/// a forwarder keeps one across flows) must give every hello the fingerprint it has without
/// one. A DNS stream read from its first bytes names what the whole stream names. Every parser's
/// facts come back whole from the packed fields records carry (`ApplicationDetail`), and from a
/// copy of the bytes those use. Facts written over the last input's, where a forwarder keeps
/// them (`ParseStep`), are the facts a fresh parse gives. libFuzzer calls from one thread, so
/// the scratch buffer, the memo and the kept facts are shared by no one.
nonisolated(unsafe) let scratch = UnsafeMutableRawBufferPointer.allocate(
    byteCount: ClientHello.maxHandshake, alignment: 8)
nonisolated(unsafe) let memo = JA4Memo.allocate()
nonisolated(unsafe) var keptTLS = ClientHelloFacts()
nonisolated(unsafe) var keptHTTP = HTTPFacts()
nonisolated(unsafe) var keptDNS = DNSFacts()

/// `facts` packed, unpacked, and copied as far as they use: the same.
func roundTrip(_ facts: ApplicationDetail.Facts) {
    var packed = ApplicationDetail(.tls, facts)
    precondition(packed.facts == facts, "packing changed the facts")
    var copy = ApplicationDetail(.http)
    withUnsafeMutablePointer(to: &copy) { target in
        withUnsafePointer(to: &packed) { ApplicationDetail.copy($0, to: target) }
    }
    precondition(copy == packed && copy.facts == facts, "a copy of the bytes in use changed the facts")
}

func fuzzInspect(_ input: UnsafeRawBufferPointer) -> CInt {
    let datagram = DNSMessage.parse(input)
    if case let .query(f) = datagram { roundTrip(.dns(f)) }
    precondition(
        (DNSMessage.parse(input, into: &keptDNS) == .found)
            == (datagram == .query(keptDNS) || datagram == .response(keptDNS)),
        "kept DNS facts differ from fresh ones")
    let stream = DNSMessage.parseStream(input)
    precondition(
        (DNSMessage.parseStream(input, into: &keptDNS) == .found)
            == (stream == .query(keptDNS) || stream == .response(keptDNS)),
        "kept DNS stream facts differ from fresh ones")
    switch stream {
    case let .incomplete(bytes): precondition(bytes > input.count)
    case let .query(f), let .response(f): roundTrip(.dns(f))
    case .malformed: break
    }
    let request = HTTPMessage.request(input)
    switch request {
    case let .incomplete(bytes): precondition(bytes > input.count)
    case let .request(f): roundTrip(.http(f))
    default: break
    }
    precondition(
        (HTTPMessage.request(input, into: &keptHTTP) == .found) == (request == .request(keptHTTP)),
        "kept HTTP facts differ from fresh ones")
    let response = HTTPMessage.response(input)
    precondition(
        (HTTPMessage.response(input, into: &keptHTTP) == .found) == (response == .response(keptHTTP.status)),
        "a kept HTTP status differs from a fresh one")
    _ = SSHBanner.recognise(input)
    let whole = ClientHello.parse(input, scratch: scratch)
    precondition(ClientHello.parse(input, scratch: scratch, memo: memo) == whole, "the memo changed a hello's facts")
    if case let .complete(f) = whole { roundTrip(.tls(f)) }
    precondition(
        (ClientHello.parse(input, scratch: scratch, memo: memo, into: &keptTLS) == .found)
            == (whole == .complete(keptTLS)),
        "kept TLS facts differ from fresh ones")
    guard let last = input.last, input.count > 1 else { return 0 }
    let cut = Int(last) * input.count / 256
    switch DNSMessage.parseStream(UnsafeRawBufferPointer(rebasing: input[..<cut])) {
    case let .query(f), let .response(f):
        // The header and question lead: what they name, the whole stream names.
        precondition(stream == .query(f) || stream == .response(f), "a DNS stream's first bytes named another")
    default:
        break
    }
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
