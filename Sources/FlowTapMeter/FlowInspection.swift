import FlowTapDecode
import FlowTapInspect

/// Naming a flow from its first bytes (docs/application-visibility.md). Every packet of a flow
/// whose `app` still says `inspecting` comes here, out of line; the first message of its
/// direction decides: a label (and, where the parser gave fields, a label slot holding them),
/// or nothing. Either way the bit is cleared, and from then on the flow's packets pay the one
/// test of that bit. Each direction of a connection is its own flow and is named from its own
/// bytes: a client's flow by its request (ClientHello, HTTP request, DNS query), a server's by
/// its answer (ServerHello, status line, DNS response, or its SSH banner).
///
/// A message split over segments waits in a reassembly buffer (`ApplicationTable`), placed by
/// sequence number from the first data byte (known from the SYN, else the first segment seen),
/// so segments that come out of order still make the message. Nothing here waits: a message
/// that needs more than the buffer, a pool found empty, or too many segments gives up.
extension FlowCache {
    /// `start`: the frame from its link header; `transportEnd` and `ipEnd` offsets in it of the
    /// payload's start and of the IP packet's end.
    @inline(never)
    mutating func inspect(
        _ entry: UnsafeMutablePointer<FlowEntry>, _ start: UnsafeRawPointer, transportEnd: Int, ipEnd: Int,
        tcpFlags: UInt16, sequence: UInt32, tcpPayload: UInt32
    ) {
        // The key's fields are read in place: a copy of the key was a call to memcpy a segment.
        switch entry.pointee.key.ipProtocol {
        case 6:
            if tcpFlags & TCPFlags.syn != 0 {
                entry.pointee.streamStart = sequence &+ 1
                entry.pointee.app |= FlowEntry.startKnown
            }
            // A RST or FIN before the first message: nothing more will come.
            if tcpFlags & (TCPFlags.rst | TCPFlags.fin) != 0 && tcpFlags & TCPFlags.payload == 0 {
                return giveUp(entry, .none)
            }
            guard tcpFlags & TCPFlags.payload != 0 else { return }
            let length = Int(tcpPayload)
            guard transportEnd > 0, transportEnd + length <= ipEnd else { return giveUp(entry, .none) }
            stream(entry, sequence: sequence, start + transportEnd, length: length)
        case 17:
            let length = ipEnd - transportEnd
            guard transportEnd > 0, length > 0 else { return }
            let datagram = UnsafeRawBufferPointer(start: start + transportEnd, count: length)
            if Self.onDNSPort(entry) {
                let facts = apps.dnsFacts
                switch DNSMessage.parse(datagram, into: &facts.pointee) {
                case .found:
                    ApplicationDetail.set(apps.found, .dns, dns: facts)
                    label(entry, from: apps.found)
                case let .malformed(issue): giveUp(entry, issue)
                case .incomplete, .notThis: giveUp(entry, .badDNSMessage)
                }
                return
            }
            guard QUICInitial.longHeaderVersion(datagram) != nil else { return giveUp(entry, .none) }
            quic(entry, datagram)
        default:
            giveUp(entry, .none)
        }
    }

    /// A TCP data segment of a flow still being inspected.
    mutating func stream(
        _ entry: UnsafeMutablePointer<FlowEntry>, sequence: UInt32, _ data: UnsafeRawPointer, length: Int
    ) {
        let knows = entry.pointee.app & FlowEntry.startKnown != 0
        guard entry.pointee.app & FlowEntry.holdsSlot != 0 else {
            let first = knows ? entry.pointee.streamStart : sequence
            if sequence == first {
                // The common case: the message starts, and often ends, in this segment.
                let outcome = decide(Self.onDNSPort(entry), UnsafeRawBufferPointer(start: data, count: length))
                guard case .wait = outcome else { return conclude(entry, outcome) }
            } else if !(knows && TCPSequence.after(sequence, first)) {
                // Data from before the stream's start (a retransmission of what came before the
                // SYN was seen cannot be): the start was missed.
                return giveUp(entry, .none)
            }
            guard let index = apps.takeBuffer(base: first) else { return giveUp(entry, .none) }
            entry.pointee.appSlot = UInt32(index)
            entry.pointee.app |= FlowEntry.holdsSlot
            return place(entry, index, sequence: sequence, data, length: length)
        }
        place(entry, Int(entry.pointee.appSlot), sequence: sequence, data, length: length)
    }

    mutating func place(
        _ entry: UnsafeMutablePointer<FlowEntry>, _ index: Int, sequence: UInt32, _ data: UnsafeRawPointer, length: Int
    ) {
        guard let grew = apps.place(index, sequence: sequence, data, length: length) else {
            return giveUp(entry, .helloTooLarge)
        }
        if grew {
            let have = Int(apps.streams[index].contiguous)
            let outcome = decide(Self.onDNSPort(entry), UnsafeRawBufferPointer(start: apps.buffer(index), count: have))
            guard case .wait = outcome else { return conclude(entry, outcome) }
        }
        if apps.streams[index].segments >= ApplicationTable.maxSegments { giveUp(entry, .none) }
    }

    /// A datagram of a UDP flow that opens with a QUIC long header (any port). A client's
    /// Initials are opened (`QUICInitial`, within the budget) and their CRYPTO frames
    /// put together by offset, in the flow's first datagram alone when the hello fits it, else
    /// in a reassembly buffer kept until the hello is whole; the hello names the flow `quic`
    /// with TLS's fields. A server's first flight is `quic` without fields: its keys come from
    /// a connection ID only the client's flow saw.
    mutating func quic(_ entry: UnsafeMutablePointer<FlowEntry>, _ datagram: UnsafeRawBufferPointer) {
        let holds = entry.pointee.app & FlowEntry.holdsSlot != 0
        let index = Int(entry.pointee.appSlot)
        let stream = holds ? apps.streams + index : apps.quicStream
        let bytes = holds ? apps.buffer(index) : apps.quicBytes
        let tail = QUICTail(bytes)
        if !holds {
            stream.pointee = ApplicationTable.emptyStream(base: 0)
            tail.clear()
        }
        // At most two openings an Initial, for the datagram's Initials.
        let reserved = 2 * QUICInitial.maxPackets
        guard apps.reserveOpenings(reserved, now: entry.pointee.lastNs) else { return giveUp(entry, .none) }
        var decryptions = 0
        var tooLarge = false
        let outcome = QUICInitial.open(datagram, originalDCID: tail.dcid, decryptions: &decryptions) {
            version, dcid, frames in
            tail.keep(version: version, dcid: dcid)
            for frame in frames {
                guard let data = frame.data.baseAddress, frame.data.count > 0 else { continue }
                guard frame.offset + frame.data.count <= ApplicationTable.quicStreamBytes,
                    ApplicationTable.place(
                        stream, bytes, capacity: ApplicationTable.quicStreamBytes, sequence: UInt32(frame.offset), data,
                        length: frame.data.count) != nil
                else {
                    tooLarge = true
                    continue
                }
            }
        }
        apps.settleOpenings(reserved: reserved, used: decryptions)
        switch outcome {
        case .notQUIC, .noInitial:
            // A flow that does not open with a client's Initial is not named; one that did goes
            // on waiting through its other packets (0-RTT, Handshake), a bounded number.
            guard holds else { return giveUp(entry, .none) }
        case .unknownVersion:
            return giveUp(entry, .quicUnknownVersion)
        case .serverFlight:
            // A server's (or, later, a client's with the server's Handshake keys): waited past
            // while the client's hello is incomplete.
            guard holds else { return label(entry, .quic) }
        case let .malformed(issue):
            return giveUp(entry, issue)
        case let .opened(version, _):
            guard !tooLarge else { return giveUp(entry, .helloTooLarge) }
            let have = UnsafeRawBufferPointer(start: bytes, count: Int(stream.pointee.contiguous))
            let facts = apps.tlsFacts
            switch ClientHello.handshake(have, memo: apps.ja4Memo, into: &facts.pointee) {
            case .found:
                facts.pointee.quicVersion = version
                ApplicationDetail.set(apps.found, .quic, tls: facts)
                return label(entry, from: apps.found)
            case let .incomplete(needed):
                guard needed <= ApplicationTable.quicStreamBytes else { return giveUp(entry, .helloTooLarge) }
            case .notThis:
                return giveUp(entry, .none)
            case let .malformed(issue):
                return giveUp(entry, issue)
            }
        }
        // The hello is not whole yet: the flow keeps its bytes in a buffer of its own.
        if !holds {
            guard let taken = apps.takeBuffer(base: 0) else { return giveUp(entry, .none) }
            var end = Int(stream.pointee.contiguous)
            for i in 0 ..< Int(stream.pointee.pieceCount) { end = max(end, Int(stream.pointee.pieceEnd[i])) }
            apps.buffer(taken).copyMemory(from: bytes, byteCount: end)
            (apps.buffer(taken) + ApplicationTable.quicStreamBytes).copyMemory(from: tail.p, byteCount: 32)
            apps.streams[taken] = stream.pointee
            entry.pointee.appSlot = UInt32(taken)
            // Still inspected; marked QUIC meanwhile.
            entry.pointee.app |= FlowEntry.holdsSlot | ApplicationID.quic.rawValue
            return
        }
        tail.datagrams &+= 1
        if tail.datagrams >= 16 { giveUp(entry, .none) }
    }

    /// What a flow's first bytes are. The fields of `found` are in `apps.found`: a decision
    /// carrying them was copied at each return, for every segment (callgrind).
    enum Decision {
        case wait
        case found
        case none(InspectIssue)
    }

    /// What the first bytes of a TCP direction's stream are, by their first bytes: DNS on port
    /// 53 (its length prefix is binary), a TLS handshake record, an SSH banner, an HTTP status
    /// line, an HTTP request. More than a buffer can hold is not waited for.
    /// Mutating, though it changes nothing of `self` but the facts behind its pointers: called
    /// non-mutating from `stream`, it had `self`'s 736 bytes copied for it, every segment.
    mutating func decide(_ dnsPort: Bool, _ stream: UnsafeRawBufferPointer) -> Decision {
        func needs(_ bytes: Int) -> Decision { bytes > ApplicationTable.bufferBytes ? .none(.helloTooLarge) : .wait }
        guard let p = stream.baseAddress, stream.count > 0 else { return .wait }
        if dnsPort {
            let facts = apps.dnsFacts
            switch DNSMessage.parseStream(stream, into: &facts.pointee) {
            case .found:
                ApplicationDetail.set(apps.found, .dns, dns: facts)
                return .found
            case let .incomplete(bytes): return needs(bytes)
            case let .malformed(issue): return .none(issue)
            case .notThis: return .none(.badDNSMessage)
            }
        }
        switch p.load(as: UInt8.self) {
        case 0x16:
            let facts = apps.tlsFacts
            switch ClientHello.parse(stream, scratch: apps.scratch, memo: apps.ja4Memo, into: &facts.pointee) {
            case .found:
                ApplicationDetail.set(apps.found, .tls, tls: facts)
                return .found
            case let .incomplete(bytes): return needs(bytes)
            case let .malformed(issue): return .none(issue)
            case .notThis:
                // A server's first record: its ServerHello (handshake type 2).
                guard stream.count >= 6 else { return .wait }
                let serverHello = stream[1] == 3 && stream[5] == 2
                return serverHello ? found(.tls) : .none(.none)
            }
        case UInt8(ascii: "S"):
            switch SSHBanner.recognise(stream) {
            case .ssh: return found(.ssh)
            case let .incomplete(bytes): return needs(bytes)
            case .notSSH: break
            }
        default:
            break
        }
        // A status line starts "HTTP/"; anything else that is HTTP is a request.
        let status: StaticString = "HTTP/"
        var isStatus = true
        for i in 0 ..< min(stream.count, status.utf8CodeUnitCount) where stream[i] != status.utf8Start[i] {
            isStatus = false
        }
        let facts = apps.httpFacts
        switch isStatus
            ? HTTPMessage.response(stream, into: &facts.pointee) : HTTPMessage.request(stream, into: &facts.pointee)
        {
        case .found:
            if isStatus {
                ApplicationDetail.set(apps.found, .http, status: facts.pointee.status)
            } else {
                ApplicationDetail.set(apps.found, .http, http: facts)
            }
            return .found
        case let .incomplete(bytes): return needs(bytes)
        case let .malformed(issue): return .none(issue)
        case .notThis: break
        }
        return .none(.none)
    }

    /// Whether the entry's flow has port 53 at either end: DNS is told by its port, not its bytes.
    @inline(__always)
    static func onDNSPort(_ entry: UnsafeMutablePointer<FlowEntry>) -> Bool {
        entry.pointee.key.sourcePort == 53 || entry.pointee.key.destinationPort == 53
    }

    /// A label without fields, kept in `apps.found` for `conclude`.
    mutating func found(_ application: ApplicationID) -> Decision {
        ApplicationDetail.set(apps.found, application)
        return .found
    }

    mutating func conclude(_ entry: UnsafeMutablePointer<FlowEntry>, _ decision: Decision) {
        switch decision {
        case .wait: break
        case .found: label(entry, from: apps.found)
        case let .none(issue): giveUp(entry, issue)
        }
    }

    /// The flow is `application`, without fields.
    mutating func label(_ entry: UnsafeMutablePointer<FlowEntry>, _ application: ApplicationID) {
        ApplicationDetail.set(apps.found, application)
        label(entry, from: apps.found)
    }

    /// The flow is `detail.application`; its fields, when there are any, take a label slot
    /// (the bytes they use copied once, into the slot).
    mutating func label(_ entry: UnsafeMutablePointer<FlowEntry>, from detail: UnsafePointer<ApplicationDetail>) {
        releaseApplication(entry)
        let application = detail.pointee.application
        entry.pointee.app = application.rawValue
        if detail.pointee.factsKind == 0 { return }
        guard let index = apps.takeLabel() else { return }
        ApplicationDetail.copy(detail, to: apps.labels + index)
        entry.pointee.appSlot = UInt32(index)
        entry.pointee.app |= FlowEntry.holdsSlot
    }

    /// Inspection ends without a label; `issue` says why, when a parser found something wrong.
    mutating func giveUp(_ entry: UnsafeMutablePointer<FlowEntry>, _ issue: InspectIssue) {
        releaseApplication(entry)
        entry.pointee.app = 0
        if issue != .none { apps.issues[Int(issue.rawValue)] &+= 1 }
    }

    /// Gives back the buffer or label the entry holds (its flow ends, or starts again).
    @inline(__always)
    mutating func releaseApplication(_ entry: UnsafeMutablePointer<FlowEntry>) {
        let app = entry.pointee.app
        guard app & FlowEntry.holdsSlot != 0 else { return }
        if app & FlowEntry.inspecting != 0 {
            apps.giveBuffer(Int(entry.pointee.appSlot))
        } else {
            apps.giveLabel(Int(entry.pointee.appSlot))
        }
        entry.pointee.app = app & ~FlowEntry.holdsSlot
    }

    /// The label a record of the entry carries, and its fields when it has some.
    func application(of e: borrowing FlowEntry) -> (ApplicationID, ApplicationDetail?) {
        guard e.app & FlowEntry.inspecting == 0 else { return (.none, nil) }
        let id = ApplicationID(rawValue: e.app & FlowEntry.applicationMask) ?? .none
        return (id, label(of: e)?.pointee)
    }

    /// Where the entry's fields are, when it has some (read in place: they are 816 bytes).
    func label(of e: borrowing FlowEntry) -> UnsafePointer<ApplicationDetail>? {
        guard e.app & (FlowEntry.inspecting | FlowEntry.holdsSlot) == FlowEntry.holdsSlot,
            Int(e.appSlot) < apps.labelCapacity
        else { return nil }
        return UnsafePointer(apps.labels + Int(e.appSlot))
    }
}
