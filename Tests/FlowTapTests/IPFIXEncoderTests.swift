import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapMeter

final class IPFIXEncoderTests: XCTestCase {
    static let ipv4Layout = RecordLayout.layouts(for: [.l3, .l4])[0]!
    static let context = EncodingContext(systemInitMs: 1_699_999_000_000)

    static func tcpRecord(packets: UInt64 = 10) -> FlowRecord {
        var key = FrameBuilder.tcpv4(sport: 40000, dport: 5201).decode().key
        key.apply(FlowKeyMask([.l3, .l4]))
        return FlowRecord(
            key: key, packets: packets, octets: 1234, firstNs: 1_700_000_000_000_000_000,
            lastNs: 1_700_000_001_500_000_000, ingressInterface: 7, egressInterface: 8,
            tcpFlags: 0x1B, endReason: .idleTimeout, direction: 0)
    }

    func testNTPTimestamps() {
        // 2023-11-14T22:13:20.25Z: 1 700 000 000 s after 1970, 3 908 988 800 after 1900, and a
        // quarter second is 2^30 in units of 2^-32 s.
        let ns: UInt64 = 1_700_000_000_250_000_000
        XCTAssertEqual(NTPTime.nanoseconds(ns), 3_908_988_800 << 32 | 1 << 30)
        XCTAssertEqual(NTPTime.nanoseconds(1_700_000_000_000_000_001) & 0xFFFF_FFFF, 4, "1 ns is 4.29 units of 2^-32 s")
        XCTAssertEqual(NTPTime.nanoseconds(1_700_000_000_999_999_999) & 0xFFFF_FFFF, 0xFFFF_FFFB)
        let us = NTPTime.microseconds(1_700_000_000_000_001_999) // 1 µs and 999 ns: the ns go
        XCTAssertEqual(us & 0x7FF, 0, "the 11 low fraction bits are zero at µs resolution")
        XCTAssertEqual(us >> 32, 3_908_988_800)
        XCTAssertEqual(Double(us & 0xFFFF_FFFF) / 4_294_967_296 * 1e6, 1.0, accuracy: 0.25, "rounded to 2^-21 s")
        XCTAssertEqual(
            NTPTime.microseconds(1_700_000_000_999_999_999), 3_908_988_800 << 32 | 0xFFFF_F000,
            "999 999 µs: the last 2^-21 s step")
    }

    func testTimestampUnitsPickTheirElements() {
        for (unit, ids) in [
            (TimestampUnit.milliseconds, [152, 153]), (.microseconds, [154, 155]), (.nanoseconds, [156, 157])
        ] {
            let fields = RecordLayout.layouts(for: [.l3, .l4], dialect: .ipfix(timestamps: unit))[0]!.fields
            XCTAssertEqual(fields.filter { (152 ... 157).contains($0.elementID) }.map { Int($0.elementID) }, ids)
        }
    }

    func testTemplateIDFollowsTheLayout() {
        XCTAssertEqual(Self.ipv4Layout.recordLength, 61)
        XCTAssertEqual(Self.ipv4Layout.templateID(avoiding: []), 57914) // FNV-1a of the field list
        XCTAssertEqual(Self.ipv4Layout.templateID(avoiding: [57914]), 57915)
        let all = RecordLayout.layouts(for: [.l2, .l3, .l4]).compactMap { $0?.templateID(avoiding: []) }
        XCTAssertEqual(Set(all).count, 3)
        XCTAssertTrue(all.allSatisfy { $0 >= 256 })
    }

    /// The whole first message, written out by hand from RFC 7011 §3.
    func testFirstMessageByteForByte() {
        var encoder = IPFIXEncoder(observationDomain: 1, layouts: [Self.ipv4Layout, nil, nil], context: Self.context)
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: true)
            XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m))
            encoder.finish(&m, nowMs: 1_700_000_002 * 1000)
        }
        var expected: [UInt8] = [
            0x00, 0x0A, 0x00, 0xA0, // version 10, length 160
            0x65, 0x53, 0xF1, 0x02, // export time 1700000002
            0x00, 0x00, 0x00, 0x00, // sequence 0: nothing sent before
            0x00, 0x00, 0x00, 0x01, // observation domain 1
            0x00, 0x02, 0x00, 0x4C, // template set, 76 bytes
            0xE2, 0x3A, 0x00, 0x11 // template 57914, 17 fields
        ]
        let specifiers: [(UInt16, UInt16)] = [
            (8, 4), (12, 4), (4, 1), (5, 1), (60, 1), (7, 2), (11, 2), (6, 2),
            (32, 2), (10, 4), (14, 4), (61, 1), (2, 8), (1, 8), (152, 8), (153, 8), (136, 1)
        ]
        for (id, length) in specifiers { expected += [UInt8(id >> 8), UInt8(id & 0xFF), 0, UInt8(length)] }
        expected += [
            0xE2, 0x3A, 0x00, 0x44, // data set for 57914, 68 bytes (4 + 61 + 3 padding)
            0x0A, 0x4D, 0x00, 0x01, // sourceIPv4Address 10.77.0.1
            0x0A, 0x4D, 0x00, 0x02, // destinationIPv4Address 10.77.0.2
            0x06, 0x00, 0x04, // protocol TCP, ToS 0, ipVersion 4
            0x9C, 0x40, 0x14, 0x51, // ports 40000 → 5201
            0x00, 0x1B, // tcpControlBits FIN SYN PSH ACK
            0x00, 0x00, // icmpTypeCodeIPv4
            0x00, 0x00, 0x00, 0x07, // ingressInterface
            0x00, 0x00, 0x00, 0x08, // egressInterface
            0x00, // flowDirection ingress
            0, 0, 0, 0, 0, 0, 0, 0x0A, // packetDeltaCount
            0, 0, 0, 0, 0, 0, 0x04, 0xD2, // octetDeltaCount 1234
            0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, // flowStartMilliseconds
            0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x6D, 0xDC, // flowEndMilliseconds
            0x01, // flowEndReason idle timeout
            0x00, 0x00, 0x00 // set padding
        ]
        XCTAssertEqual(bytes.count, 160)
        XCTAssertEqual(bytes, expected)
    }

    func testSequenceCountsDataRecordsOfEarlierMessages() {
        var encoder = IPFIXEncoder(
            observationDomain: 9, layouts: RecordLayout.layouts(for: [.l3, .l4]), context: Self.context)
        func message(records: Int, templates: Bool) -> [UInt8] {
            withMessage { m in
                encoder.begin(&m, withTemplates: templates)
                for _ in 0 ..< records { XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m)) }
                encoder.finish(&m, nowMs: 1 * 1000)
            }
        }
        func sequence(_ m: [UInt8]) -> UInt32 { m[8 ..< 12].reduce(0) { $0 << 8 | UInt32($1) } }
        XCTAssertEqual(sequence(message(records: 0, templates: true)), 0)
        XCTAssertEqual(sequence(message(records: 3, templates: false)), 0)
        XCTAssertEqual(sequence(message(records: 2, templates: true)), 3, "templates do not count")
        XCTAssertEqual(sequence(message(records: 4, templates: false)), 5)
        XCTAssertEqual(sequence(message(records: 1, templates: false)), 9)
        XCTAssertEqual(encoder.sequence, 10)
    }

    func testSequenceWrapsModulo2To32() {
        var encoder = IPFIXEncoder(
            observationDomain: 1, layouts: [Self.ipv4Layout, nil, nil], context: Self.context, initialSequence: .max)
        _ = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m))
            XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m))
            encoder.finish(&m, nowMs: 1 * 1000)
        }
        XCTAssertEqual(encoder.sequence, 1)
    }

    func testRecordsArePackedUntilTheNextWouldNotFit() {
        // Header 16 + set header 4 + three records of 61 + 1 byte of padding (set length 188) = 204.
        var encoder = IPFIXEncoder(observationDomain: 1, layouts: [Self.ipv4Layout, nil, nil], context: Self.context)
        let bytes = withMessage(capacity: 204) { m in
            encoder.begin(&m, withTemplates: false)
            for _ in 0 ..< 3 { XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m)) }
            XCTAssertEqual(.full, encoder.append(Self.tcpRecord(), to: &m))
            encoder.finish(&m, nowMs: 1 * 1000)
        }
        XCTAssertEqual(bytes.count, 204)
        XCTAssertEqual(Array(bytes[18 ..< 20]), [0x00, 0xBC], "set length 188, padding included")
        var tight = IPFIXEncoder(observationDomain: 1, layouts: [Self.ipv4Layout, nil, nil], context: Self.context)
        _ = withMessage(capacity: 203) { m in
            tight.begin(&m, withTemplates: false)
            for _ in 0 ..< 2 { XCTAssertEqual(.appended, tight.append(Self.tcpRecord(), to: &m)) }
            XCTAssertEqual(.full, tight.append(Self.tcpRecord(), to: &m), "the third record's padding would overflow")
        }
    }

    func testIPv4AndIPv6RecordsGoInSeparatePaddedSets() {
        let layouts = RecordLayout.layouts(for: [.l3, .l4])
        var encoder = IPFIXEncoder(observationDomain: 1, layouts: layouts, context: Self.context)
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 17, payload: 8)
        v6.udp(sport: 5353, dport: 5353, payload: 0)
        var record6 = Self.tcpRecord()
        record6.key = v6.decode().key
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            XCTAssertEqual(.appended, encoder.append(Self.tcpRecord(), to: &m))
            XCTAssertEqual(.appended, encoder.append(record6, to: &m))
            XCTAssertEqual(.appended, encoder.append(record6, to: &m))
            encoder.finish(&m, nowMs: 1 * 1000)
        }
        let id6 = encoder.templates[1]!.id
        XCTAssertEqual(layouts[1]!.recordLength, 85)
        // v4 set: 4 + 61 + 3 = 68; v6 set: 4 + 2 × 85 + 2 = 176.
        XCTAssertEqual(bytes.count, 16 + 68 + 176)
        XCTAssertEqual(Array(bytes[84 ..< 88]), [UInt8(id6 >> 8), UInt8(id6 & 0xFF), 0x00, 0xB0])
        XCTAssertEqual(Array(bytes[(bytes.count - 2)...]), [0, 0])
        // 16-byte addresses: fd00::1 as the source.
        XCTAssertEqual(bytes[88], 0xFD)
        XCTAssertEqual(bytes[88 + 15], 0x01)
    }

    func testTemplateSetListsEveryLayout() {
        let layouts = RecordLayout.layouts(for: [.l2, .l3, .l4])
        var encoder = IPFIXEncoder(observationDomain: 1, layouts: layouts, context: Self.context)
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: true)
            encoder.finish(&m, nowMs: 1 * 1000)
        }
        let expectedLength = 4 + layouts.compactMap { $0 }.reduce(0) { $0 + 4 + 4 * $1.fields.count }
        XCTAssertEqual(bytes.count, 16 + expectedLength)
        XCTAssertEqual(Array(bytes[16 ..< 18]), [0, 2])
        XCTAssertEqual(Int(bytes[18]) << 8 | Int(bytes[19]), expectedLength)
    }

    func testMinimumMTUCoversTheLargestRecordAndTheTemplates() {
        let layouts = RecordLayout.layouts(for: [.l2, .l3, .l4])
        let minimum = IPFIXEncoder(observationDomain: 1, layouts: layouts, context: Self.context).minimumMessageLength
        XCTAssertGreaterThanOrEqual(minimum, 16 + SetPacker.templateSetLength(layouts.compactMap { $0 }))
        XCTAssertGreaterThanOrEqual(minimum, 16 + 4 + layouts[1]!.recordLength)
    }

    /// Options go to observation domain 0 with their own sequence; the flow domain's sequence
    /// counts flow records only.
    func testOptionsMessageByteForByte() {
        var encoder = IPFIXEncoder(observationDomain: 7, layouts: [Self.ipv4Layout, nil, nil], context: Self.context)
        var options = ExportOptions()
        options.exportedMessages = 3
        options.exportedRecords = 40
        options.exportedOctets = 5000
        options.ignoredPackets = 2
        options.notSentRecords = 1
        let bytes = withMessage { m in XCTAssertTrue(encoder.writeOptions(options, to: &m, nowMs: 1_700_000_002_000)) }
        let process = encoder.processOptions.id, statistics = encoder.statisticsOptions.id
        // 152 bytes, seq 0, domain 0
        var expected: [UInt8] = [0x00, 0x0A, 0x00, 0x98, 0x65, 0x53, 0xF1, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]
        expected += [0x00, 0x03, 0x00, 0x3C] // options template set: 4 + 26 + 30, aligned
        expected += [UInt8(process >> 8), UInt8(process & 0xFF), 0x00, 0x05, 0x00, 0x01] // 5 fields, 1 scope
        for (id, length) in [(149, 4), (160, 8), (304, 2), (305, 4), (306, 4)] as [(UInt16, UInt8)] {
            expected += [UInt8(id >> 8), UInt8(id & 0xFF), 0, length]
        }
        expected += [UInt8(statistics >> 8), UInt8(statistics & 0xFF), 0x00, 0x06, 0x00, 0x01]
        for (id, length) in [(149, 4), (41, 8), (42, 8), (40, 8), (164, 8), (166, 8)] as [(UInt16, UInt8)] {
            expected += [UInt8(id >> 8), UInt8(id & 0xFF), 0, length]
        }
        expected += [UInt8(process >> 8), UInt8(process & 0xFF), 0x00, 0x1C] // 4 + 22 + 2 padding
        // domain 7, system init, selectorAlgorithm 1 (systematic count-based), interval 1, space 0
        expected +=
            [0, 0, 0, 7] + [0, 0, 0x01, 0x8B, 0xCF, 0xD6, 0x25, 0xC0] + [0, 1] + [0, 0, 0, 1] + [0, 0, 0, 0] + [0, 0]
        expected += [UInt8(statistics >> 8), UInt8(statistics & 0xFF), 0x00, 0x30] // 4 + 44
        expected += [0, 0, 0, 7]
        for v in [3, 40, 5000, 2, 1] as [UInt64] {
            expected += (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) }
        }
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(encoder.optionsSequence, 2)
        XCTAssertEqual(encoder.sequence, 0, "options records do not advance the flow domain")
    }
}
