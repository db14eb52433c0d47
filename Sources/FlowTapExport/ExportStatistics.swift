import FlowTapDecode
import Glibc

/// Counters of one collector's export, read for the summary and stated in options records.
public struct ExportStatistics: Sendable, Equatable {
    /// Messages handed to the network, options messages included.
    public var messages: UInt64 = 0
    /// Flow records in those messages.
    public var records: UInt64 = 0
    /// Bytes of those messages (IPFIX/NetFlow payload, without IP and UDP headers).
    public var bytes: UInt64 = 0
    public var sendErrors: UInt64 = 0
    /// Records in messages that were dropped: the send queue was full, the message could
    /// never be sent (EMSGSIZE), or it did not fit the MTU (an encoder bug, caught by the
    /// writer's bounds check, never sent).
    public var recordsNotSent: UInt64 = 0
    /// Flow records the format cannot carry (IPv6 or non-IP in NetFlow v5).
    public var recordsNotExportable: UInt64 = 0
    /// Messages waiting in the send queue now.
    public var queued: UInt64 = 0
    /// Messages an encoder overfilled (see `MessageWriter.overflowed`): dropped, never sent.
    public var overflowedMessages: UInt64 = 0
    /// ICMP errors the network sent back for our datagrams (`CollectorErrors`).
    public var icmpErrors: UInt64 = 0
    /// The last send error (strerror text, or the ICMP error) and when it happened (wall-clock
    /// ms); "" and 0 when none.
    public var lastError = ""
    public var lastErrorMs: UInt64 = 0

    public init() {}

    public static func + (a: ExportStatistics, b: ExportStatistics) -> ExportStatistics {
        var s = a
        s.messages += b.messages
        s.records += b.records
        s.bytes += b.bytes
        s.sendErrors += b.sendErrors
        s.recordsNotSent += b.recordsNotSent
        s.recordsNotExportable += b.recordsNotExportable
        s.queued += b.queued
        s.overflowedMessages += b.overflowedMessages
        s.icmpErrors += b.icmpErrors
        if b.lastErrorMs >= s.lastErrorMs && !b.lastError.isEmpty {
            s.lastError = b.lastError
            s.lastErrorMs = b.lastErrorMs
        }
        return s
    }
}
