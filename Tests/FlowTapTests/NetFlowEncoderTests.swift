import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode

final class NetFlowV9EncoderTests: XCTestCase {
    static let layout = RecordLayout.layouts(for: [.l3, .l4], dialect: .netflowV9)[0]!
    /// flowtap started 10 s before the record's first packet.
    static let context = EncodingContext(systemInitMs: 1_700_000_000_000 - 10_000)

    /// v9 has no unix_nsecs: sysUptime is given as of the header's whole second, so that a
    /// collector's unix_secs × 1000 − sysUptime + FIRST_SWITCHED is the record's own time.
    func testTheHeaderNamesOneInstantSoCollectorsGetExactTimes() {
        var encoder = NetFlowV9Encoder(sourceID: 5, layouts: [Self.layout, nil, nil], context: Self.context)
        let record = IPFIXEncoderTests.tcpRecord()
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            XCTAssertEqual(encoder.append(record, to: &m), .appended)
            encoder.finish(&m, nowMs: 1_700_000_002_750)
        }
        func word(_ at: Int) -> UInt64 { bytes[at ..< at + 4].reduce(0) { $0 << 8 | UInt64($1) } }
        let (uptime, secs) = (word(4), word(8))
        XCTAssertEqual(secs, 1_700_000_002)
        XCTAssertEqual(uptime, 12_000, "as of 1_700_000_002.000, not .750")
        let first = word(20 + 4 + 43) // FIRST_SWITCHED: after the data FlowSet header, 43 bytes in
        XCTAssertEqual(secs * 1000 - uptime + first, record.firstNs / 1_000_000)
    }

    /// RFC 3954 has one ICMP_TYPE (32) for both families; 139 (icmpTypeCodeIPv6) is IPFIX's,
    /// and nfdump and the netflow package read nothing from it in v9.
    func testV9CarriesICMPv6TypeInICMPTYPE() {
        let v9 = RecordLayout.layouts(for: [.l3, .l4], dialect: .netflowV9)[RecordLayout.Kind.ipv6.rawValue]
        let ipfix = RecordLayout.layouts(for: [.l3, .l4])[RecordLayout.Kind.ipv6.rawValue]
        XCTAssertEqual(v9?.fields.map(\.elementID).filter { $0 == 32 || $0 == 139 }, [32])
        XCTAssertEqual(ipfix?.fields.map(\.elementID).filter { $0 == 32 || $0 == 139 }, [139])
    }

    func testFirstPacketByteForByte() {
        XCTAssertEqual(Self.layout.recordLength, 52)
        var encoder = NetFlowV9Encoder(sourceID: 5, layouts: [Self.layout, nil, nil], context: Self.context)
        XCTAssertEqual(encoder.templates[0]?.id, 58267) // FNV-1a of the v9 field list
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: true)
            XCTAssertEqual(encoder.append(IPFIXEncoderTests.tcpRecord(), to: &m), .appended)
            encoder.finish(&m, nowMs: 1_700_000_002_000)
        }
        var expected: [UInt8] = [
            0x00, 0x09, 0x00, 0x02, // version 9, count 2: one template, one data record
            0x00, 0x00, 0x2E, 0xE0, // sysUptime 12000 ms
            0x65, 0x53, 0xF1, 0x02, // unix secs
            0x00, 0x00, 0x00, 0x00, // package sequence 0
            0x00, 0x00, 0x00, 0x05, // source ID
            0x00, 0x00, 0x00, 0x4C, // template FlowSet 0, 76 bytes
            0xE3, 0x9B, 0x00, 0x11 // template 58267, 17 fields
        ]
        let specifiers: [(UInt16, UInt8)] = [
            (8, 4), (12, 4), (4, 1), (5, 1), (60, 1), (7, 2), (11, 2), (6, 1), (32, 2),
            (10, 4), (14, 4), (61, 1), (2, 8), (1, 8), (22, 4), (21, 4), (136, 1)
        ]
        for (id, length) in specifiers { expected += [UInt8(id >> 8), UInt8(id & 0xFF), 0, length] }
        expected += [
            0xE3, 0x9B, 0x00, 0x38, // data FlowSet, 56 bytes: 4 + 52, no padding needed
            0x0A, 0x4D, 0x00, 0x01, 0x0A, 0x4D, 0x00, 0x02,
            0x06, 0x00, 0x04, 0x9C, 0x40, 0x14, 0x51,
            0x1B, // TCP_FLAGS, one octet
            0x00, 0x00,
            0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0x00,
            0, 0, 0, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0, 0, 0x04, 0xD2,
            0x00, 0x00, 0x27, 0x10, // FIRST_SWITCHED 10000
            0x00, 0x00, 0x2C, 0xEC, // LAST_SWITCHED 11500
            0x01
        ]
        XCTAssertEqual(bytes.count, 152)
        XCTAssertEqual(bytes, expected)
    }

    func testSequenceCountsPacketsIncludingTemplateOnlyOnes() {
        var encoder = NetFlowV9Encoder(sourceID: 5, layouts: [Self.layout, nil, nil], context: Self.context)
        func sequence(records: Int, templates: Bool) -> UInt32 {
            let m = withMessage { m in
                encoder.begin(&m, withTemplates: templates)
                for _ in 0 ..< records { _ = encoder.append(IPFIXEncoderTests.tcpRecord(), to: &m) }
                encoder.finish(&m, nowMs: 1_700_000_002_000)
            }
            return m[12 ..< 16].reduce(0) { $0 << 8 | UInt32($1) }
        }
        XCTAssertEqual(sequence(records: 0, templates: true), 0)
        XCTAssertEqual(sequence(records: 5, templates: false), 1)
        XCTAssertEqual(sequence(records: 1, templates: true), 2)
        var options = ExportOptions()
        options.exportedRecords = 6
        let o = withMessage { m in XCTAssertTrue(encoder.writeOptions(options, to: &m, nowMs: 1_700_000_002_000)) }
        XCTAssertEqual(o[12 ..< 16].reduce(0) { $0 << 8 | UInt32($1) }, 3, "options packets count too")
        XCTAssertEqual(Array(o[0 ..< 4]), [0, 9, 0, 4], "two options templates and two options records")
        XCTAssertEqual(Array(o[20 ..< 22]), [0, 1], "options template FlowSet 1")
        XCTAssertEqual(sequence(records: 1, templates: false), 4)
    }

    func testUptimeWrapsWithTheHeader() {
        // 49.7 days and 5 ms after start: sysUptime has wrapped to 5; a flow that began 10 ms
        // earlier shows FIRST_SWITCHED 2^32 − 5, and a collector's u32 arithmetic gives 10 ms.
        // (`now` falls on a whole second, where the header's sysUptime is anchored.)
        let start: UInt64 = 1_000_699
        let now = start + (1 << 32) + 5
        let context = EncodingContext(systemInitMs: start)
        XCTAssertEqual(context.uptime(at: now), 5)
        XCTAssertEqual(context.uptime(at: now - 10), UInt32.max - 4)
        XCTAssertEqual(context.uptime(at: now) &- context.uptime(at: now - 10), 10)
        var record = IPFIXEncoderTests.tcpRecord()
        record.firstNs = (now - 10) * 1_000_000
        record.lastNs = now * 1_000_000
        var encoder = NetFlowV9Encoder(sourceID: 1, layouts: [Self.layout, nil, nil], context: context)
        let m = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            _ = encoder.append(record, to: &m)
            encoder.finish(&m, nowMs: now)
        }
        XCTAssertEqual(Array(m[4 ..< 8]), [0, 0, 0, 5])
        XCTAssertEqual(Array(m[24 + 43 ..< 24 + 51]), [0xFF, 0xFF, 0xFF, 0xFB, 0, 0, 0, 5])
    }
}

final class NetFlowV5EncoderTests: XCTestCase {
    static let context = EncodingContext(systemInitMs: 1_700_000_000_000 - 10_000)

    func testPacketByteForByte() {
        var encoder = NetFlowV5Encoder(observationDomain: 0x0203, context: Self.context)
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: true)
            XCTAssertEqual(encoder.append(IPFIXEncoderTests.tcpRecord(), to: &m), .appended)
            encoder.finish(&m, nowMs: 1_700_000_002_250)
        }
        let expected: [UInt8] = [
            0x00, 0x05, 0x00, 0x01, // version 5, count 1
            0x00, 0x00, 0x2F, 0xDA, // sys_uptime 12250
            0x65, 0x53, 0xF1, 0x02, // unix_secs
            0x0E, 0xE6, 0xB2, 0x80, // unix_nsecs 250 000 000
            0x00, 0x00, 0x00, 0x00, // flow_sequence 0
            0x02, 0x03, 0x00, 0x00, // engine type 2, engine id 3, no sampling
            0x0A, 0x4D, 0x00, 0x01, 0x0A, 0x4D, 0x00, 0x02, // src, dst
            0x00, 0x00, 0x00, 0x00, // nexthop
            0x00, 0x07, 0x00, 0x08, // input, output ifIndex
            0x00, 0x00, 0x00, 0x0A, // dPkts
            0x00, 0x00, 0x04, 0xD2, // dOctets
            0x00, 0x00, 0x27, 0x10, // First
            0x00, 0x00, 0x2C, 0xEC, // Last
            0x9C, 0x40, 0x14, 0x51, // ports
            0x00, 0x1B, 0x06, 0x00, // pad1, tcp_flags, prot, tos
            0, 0, 0, 0, 0, 0, 0, 0 // AS, masks, pad2
        ]
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(encoder.sequence, 1)
    }

    func testIPv6IsNotExportable() {
        var encoder = NetFlowV5Encoder(observationDomain: 1, context: Self.context)
        var v6 = FrameBuilder()
        v6.ethernet(type: 0x86DD)
        v6.ipv6(next: 17, payload: 8)
        v6.udp(sport: 1, dport: 2, payload: 0)
        var record = IPFIXEncoderTests.tcpRecord()
        record.key = v6.decode().key
        _ = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            XCTAssertEqual(encoder.append(record, to: &m), .notExportable)
            XCTAssertTrue(encoder.isEmpty(m))
        }
    }

    func testAtMostThirtyRecords() {
        var encoder = NetFlowV5Encoder(observationDomain: 1, context: Self.context)
        _ = withMessage(capacity: 65000) { m in
            encoder.begin(&m, withTemplates: false)
            for _ in 0 ..< 30 { XCTAssertEqual(encoder.append(IPFIXEncoderTests.tcpRecord(), to: &m), .appended) }
            XCTAssertEqual(encoder.append(IPFIXEncoderTests.tcpRecord(), to: &m), .full)
            XCTAssertEqual(m.count, 24 + 30 * 48)
        }
    }

    func testCountersAbove32BitsAreSplitNotWrapped() {
        var encoder = NetFlowV5Encoder(observationDomain: 1, context: Self.context)
        var record = IPFIXEncoderTests.tcpRecord()
        record.packets = (1 << 32) + 10
        record.octets = 3 << 32
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: false)
            XCTAssertEqual(encoder.append(record, to: &m), .appended)
            encoder.finish(&m, nowMs: 1_700_000_002_000)
        }
        let count = Int(bytes[3])
        XCTAssertEqual(count, 4, "3 × 2^32 octets need four records of at most 2^32 − 1")
        var packets: UInt64 = 0, octets: UInt64 = 0
        for i in 0 ..< count {
            let r = 24 + 48 * i
            packets += bytes[r + 16 ..< r + 20].reduce(0) { $0 << 8 | UInt64($1) }
            octets += bytes[r + 20 ..< r + 24].reduce(0) { $0 << 8 | UInt64($1) }
        }
        XCTAssertEqual(packets, record.packets)
        XCTAssertEqual(octets, record.octets)
        XCTAssertEqual(encoder.sequence, 4, "the sequence counts the records sent")
    }

    func testNoOptionsInV5() {
        var encoder = NetFlowV5Encoder(observationDomain: 1, context: Self.context)
        _ = withMessage { m in XCTAssertFalse(encoder.writeOptions(ExportOptions(), to: &m, nowMs: 0)) }
    }
}
