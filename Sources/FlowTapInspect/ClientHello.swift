import FlowTapBase

/// The TLS ClientHello at the start of a client's byte stream (RFC 8446 §4.1.2; RFC 5246
/// §7.4.1.2 for TLS 1.2 and earlier, whose hello may carry no extensions), on any port: its
/// records (RFC 8446 §5.1) put together, since a large hello spans several TCP segments and may
/// span several records, and its fields read within their stated lengths, each of which is
/// checked against what holds it. A stream that does not begin with a handshake record is not
/// TLS; one that does but breaks a length is malformed; neither is waited for.
public enum ClientHello {
    /// The most handshake bytes put together: a hello larger than this is given up
    /// (`InspectIssue.helloTooLarge`). Browsers' hellos with post-quantum key shares are about
    /// 1.8 KB; 16 KiB is TLS's largest record.
    public static let maxHandshake = 16_384

    public enum Outcome: Sendable, Equatable {
        /// The stream does not start with a TLS handshake record carrying a ClientHello.
        case notTLS
        /// More of the stream is needed: at least `bytes` from its start.
        case incomplete(bytes: Int)
        case complete(ClientHelloFacts)
        case malformed(InspectIssue)
    }

    /// Reads the ClientHello at the start of `stream` (the client's bytes from the first), with
    /// `scratch` (at least `maxHandshake` bytes) to put a hello split over records together.
    /// `transport`: "t" for TLS over TCP, "q" for QUIC's CRYPTO frames (JA4's first character);
    /// `memo`: JA4's hashes already computed.
    public static func parse(
        _ stream: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
        transport: UInt8 = UInt8(ascii: "t"), memo: JA4Memo? = nil
    ) -> Outcome {
        var facts = ClientHelloFacts()
        return outcome(parse(stream, scratch: scratch, transport: transport, memo: memo, into: &facts), facts)
    }

    /// Reads the ClientHello at the start of a QUIC stream (`handshake(_:memo:into:)`).
    public static func handshake(_ stream: UnsafeRawBufferPointer, memo: JA4Memo? = nil) -> Outcome {
        var facts = ClientHelloFacts()
        return outcome(handshake(stream, memo: memo, into: &facts), facts)
    }

    static func outcome(_ step: ParseStep, _ facts: ClientHelloFacts) -> Outcome {
        switch step {
        case .found: .complete(facts)
        case let .incomplete(bytes): .incomplete(bytes: bytes)
        case .notThis: .notTLS
        case let .malformed(issue): .malformed(issue)
        }
    }

    /// `parse(_:scratch:transport:memo:)`, the hello's facts into `facts` (cleared first).
    public static func parse(
        _ stream: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
        transport: UInt8 = UInt8(ascii: "t"), memo: JA4Memo? = nil, into facts: inout ClientHelloFacts
    ) -> ParseStep {
        facts.clear()
        guard let base = stream.baseAddress, stream.count >= 1 else { return .incomplete(bytes: 5) }
        guard base.u8(0) == 0x16 else { return .notThis }
        guard stream.count >= 5 else { return .incomplete(bytes: 5) }
        guard base.u8(1) == 3 else { return .notThis }
        let room = min(scratch.count, maxHandshake)
        guard let out = scratch.baseAddress, room >= 4 else { return .malformed(.helloTooLarge) }
        // The common case, a hello whole in the first record: read where it is. The loop below
        // would take the same bytes, copied.
        if stream.count >= 9, base.u8(5) == 1 {
            let length = Int(base.be16(3))
            let body = Int(base.be16(7)) | Int(base.u8(6)) << 16
            if length <= 16_384, body >= 38, body + 4 <= room, body + 4 <= length, stream.count >= 9 + body {
                return Self.body(base + 9, length: body, transport: transport, memo: memo, into: &facts)
            }
        }
        // Records, one after another, until the handshake message is whole (copied up to
        // `room` bytes: what follows the hello in its record is copied too, and ignored).
        var assembled = 0
        var needed = 0
        var offset = 0
        while needed == 0 || assembled < needed {
            guard stream.count >= offset + 5 else { return .incomplete(bytes: offset + 5) }
            guard base.u8(offset) == 0x16, base.u8(offset + 1) == 3 else { return .malformed(.badTLSRecord) }
            let length = Int(base.be16(offset + 3))
            guard length > 0, length <= 16_384 else { return .malformed(.badTLSRecord) }
            let there = min(length, stream.count - offset - 5)
            let take = min(there, room - assembled)
            (out + assembled).copyMemory(from: base + offset + 5, byteCount: take)
            assembled += take
            if needed == 0 && assembled >= 4 {
                guard out.load(as: UInt8.self) == 1 else { return .notThis }
                let body = Int(UnsafeRawPointer(out).be16(2)) | Int(out.load(fromByteOffset: 1, as: UInt8.self)) << 16
                guard body >= 38 else { return .malformed(.badClientHello) }
                guard body + 4 <= room else { return .malformed(.helloTooLarge) }
                needed = body + 4
            }
            if needed != 0 && assembled >= needed { break }
            guard there == length else { return .incomplete(bytes: offset + 5 + length) }
            guard assembled < room else { return .malformed(.helloTooLarge) }
            offset += 5 + length
        }
        return body(UnsafeRawPointer(out) + 4, length: needed - 4, transport: transport, memo: memo, into: &facts)
    }

    /// Reads the ClientHello at the start of `stream` when it holds handshake messages without
    /// TLS records, as QUIC's CRYPTO frames carry them (RFC 9001 §4): JA4's transport is "q".
    public static func handshake(
        _ stream: UnsafeRawBufferPointer, memo: JA4Memo? = nil, into facts: inout ClientHelloFacts
    ) -> ParseStep {
        facts.clear()
        guard let p = stream.baseAddress, stream.count >= 4 else { return .incomplete(bytes: 4) }
        guard p.u8(0) == 1 else { return .notThis }
        let body = Int(p.be16(2)) | Int(p.u8(1)) << 16
        guard body >= 38 else { return .malformed(.badClientHello) }
        guard body + 4 <= maxHandshake else { return .malformed(.helloTooLarge) }
        guard stream.count >= body + 4 else { return .incomplete(bytes: body + 4) }
        return Self.body(p + 4, length: body, transport: UInt8(ascii: "q"), memo: memo, into: &facts)
    }

    /// The ClientHello's body, `length` bytes at `p`, into `facts` (cleared).
    static func body(
        _ p: UnsafeRawPointer, length end: Int, transport: UInt8, memo: JA4Memo?, into facts: inout ClientHelloFacts
    ) -> ParseStep {
        // The memo's room for the fingerprint's lists when there is a memo (the forwarding
        // thread's): a fresh value's 832 bytes were zeroed and copied twice a hello.
        guard let memo else {
            var ja4 = JA4.Ingredients(transport: transport)
            return body(p, length: end, ja4: &ja4, memo: nil, into: &facts)
        }
        let ingredients = memo.ingredients
        ingredients.pointee.reset(transport: transport)
        return body(p, length: end, ja4: &ingredients.pointee, memo: memo, into: &facts)
    }

    /// The same, the fingerprint's lists gathered in `ja4` (empty).
    static func body(
        _ p: UnsafeRawPointer, length end: Int, ja4: inout JA4.Ingredients, memo: JA4Memo?,
        into facts: inout ClientHelloFacts
    ) -> ParseStep {
        let legacyVersion = p.be16(0)
        var at = 2 + 32
        let sessionID = Int(p.u8(at))
        at += 1 + sessionID
        guard sessionID <= 32, at + 2 <= end else { return .malformed(.badClientHello) }
        let cipherBytes = Int(p.be16(at))
        at += 2
        guard cipherBytes % 2 == 0, at + cipherBytes <= end else { return .malformed(.badClientHello) }
        ja4.ciphers(p + at, bytes: cipherBytes)
        at += cipherBytes
        guard at + 1 <= end else { return .malformed(.badClientHello) }
        at += 1 + Int(p.u8(at))
        guard at <= end else { return .malformed(.badClientHello) }
        var highest: UInt16 = 0
        if at + 2 <= end {
            let extensionsEnd = at + 2 + Int(p.be16(at))
            at += 2
            guard extensionsEnd <= end else { return .malformed(.badClientHello) }
            while at < extensionsEnd {
                guard at + 4 <= extensionsEnd else { return .malformed(.badClientHello) }
                let type = p.be16(at)
                let dataLength = Int(p.be16(at + 2))
                let data = at + 4
                at = data + dataLength
                guard at <= extensionsEnd else { return .malformed(.badClientHello) }
                guard !JA4.isGREASE(type) else { continue }
                ja4.extensionType(type)
                switch type {
                case 0x0000:
                    ja4.hasServerName = true
                    guard serverName(p + data, length: dataLength, into: &facts.serverName) else {
                        return .malformed(.badClientHello)
                    }
                case 0x0010:
                    guard dataLength >= 2, Int(p.be16(data)) + 2 <= dataLength else {
                        return .malformed(.badClientHello)
                    }
                    let listEnd = data + 2 + Int(p.be16(data))
                    if data + 2 < listEnd {
                        let first = Int(p.u8(data + 2))
                        guard data + 3 + first <= listEnd else { return .malformed(.badClientHello) }
                        facts.alpn.set(p + data + 3, length: first)
                        if first > 0 { ja4.alpn(first: p.u8(data + 3), last: p.u8(data + 2 + first)) }
                    }
                case 0x002B:
                    guard dataLength >= 1, Int(p.u8(data)) + 1 <= dataLength, p.u8(data) % 2 == 0 else {
                        return .malformed(.badClientHello)
                    }
                    for i in stride(from: data + 1, to: data + 1 + Int(p.u8(data)), by: 2) {
                        let v = p.be16(i)
                        if !JA4.isGREASE(v) && v > highest { highest = v }
                    }
                case 0x000D:
                    guard dataLength >= 2, Int(p.be16(data)) + 2 <= dataLength, p.be16(data) % 2 == 0 else {
                        return .malformed(.badClientHello)
                    }
                    ja4.signatureAlgorithms(p + data + 2, bytes: Int(p.be16(data)))
                default:
                    break
                }
            }
        }
        facts.version = highest != 0 ? highest : legacyVersion
        ja4.version = facts.version
        ja4.write(into: &facts.ja4, memo: memo)
        return .found
    }

    /// The first host_name of a server_name extension's list (RFC 6066 §3); false when the
    /// list overruns the extension.
    static func serverName(_ p: UnsafeRawPointer, length: Int, into name: inout BoundedText<255>) -> Bool {
        guard length >= 2 else { return false }
        let listEnd = 2 + Int(p.be16(0))
        guard listEnd <= length else { return false }
        var at = 2
        while at < listEnd {
            guard at + 3 <= listEnd else { return false }
            let nameLength = Int(p.be16(at + 1))
            guard at + 3 + nameLength <= listEnd else { return false }
            if p.u8(at) == 0 && name.isEmpty { name.set(p + at + 3, length: nameLength) }
            at += 3 + nameLength
        }
        return true
    }
}
