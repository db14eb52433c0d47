import FlowTapBase
import FlowTapMeter

/// The Information Elements flowtap exports (IANA IPFIX registry numbers; NetFlow v9 shares
/// them), with their encoded lengths and how each is taken from a record.
public indirect enum FlowField: Sendable, Equatable {
    case sourceMacAddress
    case destinationMacAddress
    case ethernetType
    case vlanId
    case dot1qVlanId
    case dot1qCustomerVlanId
    /// mplsTopLabelStackSection (70) and mplsLabelStackSection2 (71): 3 octets each.
    case mplsTopLabelStackSection
    case mplsLabelStackSection2
    case sourceIPv4Address
    case destinationIPv4Address
    case sourceIPv6Address
    case destinationIPv6Address
    case protocolIdentifier
    case ipClassOfService
    case ipVersion
    case sourceTransportPort
    case destinationTransportPort
    case tcpControlBits
    case icmpTypeCodeIPv4
    case icmpTypeCodeIPv6
    case ingressInterface
    case egressInterface
    case flowDirection
    case packetDeltaCount
    case octetDeltaCount
    case flowStartMilliseconds
    case flowEndMilliseconds
    case flowEndReason
    /// dateTimeMicroseconds / dateTimeNanoseconds (154–157), in NTP format (RFC 7011 §6.1.9–10).
    case flowStartMicroseconds
    case flowEndMicroseconds
    case flowStartNanoseconds
    case flowEndNanoseconds
    /// NetFlow v9 FIRST_SWITCHED / LAST_SWITCHED: sysUptime milliseconds, relative to the
    /// exporter's start (`EncodingContext.systemInitMs`), wrapping every 49.7 days with it.
    case firstSwitched
    case lastSwitched
    /// NetFlow v9 TCP_FLAGS: one octet (RFC 3954 §8).
    case tcpFlagsOctet
    /// biflowDirection (239, RFC 5103 §6.3): 1 = the forward direction is the initiator.
    case biflowDirection
    /// nProbe's NetFlow v9 latency fields (57554–57559), which nfdump decodes: client network
    /// delay, server network delay and application latency (`TCPLatency`), each as whole
    /// seconds and the microseconds beyond them; 0 when unknown.
    case clientNetworkDelaySeconds, clientNetworkDelayMicroseconds
    case serverNetworkDelaySeconds, serverNetworkDelayMicroseconds
    case applicationLatencySeconds, applicationLatencyMicroseconds
    /// The same in ntop's IPFIX enterprise elements (PEN 35632: 123 CLIENT_NW_LATENCY_MS, 124
    /// SERVER_NW_LATENCY_MS, 125 APPL_LATENCY_MS), unsigned 32-bit milliseconds, rounded. ntop
    /// defines the two network ones as half the round trip ("RTT/2", as Wireshark labels them,
    /// and as ntopng adds them into one RTT), so they carry half of flowtap's delays.
    case ntopClientLatencyMs, ntopServerLatencyMs, ntopApplicationLatencyMs
    /// ntop's retransmitted and out-of-order packet counts (`TCPSequence`), unsigned 32-bit: in
    /// IPFIX PEN 35632 elements 109 RETRANSMITTED_IN_PKTS, 110 RETRANSMITTED_OUT_PKTS, 111
    /// OOORDER_IN_PKTS, 112 OOORDER_OUT_PKTS; in NetFlow v9 the same as ntop numbers them there
    /// (57472 + the element: 57581–57584). IN is the record's own direction (source to
    /// destination), OUT the reverse (with `--biflow`; 0 in uniflow records).
    case ntopRetransmittedInPackets, ntopRetransmittedOutPackets, ntopOutOfOrderInPackets, ntopOutOfOrderOutPackets
    case v9RetransmittedInPackets, v9RetransmittedOutPackets, v9OutOfOrderInPackets, v9OutOfOrderOutPackets
    /// The reverse-direction twin of a field (RFC 5103 §6.1): the same element number with the
    /// enterprise bit set and Private Enterprise Number 29305.
    case reverse(FlowField)

    /// The Private Enterprise Number of reverse Information Elements (RFC 5103).
    public static let reversePEN: UInt32 = 29305
    /// ntop's Private Enterprise Number.
    public static let ntopPEN: UInt32 = 35632

    /// The enterprise number to put in the field specifier, nil for IANA elements.
    public var enterprise: UInt32? {
        switch self {
        case .reverse: Self.reversePEN
        case .ntopClientLatencyMs, .ntopServerLatencyMs, .ntopApplicationLatencyMs, .ntopRetransmittedInPackets,
            .ntopRetransmittedOutPackets, .ntopOutOfOrderInPackets, .ntopOutOfOrderOutPackets:
            Self.ntopPEN
        default: nil
        }
    }

    public var elementID: UInt16 {
        switch self {
        case .sourceMacAddress: 56
        case .destinationMacAddress: 80
        case .ethernetType: 256
        case .vlanId: 58
        case .dot1qVlanId: 243
        case .dot1qCustomerVlanId: 245
        case .mplsTopLabelStackSection: 70
        case .mplsLabelStackSection2: 71
        case .sourceIPv4Address: 8
        case .destinationIPv4Address: 12
        case .sourceIPv6Address: 27
        case .destinationIPv6Address: 28
        case .protocolIdentifier: 4
        case .ipClassOfService: 5
        case .ipVersion: 60
        case .sourceTransportPort: 7
        case .destinationTransportPort: 11
        case .tcpControlBits: 6
        case .icmpTypeCodeIPv4: 32
        case .icmpTypeCodeIPv6: 139
        case .ingressInterface: 10
        case .egressInterface: 14
        case .flowDirection: 61
        case .packetDeltaCount: 2
        case .octetDeltaCount: 1
        case .flowStartMilliseconds: 152
        case .flowEndMilliseconds: 153
        case .flowEndReason: 136
        case .flowStartMicroseconds: 154
        case .flowEndMicroseconds: 155
        case .flowStartNanoseconds: 156
        case .flowEndNanoseconds: 157
        case .firstSwitched: 22
        case .lastSwitched: 21
        case .tcpFlagsOctet: 6
        case .biflowDirection: 239
        case .clientNetworkDelaySeconds: 57554
        case .clientNetworkDelayMicroseconds: 57555
        case .serverNetworkDelaySeconds: 57556
        case .serverNetworkDelayMicroseconds: 57557
        case .applicationLatencySeconds: 57558
        case .applicationLatencyMicroseconds: 57559
        case .ntopClientLatencyMs: 123
        case .ntopServerLatencyMs: 124
        case .ntopApplicationLatencyMs: 125
        case .ntopRetransmittedInPackets: 109
        case .ntopRetransmittedOutPackets: 110
        case .ntopOutOfOrderInPackets: 111
        case .ntopOutOfOrderOutPackets: 112
        case .v9RetransmittedInPackets: 57581
        case .v9RetransmittedOutPackets: 57582
        case .v9OutOfOrderInPackets: 57583
        case .v9OutOfOrderOutPackets: 57584
        case .reverse(let field): field.elementID
        }
    }

    /// Encoded length in bytes. Counters are full 64-bit; tcpControlBits is the RFC 9565 u16.
    public var length: Int {
        switch self {
        case .sourceMacAddress, .destinationMacAddress: 6
        case .mplsTopLabelStackSection, .mplsLabelStackSection2: 3
        case .sourceIPv6Address, .destinationIPv6Address: 16
        case .sourceIPv4Address, .destinationIPv4Address, .ingressInterface, .egressInterface,
            .firstSwitched, .lastSwitched, .clientNetworkDelaySeconds, .clientNetworkDelayMicroseconds,
            .serverNetworkDelaySeconds, .serverNetworkDelayMicroseconds, .applicationLatencySeconds,
            .applicationLatencyMicroseconds, .ntopClientLatencyMs, .ntopServerLatencyMs, .ntopApplicationLatencyMs,
            .ntopRetransmittedInPackets, .ntopRetransmittedOutPackets, .ntopOutOfOrderInPackets,
            .ntopOutOfOrderOutPackets,
            .v9RetransmittedInPackets, .v9RetransmittedOutPackets, .v9OutOfOrderInPackets, .v9OutOfOrderOutPackets:
            4
        case .packetDeltaCount, .octetDeltaCount, .flowStartMilliseconds, .flowEndMilliseconds,
            .flowStartMicroseconds, .flowEndMicroseconds, .flowStartNanoseconds, .flowEndNanoseconds:
            8
        case .ethernetType, .vlanId, .dot1qVlanId, .dot1qCustomerVlanId, .sourceTransportPort,
            .destinationTransportPort,
            .tcpControlBits, .icmpTypeCodeIPv4, .icmpTypeCodeIPv6:
            2
        case .protocolIdentifier, .ipClassOfService, .ipVersion, .flowDirection, .flowEndReason, .tcpFlagsOctet,
            .biflowDirection:
            1
        case .reverse(let field): field.length
        }
    }

    /// Writes this field of `record` at `p` in network byte order; `length` bytes.
    @inline(__always)
    public func write(_ record: borrowing FlowRecord, to p: UnsafeMutableRawPointer, context: EncodingContext) {
        let k = record.key
        let isICMP = k.ipProtocol == 1 || k.ipProtocol == 58
        switch self {
        case .sourceMacAddress: p.putMAC(k.sourceMAC)
        case .destinationMacAddress: p.putMAC(k.destinationMAC)
        case .ethernetType: p.put16(k.etherType)
        case .vlanId, .dot1qVlanId: p.put16(k.outerVLAN & 0x0FFF)
        case .mplsTopLabelStackSection: p.put24(k.mplsTopLabel)
        case .mplsLabelStackSection2: p.put24(k.mplsSecondLabel)
        case .dot1qCustomerVlanId: p.put16(k.innerVLAN & 0x0FFF)
        case .sourceIPv4Address: p.storeBytes(of: UInt32(truncatingIfNeeded: k.w0), as: UInt32.self)
        case .destinationIPv4Address: p.storeBytes(of: UInt32(truncatingIfNeeded: k.w2), as: UInt32.self)
        case .sourceIPv6Address:
            p.storeBytes(of: k.w0, as: UInt64.self)
            p.storeBytes(of: k.w1, toByteOffset: 8, as: UInt64.self)
        case .destinationIPv6Address:
            p.storeBytes(of: k.w2, as: UInt64.self)
            p.storeBytes(of: k.w3, toByteOffset: 8, as: UInt64.self)
        case .protocolIdentifier: p.storeBytes(of: k.ipProtocol, as: UInt8.self)
        case .ipClassOfService: p.storeBytes(of: k.tos, as: UInt8.self)
        case .ipVersion: p.storeBytes(of: k.ipVersion, as: UInt8.self)
        case .sourceTransportPort: p.put16(isICMP ? 0 : k.sourcePort)
        case .destinationTransportPort: p.put16(isICMP ? 0 : k.destinationPort)
        case .tcpControlBits: p.put16(record.tcpFlags)
        case .icmpTypeCodeIPv4, .icmpTypeCodeIPv6: p.put16(isICMP ? k.destinationPort : 0)
        case .ingressInterface: p.put32(record.ingressInterface)
        case .egressInterface: p.put32(record.egressInterface)
        case .flowDirection: p.storeBytes(of: record.direction, as: UInt8.self)
        case .packetDeltaCount: p.put64(record.packets)
        case .octetDeltaCount: p.put64(record.octets)
        case .flowStartMilliseconds: p.put64(record.firstNs / 1_000_000)
        case .flowEndMilliseconds: p.put64(record.lastNs / 1_000_000)
        case .flowStartMicroseconds: p.put64(NTPTime.microseconds(record.firstNs))
        case .flowEndMicroseconds: p.put64(NTPTime.microseconds(record.lastNs))
        case .flowStartNanoseconds: p.put64(NTPTime.nanoseconds(record.firstNs))
        case .flowEndNanoseconds: p.put64(NTPTime.nanoseconds(record.lastNs))
        case .flowEndReason: p.storeBytes(of: record.endReason.rawValue, as: UInt8.self)
        case .firstSwitched: p.put32(context.uptime(at: record.firstNs / 1_000_000))
        case .lastSwitched: p.put32(context.uptime(at: record.lastNs / 1_000_000))
        case .tcpFlagsOctet: p.storeBytes(of: UInt8(truncatingIfNeeded: record.tcpFlags), as: UInt8.self)
        case .biflowDirection: p.storeBytes(of: UInt8(1), as: UInt8.self)
        case .clientNetworkDelaySeconds: p.put32(Self.seconds(record.latency.clientNs))
        case .clientNetworkDelayMicroseconds: p.put32(Self.microsecondsBeyond(record.latency.clientNs))
        case .serverNetworkDelaySeconds: p.put32(Self.seconds(record.latency.serverNs))
        case .serverNetworkDelayMicroseconds: p.put32(Self.microsecondsBeyond(record.latency.serverNs))
        case .applicationLatencySeconds: p.put32(Self.seconds(record.latency.applicationNs))
        case .applicationLatencyMicroseconds: p.put32(Self.microsecondsBeyond(record.latency.applicationNs))
        case .ntopClientLatencyMs: p.put32(Self.milliseconds(record.latency.clientNs / 2))
        case .ntopServerLatencyMs: p.put32(Self.milliseconds(record.latency.serverNs / 2))
        case .ntopApplicationLatencyMs: p.put32(Self.milliseconds(record.latency.applicationNs))
        case .ntopRetransmittedInPackets, .v9RetransmittedInPackets: p.put32(record.retransmittedPackets)
        case .ntopRetransmittedOutPackets, .v9RetransmittedOutPackets: p.put32(record.reverseRetransmittedPackets)
        case .ntopOutOfOrderInPackets, .v9OutOfOrderInPackets: p.put32(record.outOfOrderPackets)
        case .ntopOutOfOrderOutPackets, .v9OutOfOrderOutPackets: p.put32(record.reverseOutOfOrderPackets)
        case .reverse(let field): field.write(record.reversed, to: p, context: context)
        }
    }
}

extension FlowField {
    /// A latency's whole seconds, and the microseconds beyond them (nProbe's split), saturated.
    static func seconds(_ ns: UInt64) -> UInt32 { UInt32(clamping: ns / 1_000_000_000) }
    static func microsecondsBeyond(_ ns: UInt64) -> UInt32 { UInt32(ns % 1_000_000_000 / 1000) }
    /// Rounded to the nearest millisecond, saturated.
    static func milliseconds(_ ns: UInt64) -> UInt32 {
        UInt32(clamping: ns / 1_000_000 + (ns % 1_000_000 >= 500_000 ? 1 : 0))
    }
}
