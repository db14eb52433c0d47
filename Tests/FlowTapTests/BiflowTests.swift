import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapExport
@testable import FlowTapInspect
@testable import FlowTapMeter

final class BiflowTests: XCTestCase {
    func record(_ key: FlowKey, packets: UInt64, first: UInt64, direction: UInt8 = 0) -> FlowRecord {
        FlowRecord(
            key: key, packets: packets, octets: packets * 100, firstNs: first, lastNs: first + 10,
            ingressInterface: direction == 0 ? 7 : 8, egressInterface: direction == 0 ? 8 : 7,
            tcpFlags: TCPFlags.ack, endReason: .idleTimeout, direction: direction)
    }

    let client = FrameBuilder.tcpv4(sport: 40000, dport: 80).decode().key

    func testReverseKeys() {
        let r = client.reverseKey
        XCTAssertEqual(r.sourceIPv4, client.destinationIPv4)
        XCTAssertEqual(r.destinationIPv4, client.sourceIPv4)
        XCTAssertEqual(r.sourcePort, 80)
        XCTAssertEqual(r.destinationPort, 40000)
        XCTAssertEqual(r.sourceMAC, client.destinationMAC)
        XCTAssertEqual(r.etherType, client.etherType)
        XCTAssertEqual(r.reverseKey, client)

        var ping = FrameBuilder()
        ping.ethernet(type: 0x0800)
        ping.ipv4(proto: 1, payload: 8)
        ping.raw([8, 0, 0, 0, 0, 0, 0, 0])
        let request = ping.decode().key
        XCTAssertEqual(request.reverseKey.destinationPort, 0x0000, "an echo request's reverse is the echo reply")
        XCTAssertEqual(request.reverseKey.reverseKey, request)
    }

    func testTheTwoDirectionsBecomeOneRecordOrientedByTheInitiator() {
        let assembler = BiflowAssembler(memorySeconds: 60)
        var out: [FlowRecord] = []
        assembler.add(record(client.reverseKey, packets: 3, first: 200, direction: 1), now: 1000) { out.append($0) }
        XCTAssertTrue(out.isEmpty, "the server's side waits for the client's")
        assembler.add(record(client, packets: 5, first: 100), now: 1500) { out.append($0) }
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].key, client, "the side whose first packet came first is forward")
        XCTAssertEqual(out[0].packets, 5)
        XCTAssertEqual(out[0].reversePackets, 3)
        XCTAssertEqual(out[0].reverseFirstNs, 200)
        XCTAssertEqual(assembler.paired, 1)
    }

    /// A handover: the waiting side is taken out without going out, and pairs with its reverse
    /// in the successor's assembler.
    func testAWaitingRecordTakenAtAHandoverPairsInTheSuccessor() {
        let old = BiflowAssembler(memorySeconds: 60)
        var out: [FlowRecord] = []
        old.add(record(client.reverseKey, packets: 3, first: 200, direction: 1), now: 1000) { out.append($0) }
        let waiting = old.takeWaiting()
        XCTAssertEqual(waiting.count, 1)
        XCTAssertEqual(old.waiting, 0)
        old.flush(now: 2000) { out.append($0) }
        XCTAssertTrue(out.isEmpty, "taken, not sent")
        let successor = BiflowAssembler(memorySeconds: 60)
        for r in waiting { successor.add(r, now: 3000) { out.append($0) } }
        successor.add(record(client, packets: 5, first: 100), now: 3500) { out.append($0) }
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].packets, 5)
        XCTAssertEqual(out[0].reversePackets, 3, "one biflow record, not two one-way ones")
    }

    func testOrientationHoldsForTheConversationsLife() {
        let assembler = BiflowAssembler(memorySeconds: 60)
        var out: [FlowRecord] = []
        assembler.add(record(client, packets: 5, first: 100), now: 0) { out.append($0) }
        assembler.add(record(client.reverseKey, packets: 3, first: 200, direction: 1), now: 0) { out.append($0) }
        // An active-timeout report in which the server's side happened to speak first.
        assembler.add(record(client.reverseKey, packets: 2, first: 5000, direction: 1), now: 10) { out.append($0) }
        assembler.add(record(client, packets: 1, first: 6000), now: 10) { out.append($0) }
        XCTAssertEqual(out.map(\.key), [client, client], "still the client's orientation")
        XCTAssertEqual(out[1].reversePackets, 2)
    }

    func testARecordWithoutItsReverseGoesOutAfterTheHold() {
        let assembler = BiflowAssembler(holdSeconds: 3, memorySeconds: 60)
        var out: [FlowRecord] = []
        assembler.add(record(client, packets: 5, first: 100), now: 0) { out.append($0) }
        assembler.add(record(client.reverseKey, packets: 3, first: 200, direction: 1), now: 0) { out.append($0) }
        // Later the server's side alone: it goes out in the client's orientation.
        assembler.add(record(client.reverseKey, packets: 4, first: 9_000, direction: 1), now: 10_000_000_000) {
            out.append($0)
        }
        assembler.expire(now: 12_999_999_999) { out.append($0) }
        XCTAssertEqual(out.count, 1)
        assembler.expire(now: 13_000_000_000) { out.append($0) }
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[1].key, client)
        XCTAssertEqual(out[1].packets, 0)
        XCTAssertEqual(out[1].reversePackets, 4)
        XCTAssertEqual(out[1].ingressInterface, 7, "interfaces and direction are the forward side's")
        XCTAssertEqual(out[1].direction, 0)
        XCTAssertEqual(assembler.single, 1)
    }

    func testTemplatesCarryEnterpriseReverseFields() {
        let layout = RecordLayout.layouts(for: [.l3, .l4], biflow: true)[0]!
        XCTAssertEqual(layout.fields.filter { $0.enterprise == FlowField.reversePEN }.map(\.elementID), [6, 2, 1])
        XCTAssertEqual(layout.fields.last, .biflowDirection)
        var encoder = IPFIXEncoder(
            observationDomain: 1, layouts: [layout, nil, nil], context: EncodingContext(systemInitMs: 0))
        let bytes = withMessage { m in
            encoder.begin(&m, withTemplates: true)
            var r = IPFIXEncoderTests.tcpRecord()
            r.reversePackets = 0x0102
            XCTAssertEqual(encoder.append(r, to: &m), .appended)
            encoder.finish(&m, nowMs: 0)
        }
        let reversePackets: [UInt8] = [0x80, 0x02, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79] // E bit | 2, length 8, PEN 29305
        XCTAssertNotNil(bytes.firstRange(of: reversePackets), "an enterprise field specifier with PEN 29305")
        XCTAssertNotNil(
            bytes.firstRange(of: [0, 0, 0, 0, 0, 0, 0x01, 0x02] as [UInt8]), "the reverse packet count in the record")
        XCTAssertNotEqual(
            layout.templateID(avoiding: []), RecordLayout.layouts(for: [.l3, .l4])[0]!.templateID(avoiding: []))
    }

    /// Each record's fields go with it through the pairing: a second record of a key that
    /// sends the first out alone does not take the first's fields, nor leave them behind.
    func testFieldsFollowTheirOwnRecordsThroughThePairing() throws {
        var got: [(FlowRecord, ApplicationDetail?)] = []
        let thread = ExportThread(
            rings: [], exporters: [], biflowExporters: [RecordCollector { got.append(($0, $1)) }],
            biflow: BiflowAssembler(holdSeconds: 30, memorySeconds: 60), command: try ThreadCommand())
        func dns(_ name: String, _ rcode: UInt8?) -> ApplicationDetail {
            var d = DNSFacts()
            d.queryName = BoundedText(name)
            d.responseCode = rcode
            return ApplicationDetail(.dns, .dns(d))
        }
        let key = FrameBuilder.tcpv4(sport: 40000, dport: 53).decode().key
        thread.deliver(record(key, packets: 1, first: 1_000), detail: dns("first.test", nil), nowMs: 1)
        thread.deliver(record(key, packets: 1, first: 2_000), detail: dns("second.test", nil), nowMs: 2)
        thread.deliver(
            record(key.reverseKey, packets: 1, first: 2_500, direction: 1), detail: dns("second.test", 3), nowMs: 3)
        thread.finish(nowMs: 4)
        let fields = got.map { r -> String in
            guard case let .dns(d)? = r.1?.facts else { return "none" }
            return "\(d.queryName.string) \(d.responseCode.map(String.init) ?? "-")"
        }
        XCTAssertEqual(fields, ["first.test -", "second.test 3"], "the first alone with its own, the second paired")
        XCTAssertEqual(thread.details.count, 0, "every handle given back")
    }
}
