import Foundation
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode

final class ClockTests: XCTestCase {
    /// Both forwarding threads stamp records with the same offset, so that the order of two
    /// directions' start times is the order of their monotonic readings (biflow orientation).
    func testEveryThreadGetsOneWallOffset() {
        let perThread = 20_000
        // Each thread its own slot, read after both are done: ThreadSanitizer sees dispatch's
        // join, but not the futex under Synchronization's Mutex, and took the Mutex's two
        // guarded writes for a race (a ThreadSanitizer run of this session's tests).
        nonisolated(unsafe) let seen = UnsafeMutableBufferPointer<Set<UInt64>>.allocate(capacity: 2)
        seen.initialize(repeating: [])
        defer {
            _ = seen.deinitialize()
            seen.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            var mine = Set<UInt64>()
            for _ in 0 ..< perThread { mine.insert(MonotonicClock.wallOffsetNs()) }
            seen[thread] = mine
        }
        let offsets = seen[0].union(seen[1])
        XCTAssertEqual(offsets.count, 1, "one offset for \(2 * perThread) readings on two threads")
        let fresh = WallClock.nowNs() &- MonotonicClock.nowNs()
        let offset = offsets.first ?? 0
        XCTAssertLessThan(
            offset > fresh ? offset - fresh : fresh - offset, WallClockOffset.stepNs,
            "and it is the wall clock's offset")
    }
}
