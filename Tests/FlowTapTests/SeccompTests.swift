import CFlowTapLinux
import CFlowTapTestSupport
import Glibc
import XCTest

@testable import FlowTapDecode
@testable import FlowTapSecurity

/// The seccomp filter in a forked child (it cannot be removed once installed): an allowed call
/// works, a call outside the allowlist fails with EPERM (with `--seccomp trap` it is also named
/// on stderr), even where SIGSYS is blocked, an ioctl other than TCGETS is refused, open, socket
/// and connect fail quietly, and a thread that was running before the filter came is filtered
/// too. Needs no root: no_new_privs lets any process filter itself.
final class SeccompTests: XCTestCase {
    func testTheTrappingFilterRefusesWhatIsNotListedAndSaysSo() throws {
        // AddressSanitizer's exit hook (its leak check) makes calls the filter refuses; the
        // plain and ThreadSanitizer runs cover this test.
        try XCTSkipIf(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil, "not under AddressSanitizer")
        var pipeFDs: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        let numbers = SeccompAllowlist.numbers
        XCTAssertFalse(
            numbers.contains(cftt_syscall_number("getppid")), "the probe's list must not hold the call this test uses")
        XCTAssertFalse(numbers.contains(-1))
        let end = inForkedChild {
            dup2(pipeFDs[1], 2)
            let devNull = open("/dev/null", O_RDONLY)
            dup2(devNull, 0)
            guard cft_set_no_new_privs() == 0 else { _exit(10) }
            let rc = numbers.withUnsafeBufferPointer { cft_install_seccomp($0.baseAddress, CInt($0.count), 1, 0) }
            guard rc == 0 else { _exit(11) }
            guard socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) < 0 && errno == EACCES else { _exit(19) } // quietly
            var unix = sockaddr_un()
            unix.sun_family = sa_family_t(AF_UNIX)
            let connected = withUnsafePointer(to: &unix) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected < 0 && errno == EACCES else { _exit(20) } // quietly too
            guard getpid() > 0 else { _exit(12) } // listed: works
            guard getppid() < 0 else { _exit(13) } // not listed: fails, not killed
            var size = winsize()
            guard ioctl(0, UInt(TIOCGWINSZ), &size) < 0 && errno == EPERM else { _exit(14) } // not TCGETS
            guard open("/etc/hostname", O_RDONLY) < 0 && errno == EACCES else { _exit(16) } // no file, quietly
            guard open("/proc/self/stat", O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES else { _exit(21) }
            // None passes.
            guard open("/proc/self/stat", O_RDONLY | O_NONBLOCK) < 0 && errno == EACCES else { _exit(22) }
            var mode = termios()
            errno = 0
            guard tcgetattr(0, &mode) == 0 || errno != EPERM else { _exit(15) } // TCGETS: the kernel answers
        }
        close(pipeFDs[1])
        let bytes = readToEnd(pipeFDs[0])
        close(pipeFDs[0])
        let stderr = String(decoding: bytes, as: UTF8.self)
        XCTAssertEqual(end, ChildEnd(signal: 0, status: 0), "the child's signal or failed step; stderr: \(stderr)")
        XCTAssertGreaterThan(cftt_syscall_number("getppid"), 0)
        XCTAssertTrue(stderr.contains("flowtap: seccomp refused system call \(cftt_syscall_number("getppid"))"), stderr)
        XCTAssertTrue(stderr.contains("flowtap: seccomp refused system call \(cftt_syscall_number("ioctl"))"), stderr)
        XCTAssertFalse(
            stderr.contains("system call \(cftt_syscall_number("openat"))"), "open is refused quietly: \(stderr)")
        XCTAssertFalse(
            stderr.contains("system call \(cftt_syscall_number("socket"))"), "socket is refused quietly: \(stderr)")
        XCTAssertFalse(
            stderr.contains("system call \(cftt_syscall_number("connect"))"), "connect is refused quietly: \(stderr)")
    }

    /// The default filter: a refused call fails with EPERM and nothing is written, and so it does
    /// where SIGSYS is blocked, as glibc blocks every signal while it starts or ends a thread. The
    /// trapping filter, there, ends the process with SIGSYS: how flowtap once died silently under
    /// load, when a call outside the allowlist came in such a window.
    func testARefusedCallWithSIGSYSBlockedFailsByDefaultAndKillsOnlyWhenTrapped() throws {
        try XCTSkipIf(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil, "not under AddressSanitizer")
        let numbers = SeccompAllowlist.numbers
        XCTAssertFalse(
            numbers.contains(cftt_syscall_number("getsid")), "the probe's list must not hold the call this test uses")
        func refuseWithSIGSYSBlocked(trap: CInt, stderrTo fd: CInt) -> ChildEnd {
            inForkedChild {
                dup2(fd, 2)
                guard cft_set_no_new_privs() == 0 else { _exit(10) }
                let rc = numbers.withUnsafeBufferPointer {
                    cft_install_seccomp($0.baseAddress, CInt($0.count), trap, 0)
                }
                guard rc == 0 else { _exit(11) }
                // getsid, not getppid: glibc's getppid cannot fail, so it leaves errno alone.
                guard getsid(0) < 0 && errno == EPERM else { _exit(13) } // refused, not killed
                var blocked = sigset_t()
                sigemptyset(&blocked)
                sigaddset(&blocked, SIGSYS)
                guard pthread_sigmask(SIG_BLOCK, &blocked, nil) == 0 else { _exit(12) }
                guard getsid(0) < 0 && errno == EPERM else { _exit(14) } // and so with SIGSYS blocked
            }
        }
        var pipeFDs: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        let quiet = refuseWithSIGSYSBlocked(trap: 0, stderrTo: pipeFDs[1])
        close(pipeFDs[1])
        let written = readToEnd(pipeFDs[0])
        close(pipeFDs[0])
        XCTAssertEqual(quiet, ChildEnd(signal: 0, status: 0), "the child's signal or failed step")
        XCTAssertEqual(String(decoding: written, as: UTF8.self), "", "the default filter writes nothing")
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        XCTAssertEqual(
            refuseWithSIGSYSBlocked(trap: 1, stderrTo: devNull).signal, SIGSYS,
            "a trapped call with SIGSYS blocked ends the process")
    }

    /// TSYNC: a thread that runs before the filter is installed gets it
    /// too. ThreadSanitizer cannot start a thread in a forked child of a threaded process; the
    /// plain run covers this test.
    func testTheFilterCoversThreadsStartedBeforeIt() throws {
        try XCTSkipIf(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil, "not under AddressSanitizer")
        try XCTSkipIf(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil, "not under ThreadSanitizer")
        let numbers = SeccompAllowlist.numbers
        let end = inForkedChild {
            let devNull = open("/dev/null", O_WRONLY)
            dup2(devNull, 2)
            guard cft_set_no_new_privs() == 0 else { _exit(10) }
            // A thread started before the filter, which tries a refused call once let go.
            var gate: [CInt] = [0, 0]
            guard pipe(&gate) == 0 else { _exit(17) }
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { arg in
                    var byte: UInt8 = 0
                    _ = read(CInt(Int(bitPattern: arg)), &byte, 1)
                    return UnsafeMutableRawPointer(bitPattern: getppid() < 0 ? 1 : 2)
                }, UnsafeMutableRawPointer(bitPattern: Int(gate[0])))
            guard started == 0 else { _exit(17) }
            let rc = numbers.withUnsafeBufferPointer { cft_install_seccomp($0.baseAddress, CInt($0.count), 0, 0) }
            guard rc == 0 else { _exit(11) }
            var go: UInt8 = 1
            var outcome: UnsafeMutableRawPointer?
            guard write(gate[1], &go, 1) == 1, pthread_join(thread, &outcome) == 0,
                Int(bitPattern: outcome) == 1
            else { _exit(18) } // the older thread is filtered
        }
        XCTAssertEqual(
            end, ChildEnd(signal: 0, status: 0),
            "the child's signal or failed step (18: the older thread was not filtered)")
    }

    /// A name the shim does not know is a misspelling, or a call its table lacks: it would be
    /// left out of the filter without a word.
    func testTheShimKnowsEveryListedName() {
        for name in SeccompAllowlist.calls.map(\.name) {
            XCTAssertNotEqual(cft_syscall_number(name), CInt(CFT_UNKNOWN_CALL), "\(name) is not in seccomp.c's table")
        }
        XCTAssertEqual(cft_syscall_number("reed"), CInt(CFT_UNKNOWN_CALL), "a misspelt name is unknown")
        XCTAssertEqual(
            cft_syscall_number("getppid"), CInt(CFT_UNKNOWN_CALL), "the table lists only the allowlist's calls")
    }

    func testEveryListedCallExistsOnThisArchitectureOrIsAnAlternative() {
        let missing = SeccompAllowlist.calls.map(\.name).filter { cft_syscall_number($0) < 0 }
        // poll and ppoll, clone and clone3, nanosleep and clock_nanosleep, fstat and newfstatat
        // are alternatives: the architecture has at least one of each.
        for name in missing {
            XCTAssertTrue(["poll", "ppoll", "clone", "clone3", "nanosleep", "fstat", "newfstatat"].contains(name), name)
        }
    }
}
