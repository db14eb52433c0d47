import XCTest

@testable import FlowTapBase
@testable import FlowTapExport
@testable import FlowTapInspect
@testable import FlowTapMeter

/// The export thread's fields by handle: each kept once, found by its handle until given back,
/// past the store's first size; a handle it did not give names nothing.
final class DetailStoreTests: XCTestCase {
    /// A DNS question, or every seventh an HTTP request with every text full (a copy at growth
    /// moves each one's bytes in use).
    func detail(_ i: Int) -> ApplicationDetail {
        if i % 7 == 3 { return ApplicationDetail(.http, ApplicationDetailTests.fullFacts()[2]) }
        var dns = DNSFacts()
        dns.queryName = BoundedText("q\(i).example")
        return ApplicationDetail(.dns, .dns(dns))
    }

    func testHandlesFindTheirFieldsAcrossGrowth() {
        let store = DetailStore(capacity: 4)
        var handles: [UInt32] = []
        for i in 0 ..< 1000 { handles.append(store.keep(detail(i))) }
        XCTAssertEqual(Set(handles).count, 1000, "every handle its own")
        XCTAssertFalse(handles.contains(0))
        XCTAssertEqual(store.count, 1000)
        for (i, h) in handles.enumerated() where store.value(h) != detail(i) { return XCTFail("handle \(h)") }
        for h in handles where h % 2 == 0 { store.release(h) }
        XCTAssertEqual(store.count, 500)
        XCTAssertNil(store.value(handles[1]), "given back: names nothing")
        XCTAssertEqual(store.value(handles[0]), detail(0))
        store.release(handles[1])
        XCTAssertEqual(store.count, 500, "a handle given back twice counts once")
        XCTAssertEqual(store.keep(nil), 0, "no fields, no handle")
        XCTAssertNil(store.slot(0))
        XCTAssertNil(store.slot(99_999), "a predecessor's handle")
    }

    /// The store's slots come zeroed from calloc: all zeros is the value without fields.
    func testAZeroedSlotIsAValueWithoutFields() {
        var zero = ApplicationDetail(.http, ApplicationDetailTests.fullFacts()[2])
        withUnsafeMutableBytes(of: &zero) { bytes in
            for i in bytes.indices { bytes[i] = 0 }
        }
        XCTAssertEqual(zero, ApplicationDetail(.none))
        XCTAssertEqual(zero.facts, .none)
        XCTAssertEqual(zero.application, .none)
    }

    func testTakenOffTheRingByTheRecordsSerial() {
        let store = DetailStore()
        let ring = DetailRing(capacity: 8)
        for serial in UInt32(1) ... 3 {
            XCTAssertTrue(withUnsafePointer(to: detail(Int(serial))) { ring.push(serial: serial, $0) })
        }
        let h = store.take(from: ring, serial: 2)
        XCTAssertEqual(store.value(h), detail(2), "the one named, those before it dropped")
        XCTAssertEqual(store.take(from: ring, serial: 2), 0, "gone")
        XCTAssertEqual(store.count, 1)
        XCTAssertEqual(store.value(store.take(from: ring, serial: 3)), detail(3))
    }

    /// A full store refused more room (the tests' `limit`; a memory limit in service): a record
    /// goes with its label alone, counted, and its fields still leave the ring, so that the next
    /// record's are found; a slot given back is taken again.
    func testAFullStoreWithoutRoomLetsTheRecordGoWithoutFields() {
        let store = DetailStore(capacity: 2, limit: 4)
        let ring = DetailRing(capacity: 16)
        for serial in UInt32(1) ... 6 {
            XCTAssertTrue(withUnsafePointer(to: detail(Int(serial))) { ring.push(serial: serial, $0) })
        }
        let held = (UInt32(1) ... 4).map { store.take(from: ring, serial: $0) }
        XCTAssertFalse(held.contains(0), "grown once, to its limit")
        XCTAssertEqual(store.withoutRoom, 0)
        XCTAssertEqual(store.take(from: ring, serial: 5), 0, "no room: no fields")
        XCTAssertEqual(store.withoutRoom, 1)
        XCTAssertEqual(store.keep(detail(9)), 0)
        XCTAssertEqual(store.withoutRoom, 2)
        store.release(held[0])
        XCTAssertEqual(store.value(store.take(from: ring, serial: 6)), detail(6), "serial 5's fields left the ring")
        for (i, h) in held.enumerated().dropFirst() { XCTAssertEqual(store.value(h), detail(i + 1)) }
    }

    /// The same through the export thread: the record without room reaches the collector with
    /// its label and no fields, counted.
    func testTheExportThreadSendsARecordWithoutRoomWithItsLabel() throws {
        var got: [(FlowRecord, ApplicationDetail?)] = []
        let ring = DetailRing(capacity: 8)
        let thread = ExportThread(
            rings: [], exporters: [RecordCollector { got.append(($0, $1)) }], command: try ThreadCommand(),
            details: DetailStore(capacity: 1, limit: 1))
        for serial in UInt32(1) ... 2 {
            XCTAssertTrue(withUnsafePointer(to: detail(Int(serial))) { ring.push(serial: serial, $0) })
            var r = IPFIXEncoderTests.tcpRecord()
            r.key = FrameBuilder.tcpv4(sport: 40000 + UInt16(serial), dport: 53).decode().key
            // A connection's client: it waits in the latency join for its server, its fields held.
            r.handshake = TCPHandshake(role: .client, synUs: 1_000, ackUs: 3_000, dataUs: 3_100)
            r.application = ApplicationID.dns.rawValue
            r.detailSerial = serial
            thread.deliver(r, details: ring, nowMs: 1)
        }
        thread.finish(nowMs: 2)
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got.map(\.0.application), [ApplicationID.dns.rawValue, ApplicationID.dns.rawValue])
        XCTAssertEqual(got.map { $0.1 == nil }, [false, true], "the first with its fields, the second without")
        XCTAssertEqual(thread.details.withoutRoom, 1)
        XCTAssertEqual(ring.count, 0, "both fields off the ring")
    }
}
