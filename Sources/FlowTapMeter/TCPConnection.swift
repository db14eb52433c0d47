import FlowTapDecode
import FlowTapInspect

/// A TCP connection's start and end in its flow's entry, apart from the table mechanics of
/// `FlowCache`: SYN, FIN and RST, the close grace, and the reset notice to the other direction.
extension FlowCache {
    /// A packet with SYN, FIN or RST, or one of a flow still timing its handshake. One
    /// connection is one flow per direction: a FIN or RST marks the flow closing, and it stays
    /// for the close grace so that the closing ACKs and a retransmitted FIN join it (then it
    /// ends, "end of flow detected"); a SYN (or SYN/ACK) on a closing flow is a new connection
    /// on the same 5-tuple, so the old flow ends now and the SYN starts the next. With no close
    /// grace (`closeNs` 0) the FIN or RST ends it at once. A RST also closes the other
    /// direction's flow, through `resetNotices`.
    /// A closing flow's every packet comes here: one that comes after the close grace ends the
    /// flow first (`timedOut`), as the sweep would have.
    @inline(never)
    mutating func tcpControl(_ slot: Int, packets: UInt64, octets: UInt32, tcpFlags: UInt16, now: UInt64) {
        let entry = entries + slot
        if entry.pointee.closing { timedOut(slot, now: now) }
        if entry.pointee.closing && tcpFlags & TCPFlags.syn != 0 {
            report(slot, reason: .endOfFlowDetected)
            releaseApplication(entry)
            entry.pointee = FlowEntry.fresh(entry.pointee.key, now: now, dueNs: freshDueNs(now), app: freshApp)
            flowsCreated &+= 1
            if queue != nil { enqueue(slot, now: now) }
        }
        // One notice per connection: later RSTs of the flow (a reset storm) find the bit set.
        if tcpFlags & TCPFlags.rst != 0 && entry.pointee.tcpFlags & TCPFlags.rst == 0 { noticeReset(entry.pointee.key) }
        count(entry, packets: packets, octets: octets, tcpFlags: tcpFlags, now: now)
        TCPHandshake.time(entry, tcpFlags: tcpFlags, now: now)
        guard tcpFlags & (TCPFlags.fin | TCPFlags.rst) != 0 else { return }
        if policy.closeNs == 0 {
            report(slot, reason: .endOfFlowDetected)
            release(slot)
        } else if !entry.pointee.closing {
            markClosing(slot, now: now)
        }
    }

    /// The close grace brings the flow's deadline forward: its lower bound and, with ordered
    /// expiry, its queue item follow.
    mutating func markClosing(_ slot: Int, now: UInt64) {
        let entry = entries + slot
        entry.pointee.closing = true
        entry.pointee.dueNs = min(entry.pointee.dueNs, deadline(slot).atNs)
        if ordered { enqueue(slot, now: now) }
    }

    mutating func noticeReset(_ key: FlowKey) {
        guard let ring = resetNotices else { return }
        if !ring.push(key.reverseKey) { resetNoticesLost &+= 1 }
    }

    /// The other direction saw a RST of the connection whose flow in this direction is `key`
    /// (whatever its ToS, which the hash leaves out): the flow closes as if the RST had been
    /// its own (its close grace, then "end of flow detected"; at once with no grace, the record
    /// then in the outbox). No slot is made for a key that is not here.
    public mutating func closeForPeerReset(_ key: FlowKey) {
        let (tag, base) = place(of: key)
        var found = false
        for slot in base ..< base &+ Self.ways where tags[slot] == tag && entries[slot].key.equalsIgnoringTOS(key) {
            found = true
            if policy.closeNs == 0 {
                report(slot, reason: .endOfFlowDetected)
                release(slot)
            } else {
                // WORKAROUND(swiftc 6.3.1, TSan IR): through a pointer; `entries[slot].closing = true` made swiftc 6.3.1 emit
                // invalid IR under -sanitize=thread with debug info.
                let entry = entries + slot
                if !entry.pointee.closing { markClosing(slot, now: entry.pointee.lastNs) }
                entry.pointee.state &= ~FlowEntry.watching
            }
        }
        if found { peerResetsClosed &+= 1 } else { peerResetsUnmatched &+= 1 }
    }
}
