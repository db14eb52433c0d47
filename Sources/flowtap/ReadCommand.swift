import ArgumentParser
import FlowTap
import Glibc
import Logging

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Meter capture files (pcap, pcapng) and export their flows, as 'run' would have.",
        discussion: """
        The packets go through the same decoder, flow cache, TCP insight and exporters as in \
        'run', on the capture's clock: flow times are the packets' timestamps, and idle, active \
        and TCP close timeouts expire flows as they would have live. At the end of the input \
        every flow left is exported (forced end). Link types: Ethernet, Linux cooked (SLL, \
        SLL2) and raw IP. Needs no privilege: collectors get ordinary UDP datagrams, paced.
        """
    )

    @Argument(help: ArgumentHelp("pcap or pcapng files, read in turn as one capture; - is standard input.", valueName: "file"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Write the IPFIX records to this file (RFC 5655), complete when renamed from FILE.partial.", valueName: "file"))
    var output: String?

    @Option(name: .customLong("export-rate"), parsing: .unconditional,
            help: ArgumentHelp("Messages a second to each collector at most, so that one on this host keeps up (0: unpaced).", valueName: "n"))
    var exportRate: Int = 20_000

    @OptionGroup var exportOptions: ExportArguments

    func run() throws {
        var config = ProbeConfiguration(tapA: "", tapB: "", collectors: try exportOptions.collectors())
        exportOptions.apply(to: &config)
        var options = CaptureRun.Options(export: config, inputs: files)
        options.output = output
        options.messagesPerSecond = exportRate
        options.progress = isatty(2) != 0
        try options.validate()
        exportOptions.bootstrapLogging()
        let summary = try CaptureRun.run(options, logger: Logger(label: "flowtap"))
        print(summary.line)
        for line in summary.collectorLines { print(line) }
        let issues = ProbeSummary.issueLine(summary.counters)
        if !issues.isEmpty { print("flowtap: undecodable frames by reason: \(issues)") }
        fflush(nil)
        if let failure = summary.failure {
            throw SetupError(failure, fix: summary.failureFix)
        }
    }
}
