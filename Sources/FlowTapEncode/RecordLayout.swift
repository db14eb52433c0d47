import FlowTapDecode
import FlowTapMeter

/// How IPFIX records carry flow start and end (`--timestamps`).
public enum TimestampUnit: String, Sendable, CaseIterable {
    /// flowStart/EndMilliseconds (152/153): the one encoding every common collector decodes.
    case milliseconds = "ms"
    /// flowStart/EndMicroseconds (154/155), NTP format.
    case microseconds = "us"
    /// flowStart/EndNanoseconds (156/157), NTP format.
    case nanoseconds = "ns"
}

/// The fields of one kind of record, in template order. There is one layout per IP version
/// (and one for non-IP frames when L2 is recorded), because the address fields differ.
public struct RecordLayout: Sendable, Equatable {
    public enum Kind: Int, Sendable, CaseIterable {
        case ipv4 = 0, ipv6 = 1, nonIP = 2
    }

    public let kind: Kind
    public let fields: [FlowField]
    public let recordLength: Int

    public init(kind: Kind, fields: [FlowField]) {
        self.kind = kind
        self.fields = fields
        recordLength = fields.reduce(0) { $0 + $1.length }
    }

    /// How a format spells time and TCP flags.
    public enum Dialect: Sendable, Equatable {
        /// flowStart/End in `timestamps` (152/153 by default), tcpControlBits as 2 octets (RFC 9565).
        case ipfix(timestamps: TimestampUnit)
        /// FIRST_SWITCHED/LAST_SWITCHED (22/21) in sysUptime, TCP_FLAGS as 1 octet (RFC 3954).
        case netflowV9
    }

    /// The layouts a record set needs, indexed by `Kind.rawValue`; nil where that kind of
    /// frame is not metered (non-IP without L2).
    /// With `biflow`, the IPFIX layouts gain the reverse counters and TCP flags (RFC 5103,
    /// enterprise 29305) and biflowDirection. No reverse timestamps: RFC 5103 does not need
    /// them, and nfdump 1.7.1 misreads reverse flowStartMilliseconds as the flow's start.
    /// With `tcpInsight` and L4 recorded, IP layouts gain each TCP connection's latencies and
    /// the flow's retransmitted and out-of-order packets: nProbe's and ntop's v9 fields, or
    /// ntop's IPFIX enterprise elements.
    public static func layouts(
        for records: RecordSet, dialect: Dialect = .ipfix(timestamps: .milliseconds),
        biflow: Bool = false, tcpInsight: Bool = false
    ) -> [RecordLayout?] {
        Kind.allCases.map { kind in
            if kind == .nonIP && !records.contains(.l2) { return nil }
            var fields: [FlowField] = []
            if records.contains(.l2) {
                fields += [
                    .sourceMacAddress, .destinationMacAddress, .ethernetType, .vlanId, .dot1qVlanId,
                    .dot1qCustomerVlanId, .mplsTopLabelStackSection, .mplsLabelStackSection2
                ]
            }
            if records.contains(.l3) && kind != .nonIP {
                fields +=
                    kind == .ipv4
                    ? [.sourceIPv4Address, .destinationIPv4Address]
                    : [.sourceIPv6Address, .destinationIPv6Address]
                fields += [.protocolIdentifier, .ipClassOfService]
            }
            if kind != .nonIP { fields.append(.ipVersion) }
            if records.contains(.l4) && kind != .nonIP {
                if !records.contains(.l3) { fields.append(.protocolIdentifier) }
                // NetFlow v9 has one ICMP_TYPE (32) for both families (RFC 3954); 139 is IPFIX's,
                // which nfdump and the netflow package do not read in v9.
                fields += [
                    .sourceTransportPort, .destinationTransportPort,
                    dialect == .netflowV9 ? .tcpFlagsOctet : .tcpControlBits,
                    kind == .ipv4 || dialect == .netflowV9 ? .icmpTypeCodeIPv4 : .icmpTypeCodeIPv6
                ]
            }
            fields += [
                .ingressInterface, .egressInterface, .flowDirection,
                .packetDeltaCount, .octetDeltaCount
            ]
            switch dialect {
            case .ipfix(.milliseconds): fields += [.flowStartMilliseconds, .flowEndMilliseconds]
            case .ipfix(.microseconds): fields += [.flowStartMicroseconds, .flowEndMicroseconds]
            case .ipfix(.nanoseconds): fields += [.flowStartNanoseconds, .flowEndNanoseconds]
            case .netflowV9: fields += [.firstSwitched, .lastSwitched]
            }
            fields.append(.flowEndReason)
            if tcpInsight && records.contains(.l4) && kind != .nonIP {
                fields +=
                    dialect == .netflowV9
                    ? [
                        .clientNetworkDelaySeconds, .clientNetworkDelayMicroseconds, .serverNetworkDelaySeconds,
                        .serverNetworkDelayMicroseconds, .applicationLatencySeconds, .applicationLatencyMicroseconds,
                        .v9RetransmittedInPackets, .v9RetransmittedOutPackets, .v9OutOfOrderInPackets,
                        .v9OutOfOrderOutPackets
                    ]
                    : [
                        .ntopClientLatencyMs, .ntopServerLatencyMs, .ntopApplicationLatencyMs,
                        .ntopRetransmittedInPackets,
                        .ntopRetransmittedOutPackets, .ntopOutOfOrderInPackets, .ntopOutOfOrderOutPackets
                    ]
            }
            if biflow {
                let reversible: Set<UInt16> = [1, 2, 6]
                fields += fields.filter { reversible.contains($0.elementID) }.map { FlowField.reverse($0) }
                fields.append(.biflowDirection)
            }
            return RecordLayout(kind: kind, fields: fields)
        }
    }

    /// The layout kind of a record, from the IP version in its key.
    @inline(__always)
    public static func kind(of record: borrowing FlowRecord) -> Kind {
        switch record.key.ipVersion {
        case 4: .ipv4
        case 6: .ipv6
        default: .nonIP
        }
    }

    /// A template ID (256–65535) that follows from the layout itself, so that a restart with a
    /// different configuration does not announce another layout under an ID a collector has
    /// cached (RFC 7011 §8.4). IDs already in `taken` are skipped.
    public func templateID(avoiding taken: Set<UInt16>) -> UInt16 {
        Self.templateID(
            elements: fields.map { ($0.enterprise == nil ? $0.elementID : $0.elementID | 0x8000, $0.length) },
            salt: nil, avoiding: taken)
    }

    /// FNV-1a over the (element, length) pairs (and `salt`, which keeps options layouts apart).
    static func templateID(elements: [(UInt16, Int)], salt: UInt8?, avoiding taken: Set<UInt16>) -> UInt16 {
        var h: UInt32 = 0x811C_9DC5
        func mix(_ byte: UInt8) { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        if let salt { mix(salt) }
        for (element, length) in elements {
            mix(UInt8(element >> 8)); mix(UInt8(element & 0xFF)); mix(UInt8(truncatingIfNeeded: length))
        }
        var id = UInt16(256 + h % (65536 - 256))
        while taken.contains(id) { id = id == 65535 ? 256 : id + 1 }
        return id
    }
}
