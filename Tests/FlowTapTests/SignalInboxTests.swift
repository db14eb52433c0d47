import Glibc
import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode

/// In a forked child, since the signal setup is the process's: a thread that unblocks SIGPIPE
/// (as libdispatch's workers do) and writes to a socket whose peer is gone gets EPIPE instead
/// of ending the process.
final class SignalInboxTests: XCTestCase {
    func testAWriteToAClosedPeerNeverEndsTheProcess() {
        let end = inForkedChild {
            guard (try? SignalInbox()) != nil else { _exit(10) }
            var pipe = sigset_t()
            sigemptyset(&pipe)
            sigaddset(&pipe, SIGPIPE)
            guard pthread_sigmask(SIG_UNBLOCK, &pipe, nil) == 0 else { _exit(11) }
            var fds: [CInt] = [0, 0]
            guard socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue), 0, &fds) == 0 else { _exit(12) }
            close(fds[1])
            var byte: UInt8 = 1
            guard write(fds[0], &byte, 1) < 0 && errno == EPIPE else { _exit(13) }
        }
        XCTAssertEqual(end.signal, 0, "the child was killed by signal \(end.signal) (13: SIGPIPE)")
        XCTAssertEqual(end.status, 0, "the child's step that failed")
    }
}
