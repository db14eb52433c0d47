import FlowTapInspect

/// The IPFIX options record that names each applicationId (RFC 6759 §5, as Cisco's NBAR
/// exports it): scope applicationId (95), then applicationName (96) and
/// applicationDescription (94), one record per label flowtap gives. nfdump stores it and prints
/// the name (`%nbnam`); Wireshark shows it.
struct ApplicationNames: Sendable, Equatable {
    let id: UInt16

    init(avoiding taken: Set<UInt16>) {
        id = RecordLayout.templateID(elements: [(95, 3), (96, 0xFFFF), (94, 0xFFFF)], salt: 0x5E, avoiding: taken)
    }

    /// Its options template, inside an options template set (IPFIX set 3).
    func writeTemplate(into m: inout MessageWriter) {
        m.append16(id)
        m.append16(3)
        m.append16(1)
        for (element, length) in [(UInt16(95), UInt16(3)), (96, 0xFFFF), (94, 0xFFFF)] {
            m.append16(element)
            m.append16(length)
        }
    }

    /// Its data set: one record per label.
    func writeDataSet(into m: inout MessageWriter) {
        let start = m.count
        m.append16(id)
        m.append16(0)
        for app in ApplicationID.labelled {
            m.append8(ApplicationID.classificationEngine)
            m.append16(UInt16(app.rawValue))
            for text in [app.name, app.description] {
                let bytes = Array(text.utf8.prefix(254))
                m.append8(UInt8(bytes.count))
                for b in bytes { m.append8(b) }
            }
        }
        m.appendZeros(padding4(m.count - start))
        m.set16(UInt16(m.count - start), at: start + 2)
    }
}
