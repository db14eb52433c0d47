import FlowTapDecode

/// The export formats, as `--format` and `FORMAT://` name them.
public enum ExportFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    case ipfix
    case v9
    case v5

    public init?(name: String) {
        switch name.lowercased() {
        case "ipfix", "v10", "10": self = .ipfix
        case "v9", "9", "netflow9", "netflow-v9": self = .v9
        case "v5", "5", "netflow5", "netflow-v5": self = .v5
        default: return nil
        }
    }

    public var description: String { rawValue }

    /// IPFIX's port is 4739 (RFC 7011 §10.3.1); NetFlow has none, 2055 is customary.
    public var defaultPort: UInt16 {
        switch self {
        case .ipfix: IPFIXEncoder.defaultPort
        case .v9: NetFlowV9Encoder.defaultPort
        case .v5: NetFlowV5Encoder.defaultPort
        }
    }

    /// The largest message an encoder of this format must send whole (one record of the
    /// largest layout, the templates, or the options message): with the IP and UDP headers,
    /// the smallest MTU that `--mtu` accepts.
    public func largestRequiredMessage(records: RecordSet, biflow: Bool, ipfixNtop: Bool) -> Int {
        let context = EncodingContext(systemInitMs: 0)
        switch self {
        case .ipfix:
            return IPFIXEncoder(
                observationDomain: 1,
                layouts: RecordLayout.layouts(for: records, biflow: biflow, tcpInsight: ipfixNtop),
                context: context
            ).largestRequiredMessage
        case .v9:
            return NetFlowV9Encoder(
                sourceID: 1, layouts: RecordLayout.layouts(for: records, dialect: .netflowV9, tcpInsight: true),
                context: context
            ).largestRequiredMessage
        case .v5:
            return NetFlowV5Encoder(observationDomain: 1, context: context).largestRequiredMessage
        }
    }
}
