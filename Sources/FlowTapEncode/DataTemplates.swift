import FlowTapInspect
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
    /// With application fields: per IP layout kind, one template per `ApplicationField.Kind`
    /// (position kind × 4 + application kind); no positions without. In a table, where `append`
    /// reads them in place (`TemplateTable`). The flow templates stay in their array: a flow
    /// template's copy retains one list, and the table's lookup cost a record without fields
    /// more than that (callgrind).
    private let applicationTable: TemplateTable<ApplicationTemplate>
    /// The application templates this stream has announced: they go with every template
    /// refresh from then on.
    private var announced: [Bool]
    /// The template set's ID (IPFIX 2, NetFlow v9 0), for application templates announced in
    /// the middle of a message.
    private let templateSetID: UInt16
    private(set) var recordsInMessage = 0
    /// Templates written in the message being built (NetFlow v9 counts them in its header).
    private(set) var templatesInMessage = 0
    private var sets = SetPacker()

    init(layouts: [RecordLayout?], applications: Bool = false, variable: Bool = true, templateSetID: UInt16 = 2) {
        var taken = Set<UInt16>()
        templates = layouts.map { layout in
            guard let layout else { return nil }
            let id = layout.templateID(avoiding: taken)
            taken.insert(id)
            return Template(id: id, layout: layout)
        }
        var apps: [ApplicationTemplate?] = []
        if applications {
            for layout in layouts {
                for kind in ApplicationField.Kind.allCases {
                    guard let layout, layout.kind != .nonIP else {
                        apps.append(nil)
                        continue
                    }
                    let t = ApplicationTemplate(layout: layout, kind: kind, variable: variable, avoiding: taken)
                    taken.insert(t.id)
                    apps.append(t)
                }
            }
        }
        applicationTable = TemplateTable(apps)
        announced = [Bool](repeating: false, count: apps.count)
        self.templateSetID = templateSetID
    }

    var ids: Set<UInt16> {
        Set(
            templates.compactMap { $0?.id }
                + (0 ..< applicationTable.positions).compactMap { applicationTable.slot($0)?.pointee.id })
    }
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
        templatesInMessage = 0
        sets.reset()
        guard let templateSetID else { return 0 }
        SetPacker.writeTemplateSet(id: templateSetID, active, into: &message)
        templatesInMessage = active.count
        // The application templates announced so far, in a set of their own, as many as fit:
        // the minimum --mtu counts only the flow templates. One that does not fit is announced
        // again before its next record (FuzzMeter found a v9 refresh at --mtu 408 overfilled).
        var again: [ApplicationTemplate] = []
        var room = message.remaining - 4
        for i in announced.indices where announced[i] {
            guard let t = applicationTable.slot(i)?.pointee, t.templateLength <= room else {
                announced[i] = false
                continue
            }
            again.append(t)
            room -= t.templateLength
        }
        if !again.isEmpty { writeTemplateSet(again, into: &message) }
        return templatesInMessage
    }

    /// A template set of application templates (a multiple of 4 bytes long: no padding).
    private mutating func writeTemplateSet(_ ts: [ApplicationTemplate], into message: inout MessageWriter) {
        let start = message.count
        message.append16(templateSetID)
        message.append16(0)
        for t in ts { t.writeTemplate(into: &message) }
        message.set16(UInt16(message.count - start), at: start + 2)
        templatesInMessage += ts.count
    }

    mutating func append(
        _ record: borrowing FlowRecord, detail: UnsafePointer<ApplicationDetail>? = nil,
        to message: inout MessageWriter,
        context: EncodingContext
    ) -> AppendResult {
        let kind = RecordLayout.kind(of: record).rawValue
        if record.application != 0 && applicationTable.positions > 0 {
            let index = kind * ApplicationField.Kind.allCases.count + ApplicationField.Kind.of(detail).rawValue
            if let t = applicationTable.slot(index) {
                let result = appendLabelled(record, detail, t, index, to: &message, context: context)
                if result != .notExportable { return result }
                // Larger than a whole message can carry (a small --mtu): without its fields.
            }
        }
        guard let template = templates[kind] else { return .notExportable }
        guard sets.fits(id: template.id, length: template.layout.recordLength, in: message) else { return .full }
        sets.open(template.id, &message)
        message.append(record, as: template.layout, context: context)
        recordsInMessage += 1
        return .appended
    }

    /// A labelled flow's record in its application template, announced first (in a template
    /// set before the record's data set) if this stream has not had it yet. The fields are read
    /// where they lie.
    private mutating func appendLabelled(
        _ record: borrowing FlowRecord, _ detail: UnsafePointer<ApplicationDetail>?,
        _ template: UnsafeMutablePointer<ApplicationTemplate>, _ index: Int, to message: inout MessageWriter,
        context: EncodingContext
    ) -> AppendResult {
        // The template's trivial fields, read in place; a method called on it would copy it.
        let (kind, texts, variable) = (template.pointee.kind, template.pointee.texts, template.pointee.variable)
        let announce = !announced[index]
        // At most: the open set's padding (3), the template set (its header and the template),
        // then a data set (its header, the record, its padding, 3).
        let announcing = announce ? 3 + 4 + template.pointee.templateLength + 4 + 3 : nil
        let id = template.pointee.id
        let recordLength = template.pointee.layout.recordLength
        // IPFIX's fields are counted as they are written, when their bound fits (most records:
        // a pass over the texts less); exactly first at the end of a message.
        var fieldsLength =
            variable ? ApplicationTemplate.ipfixBound(texts: texts, detail) : template.pointee.fieldsLength(detail)
        // Both checks written out: a function for them, inlined with the packer's own, cost a
        // labelled record 15 instructions more (callgrind).
        var fits =
            announcing.map { message.count + $0 + recordLength + fieldsLength <= message.capacity }
            ?? sets.fits(id: id, length: recordLength + fieldsLength, in: message)
        if !fits && variable {
            fieldsLength = ApplicationTemplate.ipfixFields(kind, texts: texts, application: 0, detail, into: nil)
            fits =
                announcing.map { message.count + $0 + recordLength + fieldsLength <= message.capacity }
                ?? sets.fits(id: id, length: recordLength + fieldsLength, in: message)
        }
        guard fits else { return recordsInMessage == 0 && templatesInMessage == 0 ? .notExportable : .full }
        if announce {
            sets.close(&message)
            writeTemplateSet([template.pointee], into: &message)
            announced[index] = true
        }
        sets.open(template.pointee.id, &message)
        message.append(record, as: template.pointee.layout, context: context)
        if variable {
            ApplicationTemplate.writeIPFIXFields(
                kind, texts: texts, application: record.application, detail, fieldsLength, into: &message)
        } else {
            template.pointee.writeEachField(application: record.application, detail, into: &message)
        }
        recordsInMessage += 1
        return .appended
    }

    mutating func close(_ message: inout MessageWriter) { sets.close(&message) }
}
