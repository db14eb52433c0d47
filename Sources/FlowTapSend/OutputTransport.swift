import Glibc

/// The exporter's transport into `OutputFiles`: no headers in front of a message, and a
/// message as large as IPFIX allows (65535 bytes, RFC 7011 §3.1).
public struct OutputTransport: MessageTransport {
    public let files: OutputFiles
    public init(_ files: OutputFiles) { self.files = files }
    public var headerLength: Int { 0 }
    public mutating func send(payload: UnsafeMutableRawPointer, length: Int) -> Int {
        files.write(UnsafeRawBufferPointer(start: payload, count: length))
    }
}
