import Glibc

/// A problem that stops flowtap from starting, told as one line: what is wrong, then the fix.
public struct SetupError: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public let fix: String

    public init(_ problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(problem); \(fix)" }

    /// The text of an errno value, as strerror(3) gives it.
    package static func text(_ errnoValue: CInt) -> String { String(cString: strerror(errnoValue)) }

    package static func permission(_ what: String, capability: String) -> SetupError {
        SetupError(
            "no permission to \(what)",
            fix:
                "flowtap needs \(capability): run it as root (it drops to --user after setup) or under systemd with User= and AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW; do not setcap the binary, which would let any local user attach to idle TAPs and send from any address"
        )
    }
}
