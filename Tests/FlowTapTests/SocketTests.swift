import Glibc
import SystemPackage
import XCTest

@testable import FlowTapBase
@testable import FlowTapControl
@testable import FlowTapDecode
@testable import FlowTapSend

/// The syscall layer's sockets and addresses, on loopback and Unix sockets (no root needed).
final class SocketTests: XCTestCase {
    func testAnIPAddressRoundTripsThroughItsSockaddr() {
        for text in ["10.1.2.3", "fd00::1:2"] {
            let ip = IPAddress(text)!
            let address = SocketAddress(ip, port: 4739)
            XCTAssertEqual(address.ipAddress, ip)
            XCTAssertEqual(address.family, ip.isIPv6 ? AF_INET6 : AF_INET)
            XCTAssertEqual(
                Int(address.length), ip.isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        }
    }

    func testUnixPathsAndAbstractNames() {
        XCTAssertNil(SocketAddress(unixPath: "relative.sock"))
        XCTAssertNil(SocketAddress(unixPath: "/" + String(repeating: "x", count: 200)))
        // sun_family, the path and its terminating zero; an abstract name has none.
        XCTAssertEqual(SocketAddress(unixPath: "/run/a.sock")?.length, socklen_t(2 + 11 + 1))
        XCTAssertEqual(SocketAddress(unixPath: "@notify")?.length, socklen_t(2 + 7))
    }

    func testConnectAndBindFailuresAreTypedErrors() throws {
        let path = "/tmp/flowtap-sockettest-\(getpid()).sock"
        XCTAssertThrowsError(try ControlSocket.connect(path)) { XCTAssertEqual($0 as? Errno, .noSuchFileOrDirectory) }
        let socket = try Descriptor(socket: AF_INET, type: SOCK_DGRAM)
        // 192.0.2.1 (TEST-NET-1) is no address of this host.
        XCTAssertThrowsError(try socket.bind(SocketAddress(IPAddress("192.0.2.1")!, port: 0))) {
            XCTAssertEqual($0 as? Errno, .addressNotAvailable)
        }
    }

    func testAUnixStreamCarriesARequestAndItsAnswer() throws {
        let path = "/tmp/flowtap-sockettest-\(getpid())-stream.sock"
        try SystemCall.removeFile(path)
        defer { try? SystemCall.removeFile(path) }
        let server = try Descriptor(socket: AF_UNIX, type: SOCK_STREAM)
        try server.bind(XCTUnwrap(SocketAddress(unixPath: path)))
        try server.listen(backlog: 1)
        let client = try ControlSocket.connect(path)
        try client.write(all: Array("stats\n".utf8))
        let accepted = Descriptor(adopting: accept(server.descriptor, nil, nil))
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(read(accepted.descriptor, &buffer, 16), 6)
        try accepted.write(all: Array("{}".utf8))
        shutdown(accepted.descriptor, Int32(SHUT_WR))
        XCTAssertEqual(try client.readToEnd(), Array("{}".utf8))
    }

    func testTheLocalAddressOfAConnectedDatagramSocketIsTheRoutesSource() throws {
        let source = try RawSockets.sourceAddress(toward: IPAddress("127.0.0.1")!, port: 4739)
        XCTAssertEqual(source, IPAddress("127.0.0.1"))
    }
}
