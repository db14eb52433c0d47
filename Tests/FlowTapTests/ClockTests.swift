import Foundation
import Synchronization
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode

final class ClockTests: XCTestCase {
    /// Both forwarding threads stamp records with the same offset, so that the order of two
    /// directions' start times is the order of their monotonic readings (biflow orientation).
    func testEveryThreadGetsOneWallOffset() {
        let perThread = 20_000
        let all = Mutex<Set<UInt64>>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            var seen = Set<UInt64>()
            for _ in 0 ..< perThread { seen.insert(MonotonicClock.wallOffsetNs()) }
            all.withLock { $0.formUnion(seen) }
        }
        let offsets = all.withLock { $0 }
        XCTAssertEqual(offsets.count, 1, "one offset for \(2 * perThread) readings on two threads")
        let fresh = WallClock.nowNs() &- MonotonicClock.nowNs()
        let offset = offsets.first ?? 0
        XCTAssertLessThan(
            offset > fresh ? offset - fresh : fresh - offset, WallClockOffset.stepNs,
            "and it is the wall clock's offset")
    }
}
