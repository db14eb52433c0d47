import FlowTapInspect
import FlowTapMeter

/// A template for the records of labelled flows: a flow layout's fields, then the fields of one
/// `ApplicationField.Kind`. Announced in a stream only once such a record goes out
/// (`DataTemplates`), so that a collector of a probe that names nothing sees today's templates.
struct ApplicationTemplate: Sendable, Equatable {
    let id: UInt16
    let layout: RecordLayout
    let kind: ApplicationField.Kind
    let fields: [ApplicationField]
    /// IPFIX: text fields variable-length; NetFlow v9: all fixed, ALPN left out.
    let variable: Bool
    /// The kind's text fields: its facts' text slots, 0 up.
    let texts: Int

    init(layout: RecordLayout, kind: ApplicationField.Kind, variable: Bool, avoiding taken: Set<UInt16>) {
        self.layout = layout
        self.kind = kind
        self.variable = variable
        texts = kind.fields.filter(\.isText).count
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
        if variable { return Self.ipfixFields(kind, texts: texts, application: 0, detail, into: nil) }
        var n = 0
        for field in fields { n += field.encodedLength(detail, variable: variable) }
        return n
    }

    /// The largest record this template can make (every text field full).
    var largestRecord: Int {
        layout.recordLength + fields.reduce(0) { $0 + ($1.isText && variable ? 258 : $1.fixedLength) }
    }

    /// At least the bytes `ipfixFields` writes, without going through the texts: each a length
    /// of at most 3 bytes and its bytes, and the numbers (TLS's version before its third text,
    /// HTTP's status or DNS's type and code after them, 2 bytes either way).
    @inline(__always)
    static func ipfixBound(texts: Int, _ detail: UnsafePointer<ApplicationDetail>?) -> Int {
        guard texts > 0 else { return 3 }
        guard let detail else { return 3 + texts + 2 }
        return 3 + 3 * texts + detail.pointee.textBytes + 2
    }

    /// IPFIX's application fields of a record labelled `application`, after its flow's, at most
    /// `length` bytes (`ipfixBound`, or their exact length), from the template's trivial fields
    /// alone: a caller that reads the template through a pointer calls this rather than a
    /// method, which would copy the template (its arrays retained and released) to call it on
    /// (`TemplateTable`).
    @inline(__always)
    static func writeIPFIXFields(
        _ kind: ApplicationField.Kind, texts: Int, application: UInt8, _ detail: UnsafePointer<ApplicationDetail>?,
        _ length: Int, into m: inout MessageWriter
    ) {
        guard m.reserve(length) else { return }
        m.count += ipfixFields(kind, texts: texts, application: application, detail, into: m.base + m.count)
    }

    /// Field by field, each as `ApplicationField.write` puts it: NetFlow v9's fixed-length
    /// fields, and the reference the IPFIX pass is tested against.
    func writeEachField(application: UInt8, _ detail: UnsafePointer<ApplicationDetail>?, into m: inout MessageWriter) {
        for field in fields { field.write(application: application, detail, variable: variable, into: &m) }
    }

    /// IPFIX's application fields of `kind` in `Kind.fields`' order, written at `p` in one pass
    /// (texts variable-length: a one-byte length, or 255 and two); returns the bytes they take,
    /// and only counts them when `p` is nil. The caller has reserved that many. Field by field,
    /// a switch and a bounds check each, this cost a labelled record about 700 instructions
    /// (callgrind on `read` of a capture rich in named flows); ApplicationTemplateTests checks
    /// the pass against `ApplicationField.write`. Every kind's texts come in slot order.
    @inline(__always)
    static func ipfixFields(
        _ kind: ApplicationField.Kind, texts: Int, application: UInt8, _ detail: UnsafePointer<ApplicationDetail>?,
        into p: UnsafeMutableRawPointer?
    ) -> Int {
        var at = 3
        p?.storeBytes(of: ApplicationID.classificationEngine, as: UInt8.self)
        p?.put16(UInt16(application), at: 1)
        guard texts > 0 else { return at }
        guard let detail else {
            // Every text empty (a zero length each) and the two bytes of numbers zero.
            if let p { (p + at).initializeMemory(as: UInt8.self, repeating: 0, count: texts + 2) }
            return at + texts + 2
        }
        let version = detail.pointee.tlsVersion
        ApplicationDetail.forEachText(detail, count: texts) { slot, t in
            if kind == .tls && slot == 2 {
                p?.put16(version, at: at)
                at += 2
            }
            if t.count < 255 {
                p?.storeBytes(of: UInt8(t.count), toByteOffset: at, as: UInt8.self)
                at += 1
            } else {
                p?.storeBytes(of: 255, toByteOffset: at, as: UInt8.self)
                p?.put16(UInt16(t.count), at: at + 1)
                at += 3
            }
            if let p, let from = t.baseAddress { (p + at).copyMemory(from: from, byteCount: t.count) }
            at += t.count
        }
        switch kind {
        case .http:
            p?.put16(detail.pointee.httpStatus, at: at)
            at += 2
        case .dns:
            // ntop's element is one octet: types above 255 (CAA, URI) go as 0.
            let type = detail.pointee.dnsQueryType
            p?.storeBytes(of: type <= 255 ? UInt8(type) : 0, toByteOffset: at, as: UInt8.self)
            p?.storeBytes(of: detail.pointee.dnsResponseCode, toByteOffset: at + 1, as: UInt8.self)
            at += 2
        default:
            break
        }
        return at
    }
}
