import ArgumentParser
import FlowTapBase
import FlowTapControl
import FlowTapInspect
import FlowTapMeter
import FlowTapProbe
import FlowTapRead
import FlowTapSetup
import Glibc
import Logging

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Meter capture files (pcap, pcapng) and export their flows, as 'run' would have.",
        discussion: """
            The packets go through the same decoder, flow cache, TCP insight and exporters as in \
            'run', on the capture's clock: flow times are the packets' timestamps, and idle, active \
            and TCP close timeouts expire flows as they would have live. At the end of the input \
            every flow left is exported (forced end). The same capture and options give the same \
            records, byte for byte, on every run. Packets cut by the capture's snap length are \
            metered by their IP length. Link types: Ethernet (with VLANs, PPPoE, MPLS), Linux \
            cooked (SLL, SLL2), raw IP, BSD loopback, PPP and Cisco HDLC. Needs no privilege: \
            collectors get ordinary UDP datagrams, paced. With no --collector and no --output, the \
            records are printed instead: a table, the largest first, or JSON lines with --json.
            """
    )

    @Argument(
        help: ArgumentHelp("pcap or pcapng files, read in turn as one capture; - is standard input.", valueName: "file")
    )
    var files: [String] = []

    @Option(
        help: ArgumentHelp(
            "Write the IPFIX records to this file (RFC 5655), complete when renamed from FILE.partial.",
            valueName: "file"))
    var output: String?

    @Option(
        name: .customLong("export-rate"), parsing: .unconditional,
        help: ArgumentHelp(
            "Messages a second to each collector at most, so that one on this host keeps up (0: unpaced).",
            valueName: "n"))
    var exportRate: Int = 20_000

    @Flag(
        help:
            "With no --collector and no --output: print the records as JSON lines, in the order they are exported, instead of a table."
    )
    var json = false

    /// For the tests that show the records do not depend on it (see CaptureRun.hashSeed).
    @Option(name: .customLong("hash-seed"), help: .hidden)
    var hashSeed: UInt64?

    @OptionGroup var exportOptions: ExportArguments

    func run() throws {
        var config = ProbeConfiguration(tapA: "", tapB: "", collectors: try exportOptions.collectors())
        exportOptions.apply(to: &config)
        var options = CaptureRun.Options(export: config, inputs: files)
        options.output = output
        options.messagesPerSecond = exportRate
        options.progress = isatty(2) != 0
        options.hashSeed = hashSeed
        try options.validate()
        if json && (!config.collectors.isEmpty || output != nil) {
            throw SetupError(
                "--json prints the records, which go to a collector or a file here",
                fix: "leave out --json, or --collector and --output")
        }
        exportOptions.bootstrapLogging()
        // Without a destination the records are printed, and the closing lines go to standard
        // error, so that standard output holds the records alone.
        let printing = config.collectors.isEmpty && output == nil
        let printer = RecordPrinter(json: json, biflow: config.biflow)
        let summary = try CaptureRun.run(
            options, logger: Logger(label: "flowtap"), printing: printing ? printer.take : nil)
        if printing { printer.finish() }
        var closing = [summary.line]
        if !printing { closing += summary.collectorLines }
        let issues = ProbeSummary.issueLine(summary.counters)
        if !issues.isEmpty { closing.append("flowtap: undecodable frames by reason: \(issues)") }
        for line in closing {
            if printing { _ = "\(line)\n".withCString { write(2, $0, strlen($0)) } } else { print(line) }
        }
        fflush(nil)
        if let failure = summary.failure {
            throw SetupError(failure, fix: summary.failureFix)
        }
    }
}

/// The records of `read` without a destination: JSON lines as they come, or a table, the
/// largest first (by bytes, then packets), with a total line.
final class RecordPrinter {
    let json: Bool
    let biflow: Bool
    var rows: [RecordAnswer] = []

    init(json: Bool, biflow: Bool) {
        self.json = json
        self.biflow = biflow
    }

    func take(_ record: FlowRecord, _ detail: ApplicationDetail?) {
        let answer = RecordAnswer(record, biflow: biflow, detail: detail)
        if json { print(ControlJSON.encode(answer)) } else { rows.append(answer) }
    }

    func finish() {
        guard !json else { return }
        let sorted = rows.enumerated().sorted { a, b in
            (a.element.bytes, a.element.packets, b.offset) > (b.element.bytes, b.element.packets, a.offset)
        }.map(\.element)
        var table = [
            [
                "src", "dst", "sport", "dport", "proto", "packets", "bytes", "bit/s", "first", "last", "flags",
                "client ms", "server ms", "app ms", "retrans", "ooo", "end", "app", "name"
            ]
        ]
        if biflow { table[0].insert(contentsOf: ["rev packets", "rev bytes"], at: 7) }
        for f in sorted {
            var row = [
                f.src, f.dst, "\(f.sport)", "\(f.dport)", "\(f.proto)", "\(f.packets)", "\(f.bytes)",
                ControlClient.rate(f.rateBps), ControlClient.time(f.firstMs), ControlClient.time(f.lastMs),
                ControlClient.flags(f.tcpFlags),
                Show.Flows.milliseconds(f.clientDelayUs), Show.Flows.milliseconds(f.serverDelayUs),
                Show.Flows.milliseconds(f.appLatencyUs), "\(f.retransmitted)", "\(f.outOfOrder)", f.endReason,
                f.app ?? "-", f.name.map(Show.Flows.printable) ?? "-"
            ]
            if biflow { row.insert(contentsOf: ["\(f.reversePackets ?? 0)", "\(f.reverseBytes ?? 0)"], at: 7) }
            table.append(row)
        }
        print(ControlClient.table(table))
        let packets = rows.reduce(UInt64(0)) { $0 &+ $1.packets &+ ($1.reversePackets ?? 0) }
        let bytes = rows.reduce(UInt64(0)) { $0 &+ $1.bytes &+ ($1.reverseBytes ?? 0) }
        print("total: \(rows.count) records, \(packets) packets, \(bytes) bytes")
    }
}
