/// IPFIX (RFC 7011) messages: a 16-byte header, a Template Set (ID 2) when templates are due,
/// and Data Sets whose ID is the template ID. Sets are padded with zeros to a 4-byte boundary
/// (§3.3.1: padding is shorter than any record, so a collector never mistakes it for one).
///
/// Sequence number (§3.1): the data records sent in this observation domain before this
/// message, modulo 2^32. It advances only when a message was handed to the network.
public struct IPFIXEncoder: MessageEncoder {
    public static let version: UInt16 = 10
    public static let headerLength = 16
    static let templateSetID: UInt16 = 2

    public struct Template: Sendable, Equatable {
        public let id: UInt16
        public let layout: RecordLayout
    }

    public let observationDomain: UInt32
    /// Indexed by `RecordLayout.Kind.rawValue`.
    public let templates: [Template?]
    public private(set) var sequence: UInt32
    public private(set) var recordsInMessage = 0
    private var openSetStart = -1
    private var openSetID: UInt16 = 0

    public init(observationDomain: UInt32, layouts: [RecordLayout?], initialSequence: UInt32 = 0) {
        self.observationDomain = observationDomain
        var taken = Set<UInt16>()
        templates = layouts.map { layout in
            guard let layout else { return nil }
            let id = layout.templateID(avoiding: taken)
            taken.insert(id)
            return Template(id: id, layout: layout)
        }
        sequence = initialSequence
    }

    static func templateSetLength(_ layouts: [RecordLayout?]) -> Int {
        4 + layouts.compactMap { $0 }.reduce(0) { $0 + 4 + 4 * $1.fields.count }
    }

    public static func minimumMessageLength(layouts: [RecordLayout?]) -> Int {
        let largest = layouts.compactMap { $0?.recordLength }.max() ?? 0
        return headerLength + max(templateSetLength(layouts), 4 + largest + 3)
    }

    public mutating func begin(_ message: inout MessageWriter, withTemplates: Bool) {
        message.count = Self.headerLength
        recordsInMessage = 0
        openSetStart = -1
        openSetID = 0
        if withTemplates { writeTemplates(&message) }
    }

    private func writeTemplates(_ message: inout MessageWriter) {
        let start = message.count
        message.append16(Self.templateSetID)
        message.append16(0)
        for case let template? in templates {
            message.append16(template.id)
            message.append16(UInt16(template.layout.fields.count))
            for field in template.layout.fields {
                message.append16(field.elementID)
                message.append16(UInt16(field.length))
            }
        }
        message.base.put16(UInt16(message.count - start), at: start + 2)
    }

    public mutating func append(_ record: borrowing FlowRecord, to message: inout MessageWriter) -> Bool {
        guard let template = templates[RecordLayout.kind(of: record).rawValue] else { return false }
        let length = template.layout.recordLength
        let newSet = openSetID != template.id
        var end = message.count
        let setLengthAfter: Int
        if newSet {
            if openSetStart >= 0 { end += Self.padding(message.count - openSetStart) }
            setLengthAfter = 4 + length
            end += 4 + length
        } else {
            setLengthAfter = message.count - openSetStart + length
            end += length
        }
        guard end + Self.padding(setLengthAfter) <= message.capacity else { return false }
        if newSet {
            closeSet(&message)
            openSetStart = message.count
            openSetID = template.id
            message.append16(template.id)
            message.append16(0)
        }
        var p = message.base + message.count
        for field in template.layout.fields {
            field.write(record, to: p)
            p += field.length
        }
        message.count += length
        recordsInMessage += 1
        return true
    }

    public func isEmpty(_ message: borrowing MessageWriter) -> Bool {
        message.count <= Self.headerLength
    }

    public mutating func finish(_ message: inout MessageWriter, exportTimeSeconds: UInt32) {
        closeSet(&message)
        let p = message.base
        p.put16(Self.version, at: 0)
        p.put16(UInt16(message.count), at: 2)
        p.put32(exportTimeSeconds, at: 4)
        p.put32(sequence, at: 8)
        p.put32(observationDomain, at: 12)
    }

    public mutating func commit() {
        sequence &+= UInt32(truncatingIfNeeded: recordsInMessage)
    }

    private mutating func closeSet(_ message: inout MessageWriter) {
        guard openSetStart >= 0 else { return }
        message.appendZeros(Self.padding(message.count - openSetStart))
        message.base.put16(UInt16(message.count - openSetStart), at: openSetStart + 2)
        openSetStart = -1
        openSetID = 0
    }

    @inline(__always)
    static func padding(_ setLength: Int) -> Int { (4 - setLength % 4) % 4 }
}
