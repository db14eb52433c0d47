/// The names flowtap gives the descriptors it passes to a successor or leaves in the service
/// manager's fd store (FDNAME=: printable ASCII, no ':', at most 255 bytes).
package enum DescriptorNames {
    package static let state = "state"
    package static let control = "control"
    package static let metrics = "metrics"
    package static let raw4 = "raw4"
    package static let raw6 = "raw6"
    package static func tapA(_ queue: Int) -> String { "tap-a-\(queue)" }
    package static func tapB(_ queue: Int) -> String { "tap-b-\(queue)" }
}
