/// The names flowtap gives the descriptors it passes to a successor or leaves in the service
/// manager's fd store (FDNAME=: printable ASCII, no ':', at most 255 bytes).
enum DescriptorNames {
    static let state = "state"
    static let control = "control"
    static let metrics = "metrics"
    static let raw4 = "raw4"
    static let raw6 = "raw6"
    static func tapA(_ queue: Int) -> String { "tap-a-\(queue)" }
    static func tapB(_ queue: Int) -> String { "tap-b-\(queue)" }
}
