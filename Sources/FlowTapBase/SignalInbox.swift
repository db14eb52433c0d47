import CFlowTapLinux
import Glibc

/// The signals a terminal or a service manager sends, taken through a signalfd by the main
/// thread alone: every thread inherits a mask that blocks them, so none of them ever runs its
/// default action (which for all of these but none would end the process with its flows unsent).
///
/// - INT, TERM, HUP, QUIT: stop forwarding, export every flow ("forced end"), exit 0.
/// - USR1: log the counters so far, keep running.
/// - USR2: logged and ignored (reserved).
/// - PIPE: ignored (SIG_IGN as well as blocked, should any thread unblock it); a write to a
///   closed pipe or socket fails with EPIPE and is handled there.
public final class SignalInbox {
    private let owned: Descriptor
    public var descriptor: CInt { owned.descriptor }

    public enum Action: Equatable { case stop, report, ignore }

    public init() throws(SetupError) {
        let blocked = cft_block_handled_signals()
        guard blocked == 0 else {
            throw SetupError(
                "cannot block the termination signals: \(SetupError.text(-blocked))", fix: "report this as a bug")
        }
        let fd = cft_handled_signalfd()
        guard fd >= 0 else {
            throw SetupError(
                "cannot create a signalfd: \(SetupError.text(-fd))", fix: "raise the open-file limit (ulimit -n)")
        }
        owned = Descriptor(adopting: fd)
    }

    /// The next pending signal, or nil when none is.
    public func next() -> CInt? {
        let s = cft_signalfd_read(descriptor)
        return s > 0 ? CInt(s) : nil
    }

    public static func action(_ signal: CInt) -> Action {
        switch signal {
        case SIGINT, SIGTERM, SIGHUP, SIGQUIT: .stop
        case SIGUSR1: .report
        default: .ignore
        }
    }

    public static func name(_ signal: CInt) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        default: "signal \(signal)"
        }
    }
}
