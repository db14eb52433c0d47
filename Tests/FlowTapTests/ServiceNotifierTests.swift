import Glibc
import XCTest

@testable import FlowTapControl
@testable import FlowTapDecode

/// The notify protocol against a real AF_UNIX datagram socket, as systemd listens on one, by path
/// and in the abstract namespace; and the watchdog's rule.
final class ServiceNotifierTests: XCTestCase {
    func listener(_ path: String) -> CInt {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if bytes.first == UInt8(ascii: "@") { raw[0] = 0 }
        }
        let length = socklen_t(
            MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == UInt8(ascii: "@") ? 0 : 1))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        XCTAssertEqual(rc, 0, "bind \(path): \(errno)")
        return fd
    }

    func receive(_ fd: CInt) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : ""
    }

    func testMessagesReachTheSocketByPathAndInTheAbstractNamespace() throws {
        let path = "/tmp/flowtap-notify-\(getpid()).sock"
        unlink(path)
        defer { unlink(path) }
        for name in [path, "@flowtap-notify-\(getpid())"] {
            let fd = listener(name)
            defer { close(fd) }
            let notifier = try ServiceNotifier(path: name, watchdogUs: 2_000_000)
            XCTAssertTrue(notifier.notify("READY=1\nSTATUS=forwarding"))
            XCTAssertEqual(receive(fd), "READY=1\nSTATUS=forwarding")
            XCTAssertTrue(notifier.notify("WATCHDOG=1"))
            XCTAssertEqual(receive(fd), "WATCHDOG=1")
            XCTAssertEqual(notifier.watchdogPingMs, 1000, "half the period")
        }
        XCTAssertThrowsError(try ServiceNotifier(path: "relative.sock", watchdogUs: nil))
    }

    func testTheWatchdogIsPettedOnlyWhileEveryThreadIsAlive() {
        XCTAssertTrue(Liveness.allAlive([1_000, 1_050, 990], now: 1_100, withinMs: 200))
        XCTAssertFalse(Liveness.allAlive([1_000, 700, 990], now: 1_100, withinMs: 200), "one forwarder stalled")
        XCTAssertFalse(Liveness.allAlive([1_000, 0], now: 1_100, withinMs: 200), "a thread that never beat")
    }
}
