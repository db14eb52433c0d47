import FlowTapMeter

/// A template: the ID a collector knows a record layout by.
public struct Template: Sendable, Equatable {
    public let id: UInt16
    public let layout: RecordLayout
}

/// The data side IPFIX and NetFlow v9 share: one template per record layout, with IDs derived
/// from the layout, and records packed into padded sets behind a format's own header.
struct DataTemplates {
    /// Indexed by `RecordLayout.Kind.rawValue`; nil for a kind this record set does not meter.
    let templates: [Template?]
    private(set) var recordsInMessage = 0
    private var sets = SetPacker()

    init(layouts: [RecordLayout?]) {
        var taken = Set<UInt16>()
        templates = layouts.map { layout in
            guard let layout else { return nil }
            let id = layout.templateID(avoiding: taken)
            taken.insert(id)
            return Template(id: id, layout: layout)
        }
    }

    var ids: Set<UInt16> { Set(templates.compactMap { $0?.id }) }
    var active: [(id: UInt16, layout: RecordLayout)] { templates.compactMap { $0.map { ($0.id, $0.layout) } } }

    /// The message a format with `headerLength` needs for one record of the largest layout
    /// (with its set header and worst padding), or for all templates.
    func minimumMessageLength(headerLength: Int) -> Int {
        let largest = templates.compactMap { $0?.layout.recordLength }.max() ?? 0
        return headerLength + max(SetPacker.templateSetLength(active.map(\.layout)), 4 + largest + 3)
    }

    /// Starts a message after a header of `headerLength`; with a `templateSetID`, writes every
    /// template first. Returns the number of templates written.
    mutating func begin(_ message: inout MessageWriter, headerLength: Int, templateSetID: UInt16?) -> Int {
        message.count = headerLength
        recordsInMessage = 0
        sets.reset()
        guard let templateSetID else { return 0 }
        SetPacker.writeTemplateSet(id: templateSetID, active, into: &message)
        return active.count
    }

    mutating func append(
        _ record: borrowing FlowRecord, to message: inout MessageWriter,
        context: EncodingContext
    ) -> AppendResult {
        guard let template = templates[RecordLayout.kind(of: record).rawValue] else { return .notExportable }
        guard sets.fits(id: template.id, length: template.layout.recordLength, in: message) else { return .full }
        sets.open(template.id, &message)
        message.append(record, as: template.layout, context: context)
        recordsInMessage += 1
        return .appended
    }

    mutating func close(_ message: inout MessageWriter) { sets.close(&message) }
}
