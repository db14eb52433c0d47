import ArgumentParser
import FlowTap
import Foundation
import Glibc

/// The client side of the control socket: one request line, one JSON document back.
enum ControlClient {
    /// `--control` as given, or the only socket in /run/flowtap.
    static func path(_ given: String?) throws -> String {
        if let given { return given }
        let directory = "/run/flowtap"
        let sockets = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".sock") }.sorted()
        switch sockets.count {
        case 1: return "\(directory)/\(sockets[0])"
        case 0: throw SetupError("no flowtap control socket in \(directory)", fix: "start flowtap, or give --control PATH (the one 'flowtap run --control' names)")
        default: throw SetupError("several flowtap control sockets in \(directory): \(sockets.joined(separator: ", "))", fix: "pick one with --control PATH")
        }
    }

    static func request(_ line: String, control: String?) throws -> Any {
        let path = try path(control)
        let fd = ControlSocket.connect(path)
        switch -fd {
        case ENOENT: throw SetupError("no control socket at \(path)", fix: "check that flowtap runs, and give the --control PATH it was started with")
        case ECONNREFUSED: throw SetupError("the control socket \(path) is stale: no flowtap answers on it", fix: "start flowtap again (it replaces the socket), or remove the file")
        case EACCES, EPERM: throw SetupError("no permission to use the control socket \(path)", fix: "run as root, or as a member of its group (mode 0660)")
        default: break
        }
        guard fd >= 0 else { throw SetupError("cannot connect to \(path): \(String(cString: strerror(-fd)))", fix: "check the path given with --control") }
        defer { close(fd) }
        let message = Array((line + "\n").utf8)
        _ = message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            reply += buffer.prefix(n)
        }
        guard let value = try? JSONSerialization.jsonObject(with: Data(reply)) else {
            throw SetupError("flowtap at \(path) sent no answer", fix: "check its log")
        }
        if let error = (value as? [String: Any])?["error"] as? String {
            throw SetupError(error, fix: "see 'flowtap --help'")
        }
        return value
    }

    static func printJSON(_ value: Any) {
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Rows as aligned columns, the first row the header (as `ip -s link` and `ss` print).
    static func table(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        let widths = (0 ..< width).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Wall-clock milliseconds as UTC time of day, as flows are read.
    static func time(_ v: Any?) -> String {
        guard let ms = (v as? NSNumber)?.int64Value else { return "-" }
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%02d:%02d:%02d.%03d", parts.tm_hour, parts.tm_min, parts.tm_sec, Int(ms % 1000))
    }

    static func int(_ v: Any?) -> String { (v as? NSNumber).map { "\($0.int64Value)" } ?? "-" }
    static func rate(_ v: Any?) -> String { (v as? NSNumber).map { String(format: "%.1f", $0.doubleValue) } ?? "-" }
}

struct ControlOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The running flowtap's control socket (default: the only one in /run/flowtap).", valueName: "path"))
    var control: String?

    @Flag(help: "JSON, with stable keys, instead of a table.")
    var json = false
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a running probe's counters, collectors or configuration.",
                                                    subcommands: [Stats.self, Flows.self, Collectors.self, Config.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Frames, bytes and rates per direction and queue; flows, records, drops; then the collectors.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            let value = try ControlClient.request("stats", control: options.control)
            if options.json { return ControlClient.printJSON(value) }
            let stats = value as? [String: Any] ?? [:]
            var rows = [["direction", "queue", "frames", "bytes", "frames/s 1s", "10s", "60s", "flows", "peak", "created", "evicted", "lost", "kernel drops", "undecodable", "fragments held"]]
            for d in stats["directions"] as? [[String: Any]] ?? [] {
                let rates = d["rates"] as? [String: [String: Any]] ?? [:]
                let undecodable = (d["undecodable"] as? [String: NSNumber] ?? [:]).values.reduce(0) { $0 + $1.int64Value }
                rows.append([d["name"] as? String ?? "-", ControlClient.int(d["queue"]), ControlClient.int(d["frames"]), ControlClient.int(d["bytes"]),
                             ControlClient.rate(rates["1s"]?["frames"]), ControlClient.rate(rates["10s"]?["frames"]), ControlClient.rate(rates["60s"]?["frames"]),
                             ControlClient.int(d["flows_active"]), ControlClient.int(d["flows_peak"]), ControlClient.int(d["flows_created"]),
                             ControlClient.int(d["evictions"]), ControlClient.int(d["records_lost"]), ControlClient.int(d["kernel_drops"]),
                             "\(undecodable)", ControlClient.int((d["fragments"] as? [String: Any])?["held"])])
            }
            print(ControlClient.table(rows))
            print()
            print(Collectors.table(stats["collectors"] as? [[String: Any]] ?? []))
        }
    }

    struct Flows: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The live flows in the caches, the largest first: key, packets, bytes, first/last, flags, TCP latencies, retransmissions and out-of-order segments, direction, queue.")
        @Option(help: ArgumentHelp("How many.", valueName: "n")) var top = 20
        @Option(help: ArgumentHelp("Order: bytes, packets, rate or age.", valueName: "key")) var sort: FlowSort = .bytes
        @Option(help: ArgumentHelp("Only flows where every FIELD=VALUE holds: src, dst, sport, dport, proto (e.g. \"dst=10.0.0.2 proto=tcp\").", valueName: "filter"))
        var match: String?
        @OptionGroup var options: ControlOptions

        func run() throws {
            guard top > 0 && top <= 10_000 else { throw SetupError("--top \(top) is out of range", fix: "give 1 to 10000") }
            if let match { _ = try FlowFilter(parsing: match) }   // a bad filter is named here, before asking
            let value = try ControlClient.request("flows \(top) \(sort.rawValue) \(match ?? "")", control: options.control)
            if options.json { return ControlClient.printJSON(value) }
            var rows = [["src", "dst", "sport", "dport", "proto", "packets", "bytes", "bit/s", "first", "last", "flags",
                         "client ms", "server ms", "app ms", "retrans", "ooo", "direction", "queue"]]
            for f in value as? [[String: Any]] ?? [] {
                rows.append([f["src"] as? String ?? "-", f["dst"] as? String ?? "-", ControlClient.int(f["sport"]), ControlClient.int(f["dport"]),
                             ControlClient.int(f["proto"]), ControlClient.int(f["packets"]), ControlClient.int(f["bytes"]),
                             ControlClient.rate(f["rate_bps"]), ControlClient.time(f["first_ms"]), ControlClient.time(f["last_ms"]),
                             (f["tcp_flags"] as? NSNumber).map { String(format: "0x%03x", $0.intValue) } ?? "-",
                             Self.milliseconds(f["client_delay_us"]), Self.milliseconds(f["server_delay_us"]),
                             Self.milliseconds(f["app_latency_us"]), ControlClient.int(f["retransmitted"]), ControlClient.int(f["out_of_order"]),
                             f["direction"] as? String ?? "-", ControlClient.int(f["queue"])])
            }
            print(ControlClient.table(rows))
        }

        /// A latency in microseconds as milliseconds; "-" when unknown (0 or absent).
        static func milliseconds(_ v: Any?) -> String {
            guard let us = (v as? NSNumber)?.intValue, us > 0 else { return "-" }
            return String(format: "%.3f", Double(us) / 1000)
        }
    }

    struct Collectors: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per collector: messages, records, bytes, send errors, queue, records lost, last error.")
        @OptionGroup var options: ControlOptions

        static func table(_ collectors: [[String: Any]]) -> String {
            var rows = [["collector", "messages", "records", "bytes", "send errors", "queued", "records lost", "last error"]]
            for c in collectors {
                rows.append([c["url"] as? String ?? "-", ControlClient.int(c["messages"]), ControlClient.int(c["records"]), ControlClient.int(c["bytes"]),
                             ControlClient.int(c["send_errors"]), ControlClient.int(c["queue_depth"]), ControlClient.int(c["records_lost"]),
                             (c["last_error"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "-"])
            }
            return ControlClient.table(rows)
        }

        func run() throws {
            let value = try ControlClient.request("collectors", control: options.control)
            if options.json { return ControlClient.printJSON(value) }
            print(Self.table(value as? [[String: Any]] ?? []))
        }
    }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The running configuration, timeouts as 'flowtap set' left them.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            let value = try ControlClient.request("config", control: options.control)
            if options.json { return ControlClient.printJSON(value) }
            let config = value as? [String: Any] ?? [:]
            for key in config.keys.sorted() {
                let v = config[key]
                let text = (v as? [Any])?.map { "\($0)" }.joined(separator: ", ") ?? (v.map { "\($0)" } ?? "-")
                print("\(key.padding(toLength: 20, withPad: " ", startingAt: 0)) \(text)")
            }
        }
    }
}

enum FlowSort: String, ExpressibleByArgument, CaseIterable {
    case bytes, packets, rate, age
}

struct Expire: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export flows now (flowEndReason forced end); they start anew.")
    @Flag(help: "Every flow in every cache.") var all = false
    @Option(help: ArgumentHelp("Only flows where every FIELD=VALUE holds: src, dst, sport, dport, proto.", valueName: "filter"))
    var match: String?
    @OptionGroup var options: ControlOptions

    func run() throws {
        guard all != (match != nil) else { throw SetupError("say which flows to expire", fix: "give --all, or --match FILTER (e.g. --match \"dst=10.0.0.2 proto=tcp\")") }
        if let match { _ = try FlowFilter(parsing: match) }
        let value = try ControlClient.request(match.map { "expire \($0)" } ?? "expire", control: options.control)
        if options.json { return ControlClient.printJSON(value) }
        print("flowtap: every flow is being exported (at each forwarder's next housekeeping, within 50 ms)")
    }
}

struct Templates: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Templates and options.", subcommands: [Resend.self])

    struct Resend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send templates and options records to every collector now.")
        @OptionGroup var options: ControlOptions

        func run() throws {
            let value = try ControlClient.request("templates", control: options.control)
            if options.json { return ControlClient.printJSON(value) }
            print("flowtap: templates and options go to every collector within 0.1 s")
        }
    }
}

struct SetTimeouts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change the timeouts of a running probe.")
    @Option(name: .customLong("active-timeout"), help: ArgumentHelp("Seconds.", valueName: "s")) var activeTimeout: Int?
    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds.", valueName: "s")) var idleTimeout: Int?
    @OptionGroup var options: ControlOptions

    func run() throws {
        guard activeTimeout != nil || idleTimeout != nil else {
            throw SetupError("nothing to set", fix: "give --active-timeout S and/or --idle-timeout S")
        }
        var line = "set"
        if let activeTimeout { line += " active-timeout=\(activeTimeout)" }
        if let idleTimeout { line += " idle-timeout=\(idleTimeout)" }
        let value = try ControlClient.request(line, control: options.control)
        if options.json { return ControlClient.printJSON(value) }
        print("flowtap: timeouts changed (each forwarder applies them within 50 ms)")
    }
}
