/// The set framing IPFIX and NetFlow v9 share: a set (FlowSet) is an ID, a length, records of
/// one template back to back, and zero padding to a 4-byte boundary counted in the length.
/// The packer keeps the open data set and answers, exactly, whether one more record fits.
struct SetPacker {
    private var openStart = -1
    private var openID: UInt16 = 0

    mutating func reset() {
        openStart = -1
        openID = 0
    }

    /// Whether a record of `length` bytes for set `id` fits: the open set's padding and a new
    /// set header when the set changes, and the padding the set will need once closed.
    func fits(id: UInt16, length: Int, in message: MessageWriter) -> Bool {
        var end = message.count
        let setLength: Int
        if id == openID && openStart >= 0 {
            setLength = message.count - openStart + length
            end += length
        } else {
            if openStart >= 0 { end += padding4(message.count - openStart) }
            setLength = 4 + length
            end += 4 + length
        }
        return end + padding4(setLength) <= message.capacity
    }

    /// Makes sure the open set is `id`, closing another first.
    mutating func open(_ id: UInt16, _ message: inout MessageWriter) {
        if id == openID && openStart >= 0 { return }
        close(&message)
        openStart = message.count
        openID = id
        message.append16(id)
        message.append16(0)
    }

    mutating func close(_ message: inout MessageWriter) {
        guard openStart >= 0 else { return }
        message.appendZeros(padding4(message.count - openStart))
        message.set16(UInt16(message.count - openStart), at: openStart + 2)
        reset()
    }

    /// A template set (IPFIX set 2, NetFlow v9 FlowSet 0): per template its ID, field count,
    /// and (element ID, length) pairs, with the enterprise bit and number for enterprise
    /// elements (IPFIX §3.2). Every part is a multiple of 4 bytes: no padding.
    static func writeTemplateSet(
        id: UInt16, _ templates: [(id: UInt16, layout: RecordLayout)],
        into message: inout MessageWriter
    ) {
        let start = message.count
        message.append16(id)
        message.append16(0)
        for t in templates {
            message.append16(t.id)
            message.append16(UInt16(t.layout.fields.count))
            writeSpecifiers(t.layout.fields, into: &message)
        }
        message.set16(UInt16(message.count - start), at: start + 2)
    }

    /// The fields' specifiers: element ID and length, with the enterprise bit and number for an
    /// enterprise element.
    static func writeSpecifiers(_ fields: [FlowField], into message: inout MessageWriter) {
        for field in fields {
            if let enterprise = field.enterprise {
                message.append16(field.elementID | 0x8000)
                message.append16(UInt16(field.length))
                message.append32(enterprise)
            } else {
                message.append16(field.elementID)
                message.append16(UInt16(field.length))
            }
        }
    }

    static func specifiersLength(_ fields: [FlowField]) -> Int {
        fields.reduce(0) { $0 + ($1.enterprise == nil ? 4 : 8) }
    }

    static func templateSetLength(_ layouts: [RecordLayout]) -> Int {
        4 + layouts.reduce(0) { $0 + 4 + specifiersLength($1.fields) }
    }
}

/// An options record layout: scope fields first, then the option fields, each an Information
/// Element number and a length. Values are unsigned numbers written big-endian in that length.
struct OptionsLayout: Equatable {
    let id: UInt16
    let scope: [(element: UInt16, length: Int)]
    let fields: [(element: UInt16, length: Int)]

    static func == (a: OptionsLayout, b: OptionsLayout) -> Bool {
        a.id == b.id && a.scope.map(\.element) == b.scope.map(\.element)
            && a.fields.map(\.element) == b.fields.map(\.element)
    }

    var recordLength: Int { (scope + fields).reduce(0) { $0 + $1.length } }

    /// The (element, length) specifiers, scope first: the part both formats' options templates
    /// share.
    func writeSpecifiers(into message: inout MessageWriter) {
        for spec in scope + fields {
            message.append16(spec.element)
            message.append16(UInt16(spec.length))
        }
    }

    /// One data set per layout, each with one record of its values, padded.
    static func writeDataSets(_ records: [(layout: OptionsLayout, values: [UInt64])], into message: inout MessageWriter)
    {
        var packer = SetPacker()
        for record in records {
            packer.open(record.layout.id, &message)
            record.layout.writeRecord(record.values, into: &message)
        }
        packer.close(&message)
    }

    /// Writes one data record: `values` in scope-then-field order.
    func writeRecord(_ values: [UInt64], into message: inout MessageWriter) {
        for (spec, value) in zip(scope + fields, values) {
            switch spec.length {
            case 1: message.append8(UInt8(truncatingIfNeeded: value))
            case 2: message.append16(UInt16(truncatingIfNeeded: value))
            case 4: message.append32(UInt32(truncatingIfNeeded: value))
            default: message.append64(value)
            }
        }
    }

    /// A template ID derived from the layout, as for flow templates, kept clear of `taken`.
    static func id(for specs: [(element: UInt16, length: Int)], avoiding taken: Set<UInt16>) -> UInt16 {
        RecordLayout.templateID(elements: specs.map { ($0.element, $0.length) }, salt: 0x0F, avoiding: taken)
    }
}
