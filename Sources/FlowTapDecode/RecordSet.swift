/// The record sets of `--record`, as in VPP flowprobe.
public struct RecordSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let l2 = RecordSet(rawValue: 1)
    public static let l3 = RecordSet(rawValue: 2)
    public static let l4 = RecordSet(rawValue: 4)

    /// Parses "l2,l3,l4" in any order and combination; nil when a word is unknown or none given.
    public init?(parsing text: String) {
        var set: RecordSet = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch word.trimmingCharacters(in: " ").lowercased() {
            case "l2": set.insert(.l2)
            case "l3": set.insert(.l3)
            case "l4": set.insert(.l4)
            default: return nil
            }
        }
        if set.isEmpty { return nil }
        self = set
    }

    public var names: String {
        [(RecordSet.l2, "l2"), (.l3, "l3"), (.l4, "l4")].filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
