/// The TCP header's flag bits, as `PacketFacts.tcpFlags` holds them, and the one bit of flowtap's own.
public enum TCPFlags {
    public static let fin: UInt16 = 0x01
    public static let syn: UInt16 = 0x02
    public static let rst: UInt16 = 0x04
    public static let psh: UInt16 = 0x08
    public static let ack: UInt16 = 0x10
    /// Not a TCP flag: the segment carries payload (set by the decoder, kept out of records).
    public static let payload: UInt16 = 0x8000
    /// The bits of tcpControlBits (RFC 9565): what records carry.
    public static let header: UInt16 = 0x0FFF
}
