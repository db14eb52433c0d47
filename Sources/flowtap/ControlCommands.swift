import ArgumentParser
import FlowTapBase
import FlowTapControl
import FlowTapMeter
import FlowTapProbe
import FoundationEssentials
import Glibc

/// The client side of the control socket: one request line, one JSON document back.
enum ControlClient {
    /// `--control` as given, or the only socket in /run/flowtap.
    static func path(_ given: String?) throws -> String {
        if let given { return given }
        let directory = "/run/flowtap"
        let sockets = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".sock")
        }.sorted()
        switch sockets.count {
        case 1: return "\(directory)/\(sockets[0])"
        case 0:
            throw SetupError(
                "no flowtap control socket in \(directory)",
                fix: "start flowtap, or give --control PATH (the one 'flowtap run --control' names)")
        default:
            throw SetupError(
                "several flowtap control sockets in \(directory): \(sockets.joined(separator: ", "))",
                fix: "pick one with --control PATH")
        }
    }

    /// Sends `request` and returns the answer as `T`; with `printJSON`, prints the document
    /// as the server sent it (indented, keys sorted) before decoding it.
    static func request<T: Decodable>(
        _ request: ControlRequest, control: String?, as type: T.Type, printJSON: Bool = false
    ) throws -> T {
        let path = try path(control)
        let reply: [UInt8]
        do {
            let socket = try ControlSocket.connect(path)
            try socket.write(all: Array((request.line + "\n").utf8))
            reply = try socket.readToEnd()
        } catch .noSuchFileOrDirectory {
            throw SetupError(
                "no control socket at \(path)",
                fix: "check that flowtap runs, and give the --control PATH it was started with")
        } catch .connectionRefused {
            throw SetupError(
                "the control socket \(path) is stale: no flowtap answers on it",
                fix: "start flowtap again (it replaces the socket), or remove the file")
        } catch .permissionDenied, .notPermitted {
            throw SetupError(
                "no permission to use the control socket \(path)",
                fix: "run as root, or as a member of its group (mode 0660)")
        } catch {
            throw SetupError("cannot talk to \(path): \(error)", fix: "check the path given with --control")
        }
        switch ControlJSON.decode(T.self, from: reply) {
        case .success(let value)?:
            if printJSON {
                print(
                    String(
                        decoding: reply.reversed().drop { $0 == 10 || $0 == 13 || $0 == 32 }.reversed(), as: UTF8.self))
            }
            return value
        case .failure(let error)?: throw SetupError(error.error, fix: "see 'flowtap --help'")
        case nil: throw SetupError("flowtap at \(path) sent no answer", fix: "check its log")
        }
    }

    /// Rows as aligned columns, the first row the header (as `ip -s link` and `ss` print).
    static func table(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        let widths = (0 ..< width).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count)
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Wall-clock milliseconds as UTC time of day, as flows are read.
    static func time(_ ms: UInt64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return "\(parts.tm_hour.padded(2)):\(parts.tm_min.padded(2)):\(parts.tm_sec.padded(2)).\((ms % 1000).padded(3))"
    }

    static func rate(_ v: Double?) -> String { v.map { $0.fixed(1) } ?? "-" }

    /// TCP flags as show flows prints them: 0x and three hex digits.
    static func flags(_ bits: UInt16) -> String { "0x" + bits.padded(3, radix: 16) }
}

struct ControlOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The running flowtap's control socket (default: the only one in /run/flowtap).", valueName: "path"))
    var control: String?

    @Flag(help: "JSON, with stable keys, instead of a table.")
    var json = false
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running probe's counters, collectors or configuration.",
        subcommands: [Stats.self, Flows.self, Collectors.self, Config.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Frames, bytes and rates per direction and queue; flows, records, drops; then the collectors.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            let stats = try ControlClient.request(
                .stats, control: options.control, as: StatsAnswer.self, printJSON: options.json)
            if options.json { return }
            var rows = [
                [
                    "direction", "queue", "frames", "bytes", "frames/s 1s", "10s", "60s", "flows", "peak", "created",
                    "evicted", "lost", "kernel drops", "undecodable", "fragments held"
                ]
            ]
            for d in stats.directions {
                rows.append([
                    d.name, "\(d.queue)", "\(d.frames)", "\(d.bytes)",
                    ControlClient.rate(d.rates["1s"]?.frames), ControlClient.rate(d.rates["10s"]?.frames),
                    ControlClient.rate(d.rates["60s"]?.frames),
                    "\(d.flowsActive)", "\(d.flowsPeak)", "\(d.flowsCreated)", "\(d.evictions)", "\(d.recordsLost)",
                    "\(d.kernelDrops)",
                    "\(d.undecodable.values.reduce(0, +))", "\(d.fragments.held)"
                ])
            }
            print(ControlClient.table(rows))
            print()
            print(Collectors.table(stats.collectors))
        }
    }

    struct Flows: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The live flows in the caches, the largest first: key, packets, bytes, first/last, flags, TCP latencies, retransmissions and out-of-order segments, direction, queue, application and name."
        )
        @Option(help: ArgumentHelp("How many.", valueName: "n")) var top = 20
        @Option(help: ArgumentHelp("Order: bytes, packets, rate or age.", valueName: "key")) var sort: FlowOrder =
            .bytes
        @Option(
            help: ArgumentHelp(
                "Only flows where every FIELD=VALUE holds: src, dst, sport, dport, proto (e.g. \"dst=10.0.0.2 proto=tcp\").",
                valueName: "filter"))
        var match: String?
        @OptionGroup var options: ControlOptions

        func run() throws {
            guard top > 0 && top <= 10_000 else {
                throw SetupError("--top \(top) is out of range", fix: "give 1 to 10000")
            }
            if let match { _ = try FlowFilter(parsing: match) } // a bad filter is named here, before asking
            let flows = try ControlClient.request(
                .flows(top: top, order: sort, filter: match ?? ""), control: options.control,
                as: [FlowAnswer].self, printJSON: options.json)
            if options.json { return }
            var rows = [
                [
                    "src", "dst", "sport", "dport", "proto", "packets", "bytes", "bit/s", "first", "last", "flags",
                    "client ms", "server ms", "app ms", "retrans", "ooo", "direction", "queue", "app", "name"
                ]
            ]
            for f in flows {
                rows.append([
                    f.src, f.dst, "\(f.sport)", "\(f.dport)", "\(f.proto)", "\(f.packets)", "\(f.bytes)",
                    ControlClient.rate(f.rateBps), ControlClient.time(f.firstMs), ControlClient.time(f.lastMs),
                    ControlClient.flags(f.tcpFlags),
                    Self.milliseconds(f.clientDelayUs), Self.milliseconds(f.serverDelayUs),
                    Self.milliseconds(f.appLatencyUs),
                    "\(f.retransmitted)", "\(f.outOfOrder)", f.direction, "\(f.queue)", f.app ?? "-",
                    f.name.map(Self.printable) ?? "-"
                ])
            }
            print(ControlClient.table(rows))
        }

        /// A name from the wire as one cell: control characters and spaces shown as `\xNN`, so
        /// that no name breaks the table or the terminal.
        static func printable(_ name: String) -> String {
            var out = ""
            for scalar in name.unicodeScalars {
                if scalar.value <= 0x20 || scalar.value == 0x7F || scalar == "\\" {
                    out += "\\x" + UInt8(scalar.value).padded(2, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            return out
        }

        /// A latency in microseconds as milliseconds; "-" when unknown (0 or absent).
        static func milliseconds(_ us: UInt64?) -> String {
            guard let us, us > 0 else { return "-" }
            return (Double(us) / 1000).fixed(3)
        }
    }

    struct Collectors: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per collector: messages, records, bytes, send errors, queue, records lost, last error.")
        @OptionGroup var options: ControlOptions

        static func table(_ collectors: [CollectorAnswer]) -> String {
            var rows = [
                ["collector", "messages", "records", "bytes", "send errors", "queued", "records lost", "last error"]
            ]
            for c in collectors {
                rows.append([
                    c.url, "\(c.messages)", "\(c.records)", "\(c.bytes)", "\(c.sendErrors)", "\(c.queueDepth)",
                    "\(c.recordsLost)", c.lastError.isEmpty ? "-" : c.lastError
                ])
            }
            return ControlClient.table(rows)
        }

        func run() throws {
            let collectors = try ControlClient.request(
                .collectors, control: options.control, as: [CollectorAnswer].self, printJSON: options.json)
            if !options.json { print(Self.table(collectors)) }
        }
    }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The running configuration, timeouts as 'flowtap set' left them.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            let config = try ControlClient.request(
                .config, control: options.control, as: ConfigAnswer.self, printJSON: options.json)
            if options.json { return }
            // The answer's own keys and values, one per line, as the server spells them.
            let flat =
                (try? JSONDecoder().decode([String: JSONValue].self, from: Data(ControlJSON.encode(config).utf8)))
                ?? [:]
            for key in flat.keys.sorted() {
                print(key + String(repeating: " ", count: max(0, 20 - key.count)) + " \(flat[key]!)")
            }
        }
    }
}

extension FlowOrder: ExpressibleByArgument {}

struct Expire: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export flows now (flowEndReason forced end); they start anew.")
    @Flag(help: "Every flow in every cache.") var all = false
    @Option(
        help: ArgumentHelp(
            "Only flows where every FIELD=VALUE holds: src, dst, sport, dport, proto.", valueName: "filter"))
    var match: String?
    @OptionGroup var options: ControlOptions

    func run() throws {
        guard all != (match != nil) else {
            throw SetupError(
                "say which flows to expire",
                fix: "give --all, or --match FILTER (e.g. --match \"dst=10.0.0.2 proto=tcp\")")
        }
        if let match { _ = try FlowFilter(parsing: match) }
        _ = try ControlClient.request(
            .expire(filter: match), control: options.control, as: ExpireAnswer.self, printJSON: options.json)
        if options.json { return }
        print("flowtap: every flow is being exported (at each forwarder's next housekeeping, within 50 ms)")
    }
}

struct Templates: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Templates and options.", subcommands: [Resend.self])

    struct Resend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send templates and options records to every collector now.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            _ = try ControlClient.request(
                .templates, control: options.control, as: TemplatesAnswer.self, printJSON: options.json)
            if options.json { return }
            print("flowtap: templates and options go to every collector within 0.1 s")
        }
    }
}

struct SetTimeouts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Change the timeouts of a running probe.")
    @Option(name: .customLong("active-timeout"), help: ArgumentHelp("Seconds.", valueName: "s")) var activeTimeout: Int?
    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds.", valueName: "s")) var idleTimeout: Int?
    @OptionGroup var options: ControlOptions

    func run() throws {
        guard activeTimeout != nil || idleTimeout != nil else {
            throw SetupError("nothing to set", fix: "give --active-timeout S and/or --idle-timeout S")
        }
        _ = try ControlClient.request(
            .set(idleTimeout: idleTimeout, activeTimeout: activeTimeout), control: options.control,
            as: SetAnswer.self, printJSON: options.json)
        if options.json { return }
        print("flowtap: timeouts changed (each forwarder applies them within 50 ms)")
    }
}

/// `flowtap reload`: systemd's ExecReload=. Checks the options the unit will start with (as
/// `run` would), then asks the running flowtap to park and leave its state in the fd store; it
/// exits for systemd to start the unit again at once (RestartForceExitStatus=75), and the new
/// start takes the TAPs, sockets and flows from the store.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart the running flowtap without cutting the link, under systemd (ExecReload=).",
        discussion:
            "Give the options the unit starts 'flowtap run' with. Without a service manager that keeps the descriptors, use 'flowtap run … --takeover' instead."
    )

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The options of 'flowtap run' (--tap-a, --tap-b, --control, …).", valueName: "run-options"))
    var options: [String] = []

    func run() throws {
        let run = try Run.parse(options)
        let config = try run.configuration()
        let ask = HandoverAsk(
            pid: getpid(), tapA: config.tapA, tapB: config.tapB, offload: config.offload, queues: config.queues,
            maxFlows: config.maxFlows, records: config.records.names, layout: Probe.stateLayoutSignature)
        let answer = try ControlClient.request(.reload(ask), control: config.controlPath, as: ReloadAnswer.self)
        print(
            "flowtap: reloading: the running flowtap parked\(answer.flowsKept ? "; its flows go on in the new start" : " after exporting every flow (the new start cannot read its tables)")"
        )
    }
}

/// A JSON value read back as it is, for printing (`show config`'s lines).
enum JSONValue: Decodable, CustomStringConvertible {
    case text(String), integer(Int64), number(Double), bool(Bool), list([JSONValue]), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let v = try? c.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? c.decode(Int64.self) {
            self = .integer(v)
        } else if let v = try? c.decode(Double.self) {
            self = .number(v)
        } else if let v = try? c.decode(String.self) {
            self = .text(v)
        } else {
            self = .list(try c.decode([JSONValue].self))
        }
    }

    var description: String {
        switch self {
        case .text(let v): v
        case .integer(let v): "\(v)"
        case .number(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .list(let v): v.map(\.description).joined(separator: ", ")
        case .null: "-"
        }
    }
}
