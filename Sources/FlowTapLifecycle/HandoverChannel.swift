import FlowTapBase
import Glibc

/// The line protocol of a handover over the control connection, after the offer: the successor
/// says "park" once it holds the descriptors, the running flowtap answers "parked" once every
/// thread is parked, the successor says "started" once its threads run. Each wait is bounded:
/// a silent or dead peer is a failed handover, never a hang.
struct HandoverChannel {
    let socket: Descriptor
    static let timeoutMs: CInt = 10_000

    func send(_ line: String) -> Bool {
        (try? socket.write(all: Array((line + "\n").utf8))) != nil
    }

    /// The next line, or nil on a timeout, an error or the peer's close.
    func receive(timeoutMs: CInt = Self.timeoutMs) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = MonotonicClock.nowMs() + UInt64(timeoutMs)
        while line.count < 4096 {
            let now = MonotonicClock.nowMs()
            guard now < deadline, SystemCall.pollReadable(socket.descriptor, -1, timeoutMs: CInt(deadline - now)) > 0
            else { return nil }
            let n = SystemCall.read(socket.descriptor, &byte, 1)
            guard n == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }
}
