import FlowTapInspect
import FlowTapMeter

/// A template for the records of labelled flows: a flow layout's fields, then the fields of one
/// `ApplicationField.Kind`. Announced in a stream only once such a record goes out
/// (`DataTemplates`), so that a collector of a probe that names nothing sees today's templates.
struct ApplicationTemplate: Sendable, Equatable {
    let id: UInt16
    let layout: RecordLayout
    let fields: [ApplicationField]
    /// IPFIX: text fields variable-length; NetFlow v9: all fixed, ALPN left out.
    let variable: Bool

    init(layout: RecordLayout, kind: ApplicationField.Kind, variable: Bool, avoiding taken: Set<UInt16>) {
        self.layout = layout
        self.variable = variable
        fields = kind.fields.filter { variable || $0.v9Element != nil }
        let elements =
            layout.fields.map { ($0.enterprise == nil ? $0.elementID : $0.elementID | 0x8000, $0.length) }
            + fields.map {
                (variable ? $0.element | ($0.enterprise == nil ? 0 : 0x8000) : $0.v9Element ?? 0, $0.fixedLength)
            }
        id = RecordLayout.templateID(elements: elements, salt: UInt8(0xA0 + kind.rawValue), avoiding: taken)
    }

    /// Bytes of this template in a template set.
    var templateLength: Int {
        4 + SetPacker.specifiersLength(layout.fields)
            + fields.reduce(0) { $0 + (variable && $1.enterprise != nil ? 8 : 4) }
    }

    func writeTemplate(into m: inout MessageWriter) {
        m.append16(id)
        m.append16(UInt16(layout.fields.count + fields.count))
        SetPacker.writeSpecifiers(layout.fields, into: &m)
        for field in fields {
            let length = UInt16(variable && field.isText ? ApplicationField.variableLength : field.fixedLength)
            if variable, let enterprise = field.enterprise {
                m.append16(field.element | 0x8000)
                m.append16(length)
                m.append32(enterprise)
            } else {
                m.append16(variable ? field.element : field.v9Element ?? 0)
                m.append16(length)
            }
        }
    }

    /// Bytes the application fields take in a record (the flow's take `layout.recordLength`).
    func fieldsLength(_ detail: UnsafePointer<ApplicationDetail>?) -> Int {
        var n = 0
        for field in fields { n += field.encodedLength(detail, variable: variable) }
        return n
    }

    /// The largest record this template can make (every text field full).
    var largestRecord: Int {
        layout.recordLength + fields.reduce(0) { $0 + ($1.isText && variable ? 258 : $1.fixedLength) }
    }

    /// The application fields of a record labelled `application`, after its flow's.
    func writeFields(application: UInt8, _ detail: UnsafePointer<ApplicationDetail>?, into m: inout MessageWriter) {
        for field in fields { field.write(application: application, detail, variable: variable, into: &m) }
    }
}
