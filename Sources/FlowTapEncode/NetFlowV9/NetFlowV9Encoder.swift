import FlowTapInspect
import FlowTapMeter

/// NetFlow v9 (RFC 3954) export packets: a 20-byte header, a Template FlowSet (ID 0) when
/// templates are due, and Data FlowSets (ID = template ID) padded to 4 bytes (§5.3).
///
/// The header's count is every record in the packet: templates, options templates and data
/// (§5.1). The sequence number counts export packets, +1 for each, template-only packets too.
/// sysUptime is milliseconds since flowtap started, as of the header's whole second;
/// FIRST_SWITCHED/LAST_SWITCHED use the same clock and wrap with it after 49.7 days. Source ID is `--observation-domain`.
public struct NetFlowV9Encoder: MessageEncoder {
    public static let version: UInt16 = 9
    public static let headerLength = 20
    public static let defaultPort: UInt16 = 2055
    public static let usesTemplates = true
    static let templateFlowSetID: UInt16 = 0
    static let optionsTemplateFlowSetID: UInt16 = 1
    /// Options scope type 1: System (§6.1).
    static let scopeSystem: UInt16 = 1

    public let sourceID: UInt32
    public let context: EncodingContext
    private var data: DataTemplates
    public private(set) var sequence: UInt32
    public var stream: StreamState {
        get { StreamState(sequence: sequence) }
        set { sequence = newValue.sequence }
    }
    let processOptions: OptionsLayout
    let statisticsOptions: OptionsLayout

    /// Application fields on: labelled flows' records carry them, and the options name every
    /// applicationId (`ApplicationNames`, scoped by System as v9 wants).
    let applications: Bool
    let applicationNames: ApplicationNames

    public init(
        sourceID: UInt32, layouts: [RecordLayout?], context: EncodingContext, initialSequence: UInt32 = 0,
        applications: Bool = false
    ) {
        self.sourceID = sourceID
        self.context = context
        data = DataTemplates(
            layouts: layouts, applications: applications, variable: false, templateSetID: Self.templateFlowSetID)
        self.applications = applications
        var taken = data.ids
        sequence = initialSequence
        let scope: [(element: UInt16, length: Int)] = [(Self.scopeSystem, 4)]
        // SAMPLING_INTERVAL (34) and SAMPLING_ALGORITHM (35, 1 = deterministic); 1 when unsampled.
        let process: [(element: UInt16, length: Int)] = [(34, 4), (35, 1), (160, 8)]
        // TOTAL_BYTES_EXP, TOTAL_PKTS_EXP, TOTAL_FLOWS_EXP, then the IPFIX counters for what was
        // ignored and not sent (IPFIX-range IDs in v9, which nfdump and Wireshark read).
        let statistics: [(element: UInt16, length: Int)] = [(40, 8), (41, 8), (42, 8), (164, 8), (166, 8)]
        processOptions = OptionsLayout(
            id: OptionsLayout.id(for: scope + process, avoiding: taken), scope: scope, fields: process)
        taken.insert(processOptions.id)
        statisticsOptions = OptionsLayout(
            id: OptionsLayout.id(for: scope + statistics, avoiding: taken), scope: scope, fields: statistics)
        taken.insert(statisticsOptions.id)
        applicationNames = ApplicationNames(avoiding: taken)
    }

    public var templates: [Template?] { data.templates }
    public var recordsInMessage: Int { data.recordsInMessage }
    public var minimumMessageLength: Int { data.minimumMessageLength(headerLength: Self.headerLength) }

    public mutating func begin(_ message: inout MessageWriter, withTemplates: Bool) {
        _ = data.begin(
            &message, headerLength: Self.headerLength,
            templateSetID: withTemplates ? Self.templateFlowSetID : nil)
    }

    public mutating func append(
        _ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>?, to message: inout MessageWriter
    ) -> AppendResult {
        data.append(record, detail: detail, to: &message, context: context)
    }

    public func isEmpty(_ message: borrowing MessageWriter) -> Bool {
        message.count <= Self.headerLength
    }

    public mutating func finish(_ message: inout MessageWriter, nowMs: UInt64) {
        data.close(&message)
        writeHeader(&message, count: recordsInMessage + data.templatesInMessage, nowMs: nowMs)
    }

    public mutating func writeOptions(_ options: ExportOptions, to message: inout MessageWriter, nowMs: UInt64) -> Bool
    {
        message.count = Self.headerLength
        // One Options Template FlowSet per template, each padded to 4 bytes, as in RFC 3954's
        // figure: some collectors (python-netflow) read no further template after padding.
        for layout in [processOptions, statisticsOptions] {
            let start = message.count
            message.append16(Self.optionsTemplateFlowSetID)
            message.append16(0)
            message.append16(layout.id)
            message.append16(UInt16(4 * layout.scope.count)) // option scope length, bytes
            message.append16(UInt16(4 * layout.fields.count)) // option length, bytes
            layout.writeSpecifiers(into: &message)
            message.appendZeros(padding4(message.count - start))
            message.set16(UInt16(message.count - start), at: start + 2)
        }
        let system = UInt64(sourceID)
        OptionsLayout.writeDataSets(
            [
                (
                    processOptions,
                    [
                        system, UInt64(options.sampling.interval), UInt64(options.sampling.netflowAlgorithm),
                        context.systemInitMs
                    ]
                ),
                (
                    statisticsOptions,
                    [
                        system, options.exportedOctets, options.exportedMessages, options.exportedRecords,
                        options.ignoredPackets, options.notSentRecords
                    ]
                )
            ], into: &message)
        // The applicationIds' names last, when the packet has room for them (the minimum --mtu
        // does not count them).
        let names = applications && message.remaining >= ApplicationNames.v9Length
        if names {
            applicationNames.writeV9TemplateFlowSet(into: &message)
            applicationNames.writeDataSet(into: &message, system: sourceID)
        }
        writeHeader(&message, count: 4 + (names ? 1 + ApplicationID.labelled.count : 0), nowMs: nowMs)
        return true
    }

    private mutating func writeHeader(_ message: inout MessageWriter, count: Int, nowMs: UInt64) {
        message.set16(Self.version, at: 0)
        message.set16(UInt16(count), at: 2)
        // sysUptime as of the whole second in unix_secs, so that the two name the same
        // instant: a collector anchors FIRST/LAST_SWITCHED at unix_secs × 1000 − sysUptime,
        // which is then exact, where the current millisecond would put every record up to a
        // second early (v9 has no unix_nsecs; v5 does).
        let second = nowMs / 1000
        message.set32(context.uptime(at: second * 1000), at: 4)
        message.set32(UInt32(truncatingIfNeeded: second), at: 8)
        message.set32(sequence, at: 12)
        message.set32(sourceID, at: 16)
        sequence &+= 1
    }
}
