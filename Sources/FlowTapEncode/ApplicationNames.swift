import FlowTapInspect

/// The options record that names each applicationId (RFC 6759 §5, as Cisco's NBAR
/// exports it): scope applicationId (95), then applicationName (96) and
/// applicationDescription (94), one record per label flowtap gives. nfdump stores it and prints
/// the name (`%nbnam`); Wireshark shows it.
///
/// The strings have fixed lengths, padded with zeros, as NBAR sends them: nfdump 1.7 reads an
/// NBAR options record only at its template's fixed size, and ends each string at its last
/// byte (so a name has at most `nameLength - 1` bytes).
struct ApplicationNames: Sendable, Equatable {
    let id: UInt16
    static let nameLength = 24
    static let descriptionLength = 64
    static let elements: [(UInt16, Int)] = [(95, 3), (96, nameLength), (94, descriptionLength)]

    /// Bytes of one names record after its scope prefix.
    static let recordLength = 3 + nameLength + descriptionLength
    /// Bytes the names take in an IPFIX options message: their options template set (a set
    /// header and a template of three fields) and their data set, padded.
    static let ipfixLength = 4 + 6 + 4 * elements.count + dataSetLength(prefix: 0)
    /// In a NetFlow v9 packet: the Options Template FlowSet (padded) and the data FlowSet.
    static let v9Length =
        4 + 6 + 4 + 4 * elements.count + padding4(6 + 4 + 4 * elements.count)
        + dataSetLength(prefix: 4)

    static func dataSetLength(prefix: Int) -> Int {
        let body = 4 + ApplicationID.labelled.count * (prefix + recordLength)
        return body + padding4(body)
    }

    init(avoiding taken: Set<UInt16>) {
        id = RecordLayout.templateID(elements: Self.elements, salt: 0x5E, avoiding: taken)
    }

    /// Its options template, inside an options template set (IPFIX set 3).
    func writeTemplate(into m: inout MessageWriter) {
        m.append16(id)
        m.append16(3)
        m.append16(1)
        for (element, length) in Self.elements {
            m.append16(element)
            m.append16(UInt16(length))
        }
    }

    /// Its NetFlow v9 form, a whole Options Template FlowSet (ID 1): v9 options need a scope
    /// (RFC 3954 §6.1), so System (type 1, 4 bytes: the Source ID) comes first, as NBAR's v9
    /// application table has it; the three elements follow as options fields.
    func writeV9TemplateFlowSet(into m: inout MessageWriter) {
        let start = m.count
        m.append16(1)
        m.append16(0)
        m.append16(id)
        m.append16(4) // option scope length, bytes
        m.append16(UInt16(4 * Self.elements.count)) // option length, bytes
        m.append16(1) // scope System
        m.append16(4)
        for (element, length) in Self.elements {
            m.append16(element)
            m.append16(UInt16(length))
        }
        m.appendZeros(padding4(m.count - start))
        m.set16(UInt16(m.count - start), at: start + 2)
    }

    /// Its data set: one record per label; in NetFlow v9, each after its `system` scope.
    func writeDataSet(into m: inout MessageWriter, system: UInt32? = nil) {
        let start = m.count
        m.append16(id)
        m.append16(0)
        for app in ApplicationID.labelled {
            if let system { m.append32(system) }
            m.append8(ApplicationID.classificationEngine)
            m.append16(UInt16(app.rawValue))
            for (text, length) in [(app.name, Self.nameLength), (app.description, Self.descriptionLength)] {
                let bytes = text.utf8.prefix(length - 1)
                for b in bytes { m.append8(b) }
                m.appendZeros(length - bytes.count)
            }
        }
        m.appendZeros(padding4(m.count - start))
        m.set16(UInt16(m.count - start), at: start + 2)
    }
}
