/// The SSH protocol version exchange (RFC 4253 §4.2): each side's first line is
/// "SSH-protoversion-softwareversion", and a client sends nothing before it.
public enum SSHBanner {
    public enum Outcome: Sendable, Equatable {
        case ssh
        case incomplete(bytes: Int)
        case notSSH
    }

    /// Whether a client's stream starts with an SSH version line ("SSH-2.0-" or "SSH-1.99-").
    public static func recognise(_ stream: UnsafeRawBufferPointer) -> Outcome {
        let prefix: StaticString = "SSH-"
        for i in 0 ..< min(stream.count, prefix.utf8CodeUnitCount) where stream[i] != prefix.utf8Start[i] {
            return .notSSH
        }
        guard stream.count >= 8 else { return .incomplete(bytes: 8) }
        // The protocol version: "2.0" or "1.99", then a dash.
        let two: StaticString = "2.0-", compatible: StaticString = "1.99-"
        if matches(stream, at: 4, two) || matches(stream, at: 4, compatible) { return .ssh }
        return stream.count >= 9 ? .notSSH : .incomplete(bytes: 9)
    }

    static func matches(_ stream: UnsafeRawBufferPointer, at: Int, _ text: StaticString) -> Bool {
        guard stream.count >= at + text.utf8CodeUnitCount else { return false }
        for i in 0 ..< text.utf8CodeUnitCount where stream[at + i] != text.utf8Start[i] { return false }
        return true
    }
}
