/// Retransmitted and out-of-order data segments, per flow direction, by one definition that a
/// capture's parser can follow exactly (netns-tests/tools/tcpinsight.py does):
///
/// - only segments with payload count; sequence numbers compare modulo 2^32 (RFC 1982);
/// - the flow's first data segment sets the high mark, the end of the highest data seen;
/// - a segment that starts at the high mark is in order; one beyond it leaves a gap, the hole,
///   which replaces any earlier one (one hole is tracked), and moves the mark;
/// - a segment that starts inside the hole is out of order: never seen, but late (a hole at
///   its front shrinks by it);
/// - any other segment that starts below the high mark is a retransmission: its start was seen.
///
/// So a segment lost after the probe and sent again counts as a retransmission, a segment
/// reordered or lost before the probe as out of order. Limits, by design of a bounded state: a
/// late segment for an older, replaced hole counts as a retransmission, and so does a 1-byte
/// TCP keep-alive (its sequence is one below the mark).
enum TCPSequence {
    /// Everything but the in-order segment, which `FlowCache.meter` handles inline.
    @inline(never)
    static func place(_ e: UnsafeMutablePointer<FlowEntry>, sequence: UInt32, length: UInt32) {
        let end = sequence &+ length
        guard e.pointee.state & FlowEntry.sawSequence != 0 else {
            e.pointee.state |= FlowEntry.sawSequence
            e.pointee.highSequence = end
            e.pointee.holeStart = end
            e.pointee.holeEnd = end
            return
        }
        let high = e.pointee.highSequence
        if after(sequence, high) {
            e.pointee.holeStart = high
            e.pointee.holeEnd = sequence
            e.pointee.highSequence = end
            return
        }
        if sequence == high {
            e.pointee.highSequence = end
            return
        }
        let start = e.pointee.holeStart, holeEnd = e.pointee.holeEnd
        if !after(start, sequence) && after(holeEnd, sequence) {
            e.pointee.outOfOrder &+= 1
            if sequence == start { e.pointee.holeStart = after(end, holeEnd) ? holeEnd : end }
        } else {
            e.pointee.retransmitted &+= 1
        }
        if after(end, high) { e.pointee.highSequence = end }
    }

    /// `a` comes after `b` in sequence space (RFC 1982 serial number arithmetic on 32 bits).
    @inline(__always)
    static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }
}
