import FlowTapInspect
import FlowTapMeter

/// IPFIX (RFC 7011) messages: a 16-byte header, a Template Set (ID 2) when templates are due,
/// and Data Sets whose ID is the template ID, padded with zeros to 4 bytes (§3.3.1: shorter than
/// any record, so a collector never mistakes padding for one).
///
/// Sequence number (§3.1): the data records sent in the observation domain before this message,
/// modulo 2^32. Flow records go in `--observation-domain`; options records (exporting-process
/// statistics, sampling, systemInitTimeMilliseconds) go in observation domain 0, as §3.1
/// suggests for information about the exporting process, with observationDomainId (149) as
/// their scope naming the flow domain they describe. Each domain counts its own data records,
/// so the flow domain's sequence counts flow records only: RFC-correct, and what nfdump
/// expects too (it counts flow records alone and never faults a domain without them).
public struct IPFIXEncoder: MessageEncoder {
    public static let version: UInt16 = 10
    public static let headerLength = 16
    public static let defaultPort: UInt16 = 4739
    public static let usesTemplates = true
    public static let optionsObservationDomain: UInt32 = 0
    static let templateSetID: UInt16 = 2
    static let optionsTemplateSetID: UInt16 = 3

    public let observationDomain: UInt32
    public let context: EncodingContext
    private var data: DataTemplates
    /// Data records sent before the next message, in the flow domain and in domain 0.
    public private(set) var sequence: UInt32
    public var stream: StreamState {
        get { StreamState(sequence: sequence, optionsSequence: optionsSequence) }
        set { sequence = newValue.sequence; optionsSequence = newValue.optionsSequence }
    }
    public private(set) var optionsSequence: UInt32 = 0
    let processOptions: OptionsLayout
    let statisticsOptions: OptionsLayout
    /// Application fields on: labelled flows' records carry them, and the options message
    /// names every applicationId (`ApplicationNames`).
    let applications: Bool
    let applicationNames: ApplicationNames

    public init(
        observationDomain: UInt32, layouts: [RecordLayout?], context: EncodingContext,
        initialSequence: UInt32 = 0, applications: Bool = false
    ) {
        self.observationDomain = observationDomain
        self.context = context
        data = DataTemplates(
            layouts: layouts, applications: applications, variable: true, templateSetID: Self.templateSetID)
        self.applications = applications
        sequence = initialSequence
        let scope: [(element: UInt16, length: Int)] = [(149, 4)] // observationDomainId
        let process: [(element: UInt16, length: Int)] = [(160, 8), (304, 2), (305, 4), (306, 4)]
        let statistics: [(element: UInt16, length: Int)] = [(41, 8), (42, 8), (40, 8), (164, 8), (166, 8)]
        processOptions = OptionsLayout(
            id: OptionsLayout.id(for: scope + process, avoiding: []), scope: scope, fields: process)
        statisticsOptions = OptionsLayout(
            id: OptionsLayout.id(for: scope + statistics, avoiding: [processOptions.id]),
            scope: scope, fields: statistics)
        applicationNames = ApplicationNames(avoiding: data.ids.union([processOptions.id, statisticsOptions.id]))
    }

    /// Indexed by `RecordLayout.Kind.rawValue`.
    public var templates: [Template?] { data.templates }
    public var recordsInMessage: Int { data.recordsInMessage }
    public var minimumMessageLength: Int { data.minimumMessageLength(headerLength: Self.headerLength) }

    public mutating func begin(_ message: inout MessageWriter, withTemplates: Bool) {
        _ = data.begin(
            &message, headerLength: Self.headerLength, templateSetID: withTemplates ? Self.templateSetID : nil)
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
        writeHeader(&message, nowMs: nowMs, sequence: sequence, domain: observationDomain)
        sequence &+= UInt32(truncatingIfNeeded: recordsInMessage)
    }

    public mutating func writeOptions(_ options: ExportOptions, to message: inout MessageWriter, nowMs: UInt64) -> Bool
    {
        message.count = Self.headerLength
        let start = message.count
        message.append16(Self.optionsTemplateSetID)
        message.append16(0)
        for layout in [processOptions, statisticsOptions] {
            message.append16(layout.id)
            message.append16(UInt16(layout.scope.count + layout.fields.count))
            message.append16(UInt16(layout.scope.count))
            layout.writeSpecifiers(into: &message)
        }
        message.set16(UInt16(message.count - start), at: start + 2)
        let domain = UInt64(observationDomain)
        OptionsLayout.writeDataSets(
            [
                // 1-in-N sampling is samplingPacketInterval 1, samplingPacketSpace N − 1; unsampled 1 / 0.
                (
                    processOptions,
                    [
                        domain, context.systemInitMs, UInt64(options.sampling.ipfixSelectorAlgorithm),
                        1, UInt64(options.sampling.interval - 1)
                    ]
                ),
                (
                    statisticsOptions,
                    [
                        domain, options.exportedMessages, options.exportedRecords, options.exportedOctets,
                        options.ignoredPackets, options.notSentRecords
                    ]
                )
            ], into: &message)
        // The applicationIds' names last, in sets of their own, when the message has room for
        // them: the minimum --mtu does not count them, so a small one goes without.
        let names = applications && message.remaining >= ApplicationNames.ipfixLength
        if names {
            let namesStart = message.count
            message.append16(Self.optionsTemplateSetID)
            message.append16(0)
            applicationNames.writeTemplate(into: &message)
            // No padding (RFC 7011 §3.3.1 makes it optional): python-ipfix reads padding in a
            // template set as a template with ID 0 and gives up on the message.
            message.set16(UInt16(message.count - namesStart), at: namesStart + 2)
            applicationNames.writeDataSet(into: &message)
        }
        writeHeader(&message, nowMs: nowMs, sequence: optionsSequence, domain: Self.optionsObservationDomain)
        optionsSequence &+= 2 + (names ? UInt32(ApplicationID.labelled.count) : 0)
        return true
    }

    private func writeHeader(_ message: inout MessageWriter, nowMs: UInt64, sequence: UInt32, domain: UInt32) {
        message.set16(Self.version, at: 0)
        message.set16(UInt16(message.count), at: 2)
        message.set32(UInt32(truncatingIfNeeded: nowMs / 1000), at: 4)
        message.set32(sequence, at: 8)
        message.set32(domain, at: 12)
    }
}
