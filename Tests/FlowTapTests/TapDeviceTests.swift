import CFlowTapLinux
import CFlowTapTestSupport
import Glibc
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapDevice

/// Real TAPs, made in a private network namespace that exists only for this test's thread, so
/// the host's interfaces are never touched. Needs root; skipped otherwise.
final class TapDeviceTests: XCTestCase {
    /// Runs `body` on a new thread that first moves into a fresh network namespace (unshare
    /// CLONE_NEWNET); the namespace disappears when the thread ends.
    func inPrivateNamespace(_ body: @escaping @Sendable () -> Void) throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to create a network namespace and TAPs")
        guard
            let thread = PosixThread(
                name: "tap-test",
                {
                    guard cftt_unshare_network_namespace() == 0 else { return XCTFail("unshare(CLONE_NEWNET) failed") }
                    body()
                })
        else { return XCTFail("no thread") }
        thread.join()
    }

    static func attachError(_ name: String) -> SetupError? {
        do {
            _ = try TapDevice.attach(name: name)
            return nil
        } catch {
            return error
        }
    }

    func testCreatesAttachesAndRefusesASecondReader() throws {
        try inPrivateNamespace {
            do {
                let tap = try TapDevice.attach(name: "fttest0")
                XCTAssertTrue(tap.created)
                XCTAssertEqual(tap.name, "fttest0")
                XCTAssertGreaterThan(tap.ifIndex, 0)
                XCTAssertTrue(tap.isUp, "a TAP flowtap creates is brought up")
                XCTAssertTrue(Self.attachError("fttest0")?.problem.contains("already attached") ?? false)
            } catch {
                XCTFail("\(error)")
            }
            XCTAssertTrue(
                Self.attachError("lo")?.problem.contains("not a TAP") ?? false,
                "\(String(describing: Self.attachError("lo")))")
        }
    }

    func testFramesWrittenToOneTAPAreReadFromItsPeerWithoutChange() throws {
        // Two TAPs bridged in the private namespace: what flowtap writes to one comes out of the other.
        try inPrivateNamespace {
            do {
                let a = try TapDevice.attach(name: "fta")
                let b = try TapDevice.attach(name: "ftb")
                XCTAssertEqual(
                    system(
                        "ip link add ftbr type bridge stp_state 0 forward_delay 0 && ip link set fta master ftbr && ip link set ftb master ftbr && ip link set ftbr up"
                    ), 0)
                var frame = FrameBuilder.tcpv4(payload: 64).bytes
                frame[0] = 0x02 // unicast, locally administered
                XCTAssertNotEqual(if_nametoindex("ftbr"), 0, "the bridge is in this namespace")
                // The namespace's own chatter (IPv6 MLD) may come out too: look for our frame.
                var buffer = [UInt8](repeating: 0, count: 2048)
                var found = false
                for attempt in 0 ..< 200 where !found {
                    if attempt % 20 == 0 { // the bridge ports may take a moment to forward
                        let n = frame.withUnsafeBytes { SystemCall.write(a.descriptor, $0.baseAddress!, $0.count) }
                        XCTAssertEqual(n, frame.count)
                    }
                    let got = buffer.withUnsafeMutableBytes { SystemCall.read(b.descriptor, $0.baseAddress!, $0.count) }
                    if got > 0 { found = Array(buffer.prefix(got)) == frame } else { usleep(10000) }
                }
                XCTAssertTrue(found, "the frame written to fta came out of ftb unchanged")
            } catch {
                XCTFail("\(error)")
            }
        }
    }
}
