import XCTest

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
}
