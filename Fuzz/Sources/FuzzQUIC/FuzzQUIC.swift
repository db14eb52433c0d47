import FlowTapInspect

/// One fuzz input is a UDP payload of a flow that opens with a QUIC long header, or (when its
/// first byte is 0) the plaintext of an opened Initial. A datagram goes through
/// `QUICInitial.open` as the meter calls it, with its first DCID as the flow's original one; a
/// plaintext through the frame reader, whose CRYPTO frames are put together by offset (as the
/// reassembly buffer does, within its bytes) and read as a ClientHello. Random bytes almost
/// never carry a valid tag, so the plaintext half is how the frame reader and the hello behind
/// it get fuzzed; the seeds (corpus-quic/) are real Initials of aioquic, v1 and v2, a hello over
/// three, servers' datagrams, and their plaintexts.
nonisolated(unsafe) let stream = UnsafeMutableRawBufferPointer.allocate(byteCount: 8160, alignment: 8)

func fuzzQUIC(_ input: UnsafeRawBufferPointer) -> CInt {
    guard let first = input.first else { return 0 }
    var reach = 0
    let place = { (crypto: UnsafeBufferPointer<QUICInitial.CryptoFrame>) in
        for frame in crypto where frame.offset <= reach && frame.offset + frame.data.count <= stream.count {
            UnsafeMutableRawBufferPointer(rebasing: stream[frame.offset ..< frame.offset + frame.data.count])
                .copyMemory(from: frame.data)
            reach = max(reach, frame.offset + frame.data.count)
        }
    }
    if first == 0 {
        let plain = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let outcome = QUICInitial.cryptoFrames(plain, QUICInitial.version1, plain) { _, _, crypto in place(crypto) }
        if case .opened = outcome {} else if case .malformed = outcome {} else { preconditionFailure("\(outcome)") }
    } else {
        var decryptions = 0
        let dcid = input.count > 6 ? UnsafeRawBufferPointer(rebasing: input[6 ..< min(input.count, 6 + 20)]) : nil
        _ = QUICInitial.open(input, originalDCID: dcid, decryptions: &decryptions) { _, _, crypto in place(crypto) }
        precondition(decryptions <= 2 * QUICInitial.maxPackets)
    }
    switch ClientHello.handshake(UnsafeRawBufferPointer(rebasing: stream[..<reach])) {
    case let .incomplete(bytes): precondition(bytes > reach, "an incomplete hello asked for no more than it had")
    default: break
    }
    return 0
}
