import FlowTapBase
import FlowTapDevice
import FlowTapMeter

/// One fuzz input is a capture file: pcap or pcapng headers, records and blocks, as
/// `flowtap read` takes them. Every frame the reader hands out is metered as `read` meters it
/// (its wire length, ordered expiry), so that a frame whose bounds lie is read whole, under
/// AddressSanitizer, and the reader must end: in its end, or a `CaptureError` that names a
/// packet and an offset inside the input.
func fuzzCapture(_ input: UnsafeRawBufferPointer) -> CInt {
    var reader = CaptureReader(.memory(input))
    var meter = PacketMeter(
        records: [.l2, .l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 1, activeTimeoutSeconds: 2),
        maxFlows: 64, point: ObservationPoint(ingressInterface: 0, egressInterface: 0, direction: 0),
        orderedExpiry: true, inspect: true)
    var frames: UInt64 = 0
    while true {
        switch reader.next() {
        case let .frame(frame):
            frames += 1
            precondition(
                frame.length >= 0 && frame.length <= CaptureParser.maxPacket + 14, "a frame longer than any record")
            var sum: UInt8 = 0
            for i in 0 ..< frame.length { sum &+= frame.bytes.load(fromByteOffset: i, as: UInt8.self) }
            _ = sum
            precondition(frame.originalLength >= frame.length, "a wire length below the bytes captured")
            meter.meterCaptured(
                frame.bytes, length: frame.length, wireLength: frame.originalLength, now: frame.timestampNs)
            _ = meter.cache.drainPending { _ in true }
            meter.cache.expireInOrder(now: frame.timestampNs) { _ in true }
        case .otherLinkType, .cutLinkHeader:
            frames += 1
        case .end:
            precondition(reader.packets == frames, "every packet counted")
            _ = meter.cache.expireAll(reason: .forcedEnd) { _ in true }
            precondition(meter.cache.liveFlows == 0, "every flow reported at the end")
            return 0
        case let .failure(error):
            precondition(error.offset <= UInt64(input.count), "an error offset inside the input")
            precondition(error.packet == reader.packets + 1, "the error names the next packet")
            return 0
        }
        precondition(frames <= UInt64(input.count), "a packet per byte at most")
    }
}
