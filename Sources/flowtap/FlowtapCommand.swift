import ArgumentParser
import FlowTapBase
import FlowTapControl
import FlowTapDecode
import FlowTapEncode
import FlowTapMeter
import FlowTapProbe
import FlowTapSecurity
import FlowTapSetup
import Glibc
import Logging

struct Flowtap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowtap",
        abstract:
            "An inline flow probe: forwards frames between two TAPs and exports their flows as IPFIX or NetFlow v9/v5.",
        version: FlowtapVersion.string,
        subcommands: [Run.self, Read.self, Reload.self, Show.self, Expire.self, Templates.self, SetTimeouts.self]
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward TAP a <-> TAP b and export the flows that cross.",
        discussion: """
            Every frame read from one TAP is written unchanged to the other. Flows are exported when \
            idle, at each active timeout (as deltas), at TCP FIN/RST, when the cache is full, and \
            on SIGINT/SIGTERM, which exports every flow before exit.
            """
    )

    @Option(name: .customLong("tap-a"), help: ArgumentHelp("TAP on one side; created if absent.", valueName: "name"))
    var tapA: String

    @Option(
        name: .customLong("tap-b"), help: ArgumentHelp("TAP on the other side; created if absent.", valueName: "name"))
    var tapB: String

    @Option(
        help: ArgumentHelp(
            "Source address of export packets, one per family (default: the route's).", valueName: "addr"),
        transform: IPAddress.parse)
    var source: [IPAddress] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Queues per TAP (IFF_MULTI_QUEUE; the TAPs must be made with 'multi_queue'), a forwarding thread per queue and direction.",
            valueName: "n"))
    var queues: Int = defaults.queues

    @Option(help: ArgumentHelp("Pin the forwarding threads to these CPUs in turn, e.g. 0,1.", valueName: "list"))
    var cpus: CPUList?

    @Flag(
        help:
            "Open the TAPs with virtio_net_hdr and TSO/USO/checksum offloads: super-frames cross unchanged and count as the segments a wire would carry."
    )
    var offload = false

    @Flag(
        help:
            "Take the TAPs, the export sockets and the flows over from the flowtap serving the same control socket (an upgrade or a new configuration without a link outage). The TAPs, --offload and --queues must be the running one's; on any failure the running one goes on."
    )
    var takeover = false

    @Option(
        help: ArgumentHelp(
            "Account to run as once the TAPs and sockets are open (default: nobody when started as root, else the current user); root keeps uid 0, still without capabilities.",
            valueName: "name"))
    var user: String?

    @Option(
        help: ArgumentHelp(
            "The system call allowlist installed after the privilege drop: on (any other call fails with EPERM), trap (any other call is logged, and may end flowtap: for finding allowlist gaps), or off.",
            valueName: "on|trap|off"))
    var seccomp: SeccompMode = defaults.seccomp

    @Option(
        help: ArgumentHelp(
            "Control socket for 'flowtap show', 'expire', 'templates', 'set' (mode 0660), or none. Default: /run/flowtap/TAPA-TAPB.sock.",
            valueName: "path"))
    var control: String?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://ADDR:PORT/metrics; a port alone listens on every address. Off by default.",
            valueName: "[addr:]port"), transform: MetricsAddress.parse)
    var metrics: MetricsAddress?

    @Option(
        help: ArgumentHelp(
            "Also write the IPFIX records to files (RFC 5655): PATH, or with --output-rotate PATH.YYYYmmddHHMMSS; each complete when renamed from .partial.",
            valueName: "path"))
    var output: String?

    @Option(
        name: .customLong("output-rotate"), parsing: .unconditional,
        help: ArgumentHelp(
            "Start a new --output file every S seconds, each with its own templates (0: one file).", valueName: "s"))
    var outputRotate: Int = 0

    @OptionGroup var exportOptions: ExportArguments

    static let defaults = ProbeConfiguration.defaults

    /// Turns the flags into a configuration, or the first problem found. Each value is already
    /// of its type (ExpressibleByArgument); `validate()` holds every rule.
    func configuration() throws(SetupError) -> ProbeConfiguration {
        var config = ProbeConfiguration(tapA: tapA, tapB: tapB, collectors: try exportOptions.collectors())
        exportOptions.apply(to: &config)
        config.sources = source
        config.offload = offload
        config.queues = queues
        config.cpus = cpus?.cpus ?? []
        config.user = user
        config.seccomp = seccomp
        config.takeover = takeover
        switch control {
        case "none": config.controlPath = nil
        case let path?: config.controlPath = path
        case nil: config.controlPath = ControlSocket.defaultPath(tapA: tapA, tapB: tapB)
        }
        config.metrics = metrics
        config.output = output
        config.outputRotate = outputRotate
        try config.validate()
        return config
    }

    func run() throws {
        let config = try configuration()
        exportOptions.bootstrapLogging()
        let logger = Logger(label: "flowtap")
        let summary = try Probe.run(config, logger: logger)
        print(summary.line)
        for line in summary.collectorLines { print(line) }
        if !summary.issueLine.isEmpty { print("flowtap: undecodable frames by reason: \(summary.issueLine)") }
        fflush(nil)
        switch summary.ending {
        case .signal, .handedOver: return
        case .failure: throw ExitCode(1)
        case .reloading: throw ExitCode(Probe.reloadExitStatus)
        }
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--cpus 0,1`: CPU numbers, as `nproc` counts them.
struct CPUList: ExpressibleByArgument {
    var cpus: [Int]
    init?(argument: String) {
        var list: [Int] = []
        for part in argument.split(separator: ",") {
            guard let cpu = Int(part.filter { $0 != " " }) else { return nil }
            list.append(cpu)
        }
        guard !list.isEmpty else { return nil }
        cpus = list
    }
}

// Every option's type parses itself, so that --help lists the values and a bad one is named.
extension Logger.Level: @retroactive ExpressibleByArgument {}
extension SeccompMode: ExpressibleByArgument {}
extension TimestampUnit: ExpressibleByArgument {}
extension Sampling.Mode: ExpressibleByArgument {}
extension ExportFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}
extension RecordSet: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { names }
    /// With the reason, where `init?(argument:)` can only say no.
    static func parse(_ text: String) throws -> RecordSet {
        guard let set = RecordSet(parsing: text) else {
            throw SetupError(
                "'\(text)' is not a list of record sets",
                fix: "use any of l2,l3,l4 separated by commas, e.g. --record l2,l3,l4")
        }
        return set
    }
}
extension IPAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    static func parse(_ text: String) throws -> IPAddress {
        guard let address = IPAddress(text) else {
            throw SetupError(
                "'\(text)' is not an IP address",
                fix: "give the address export packets should come from, e.g. --source 10.0.0.1")
        }
        return address
    }
}
extension MetricsAddress: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    static func parse(_ text: String) throws -> MetricsAddress { try MetricsAddress(parsing: text) }
}

@main
enum Main {
    static func main() {
        do {
            var command = try Flowtap.parseAsRoot()
            try command.run()
        } catch let error as SetupError {
            fail(error.description, code: 1)
        } catch {
            let code = Flowtap.exitCode(for: error)
            if code == .success || error is ExitCode || error is CleanExit {
                Flowtap.exit(withError: error)
            }
            // ArgumentParser's own errors: keep its one-line message, point at the help.
            var message = Flowtap.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if message.hasSuffix(".") { message.removeLast() }
            fail(
                "\(message); see '\(commandPath(Array(CommandLine.arguments.dropFirst()))) --help'", code: code.rawValue
            )
        }
    }

    /// The subcommand the arguments name ("flowtap show flows"), as far as they name one:
    /// where the help for what failed to parse is.
    static func commandPath(_ arguments: [String]) -> String {
        var command: ParsableCommand.Type = Flowtap.self
        var path = ["flowtap"]
        for word in arguments where !word.hasPrefix("-") {
            guard let sub = command.configuration.subcommands.first(where: { $0._commandName == word }) else { break }
            command = sub
            path.append(word)
        }
        return path.joined(separator: " ")
    }

    static func fail(_ message: String, code: Int32) -> Never {
        var text = message
        if text.hasPrefix("Error: ") { text.removeFirst(7) }
        let line = "flowtap: error: \(text)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(code == 0 ? 1 : code)
    }
}
