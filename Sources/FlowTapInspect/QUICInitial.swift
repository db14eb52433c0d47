import Crypto
import CryptoExtras
import FlowTapBase
// ContiguousBytes, which swift-crypto's HKDF takes (FoundationEssentials, not Foundation: no ICU).
import FoundationEssentials

/// A client's QUIC Initial packets (RFC 9000 §17.2.2), opened with the keys anyone can derive
/// from the Destination Connection ID the client chose (RFC 9001 §5.2; RFC 9369 §3.3 for
/// version 2), so that the ClientHello in their CRYPTO frames can be read like TLS's. The
/// cryptography is swift-crypto's: HKDF-SHA256 for the secrets, the AES block function
/// (CryptoExtras' `AES.permute`) for header protection, AES-128-GCM to open the payload.
///
/// Every length on the way is checked against what holds it; a packet that breaks one, or whose
/// tag does not verify, is an `InspectIssue`, never a trap. Each key derivation and opening
/// allocates (swift-crypto returns its results in new storage), so the caller bounds how many
/// it asks for (`FlowInspection`'s per-second budget).
public enum QUICInitial {
    public static let version1: UInt32 = 0x0000_0001
    public static let version2: UInt32 = 0x6B33_43CF

    /// Initial packets opened per datagram at most: a client's first datagram coalesces one,
    /// sometimes two; more is not looked at.
    public static let maxPackets = 4
    /// A client's datagrams that carry an Initial are at least this long (RFC 9000 §14.1).
    public static let minimumClientDatagram = 1200
    /// CRYPTO frames per packet at most (browsers split a hello into a few, out of order).
    public static let maxFrames = 32

    /// One CRYPTO frame: where its bytes go in the Initial crypto stream, and the bytes.
    public struct CryptoFrame {
        public var offset: Int
        public var data: UnsafeRawBufferPointer
    }

    public enum Outcome: Sendable, Equatable {
        /// Not a long-header packet of any QUIC version.
        case notQUIC
        /// A long header of a version flowtap has no Initial keys for.
        case unknownVersion(UInt32)
        /// A known version, but no client Initial was opened in the datagram (a Handshake or
        /// 0-RTT packet, a Retry, a version negotiation).
        case noInitial(version: UInt32)
        /// A server's datagram (an Initial coalesced with a Handshake packet, or one shorter
        /// than a client's): QUIC, with nothing a probe can open.
        case serverFlight(version: UInt32)
        /// `packets` Initial packets were opened and their CRYPTO frames handed on.
        case opened(version: UInt32, packets: Int)
        case malformed(InspectIssue)
    }

    /// Initial keys of one direction: payload key, IV and header-protection key.
    struct Keys {
        let key: SymmetricKey
        let iv: [UInt8]
        let hp: SymmetricKey
    }

    /// What the datagram's first packet says, without opening anything: its version when it is
    /// a long header (with the fixed bit set) of any version, else nil.
    public static func longHeaderVersion(_ datagram: UnsafeRawBufferPointer) -> UInt32? {
        guard let p = datagram.baseAddress, datagram.count >= 7, p.u8(0) & 0xC0 == 0xC0 else { return nil }
        let dcid = Int(p.u8(5))
        guard dcid <= 20, datagram.count >= 7 + dcid, Int(p.u8(6 + dcid)) <= 20 else { return nil }
        return p.be32(1)
    }

    /// Opens the client Initial packets of `datagram`, handing each one's CRYPTO frames to
    /// `frames`, sorted by offset, while the packet's plaintext is alive. A packet is opened with
    /// the keys of its own Destination Connection ID, else with those of `originalDCID` (a
    /// client's later Initials carry the server's connection ID but keep the first keys).
    /// `decryptions` counts the openings tried.
    public static func open(
        _ datagram: UnsafeRawBufferPointer, originalDCID: UnsafeRawBufferPointer?, decryptions: inout Int,
        frames: (_ version: UInt32, _ dcid: UnsafeRawBufferPointer, _ crypto: UnsafeBufferPointer<CryptoFrame>) -> Void
    ) -> Outcome {
        guard let version = longHeaderVersion(datagram), let base = datagram.baseAddress else { return .notQUIC }
        guard version != 0 else { return .noInitial(version: 0) }
        guard version == version1 || version == version2 else { return .unknownVersion(version) }
        let initialType: UInt8 = version == version2 ? 1 : 0
        let handshakeType: UInt8 = version == version2 ? 3 : 2
        let retryType: UInt8 = version == version2 ? 0 : 3
        // The packets' headers first: where each Initial's packet number starts and where it
        // ends, and whether a Handshake packet rides along.
        var starts = InlineArray<4, Int>(repeating: 0)
        var pnOffsets = InlineArray<4, Int>(repeating: 0)
        var ends = InlineArray<4, Int>(repeating: 0)
        var initials = 0
        var handshake = false
        var at = 0
        while at < datagram.count, initials < maxPackets {
            let p = base + at
            let left = datagram.count - at
            // Coalesced packets (RFC 9000 §12.2) are long headers of the same version; what is
            // not (padding, a short header) ends the datagram's packets.
            guard left >= 7, p.u8(0) & 0xC0 == 0xC0, p.be32(1) == version else { break }
            let type = (p.u8(0) >> 4) & 3
            guard type != retryType else { break }
            let dcidLength = Int(p.u8(5))
            guard dcidLength <= 20, 7 + dcidLength <= left else { return .malformed(.badQUICPacket) }
            let scidLength = Int(p.u8(6 + dcidLength))
            var h = 7 + dcidLength + scidLength
            guard scidLength <= 20, h <= left else { return .malformed(.badQUICPacket) }
            if type == initialType {
                guard let (tokenLength, t) = varint(p, h, left), tokenLength <= UInt64(left - t) else {
                    return .malformed(.badQUICPacket)
                }
                h = t + Int(tokenLength)
            }
            guard let (payloadLength, pnOffset) = varint(p, h, left), payloadLength <= UInt64(left - pnOffset) else {
                return .malformed(.badQUICPacket)
            }
            if type == initialType {
                // A packet number of at most 4 bytes, the sample's 16 after its first 4, the tag.
                guard payloadLength >= 4 + 16 + 1 else { return .malformed(.badQUICPacket) }
                starts[initials] = at
                pnOffsets[initials] = at + pnOffset
                ends[initials] = at + pnOffset + Int(payloadLength)
                initials += 1
            } else if type == handshakeType {
                handshake = true
            }
            at += pnOffset + Int(payloadLength)
        }
        // A server's datagram: an Initial (the ServerHello) with a Handshake packet, which a
        // client cannot send before it has the server's, or shorter than the 1200 bytes a
        // client pads every datagram with an Initial to (RFC 9000 §14.1). Its keys come from a
        // connection ID only the client's first Initial carries: nothing to open.
        if initials > 0 && (handshake || datagram.count < minimumClientDatagram) {
            return .serverFlight(version: version)
        }
        guard initials > 0 else { return .noInitial(version: version) }
        for i in 0 ..< initials {
            let start = starts[i]
            let p = base + start
            let dcid = UnsafeRawBufferPointer(start: p + 6, count: Int(p.u8(5)))
            let pnOffset = pnOffsets[i] - start
            let end = ends[i] - start
            var outcome = unprotect(
                p, pnOffset: pnOffset, end: end, keys: keys(dcid, version: version), version, dcid, frames)
            decryptions += 1
            if case .malformed(.quicBadTag) = outcome, let originalDCID, !originalDCID.elementsEqual(dcid) {
                outcome = unprotect(
                    p, pnOffset: pnOffset, end: end, keys: keys(originalDCID, version: version), version, originalDCID,
                    frames)
                decryptions += 1
            }
            if case .malformed = outcome { return outcome }
        }
        return .opened(version: version, packets: initials)
    }

    /// A variable-length integer (RFC 9000 §16) at `at`, and the offset after it, or nil when
    /// it runs past `limit`.
    static func varint(_ p: UnsafeRawPointer, _ at: Int, _ limit: Int) -> (UInt64, Int)? {
        guard at < limit else { return nil }
        let length = 1 << Int(p.u8(at) >> 6)
        guard at + length <= limit else { return nil }
        var value = UInt64(p.u8(at) & 0x3F)
        for i in 1 ..< length { value = value << 8 | UInt64(p.u8(at + i)) }
        return (value, at + length)
    }

    /// The client's Initial keys for `dcid` (RFC 9001 §5.2, RFC 9369 §3.3.1 and §3.3.2).
    static func keys(_ dcid: UnsafeRawBufferPointer, version: UInt32) -> Keys {
        let v2 = version == version2
        let salt: [UInt8] =
            v2
            ? [
                0x0D, 0xED, 0xE3, 0xDE, 0xF7, 0x00, 0xA6, 0xDB, 0x81, 0x93, 0x81, 0xBE, 0x6E, 0x26, 0x9D, 0xCB, 0xF9,
                0xBD, 0x2E, 0xD9
            ]
            : [
                0x38, 0x76, 0x2C, 0xF7, 0xF5, 0x59, 0x34, 0xB3, 0x4D, 0x17, 0x9A, 0xE6, 0xA4, 0xC8, 0x0C, 0xAD, 0xCC,
                0xBB, 0x7F, 0x0A
            ]
        let initial = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: dcid), salt: salt)
        let client = expandLabel(initial, "client in", 32)
        let prefix = v2 ? "quicv2 " : "quic "
        let iv = expandLabel(client, prefix + "iv", 12).withUnsafeBytes { [UInt8]($0) }
        return Keys(key: expandLabel(client, prefix + "key", 16), iv: iv, hp: expandLabel(client, prefix + "hp", 16))
    }

    /// TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
    static func expandLabel(_ secret: some ContiguousBytes, _ label: String, _ length: Int) -> SymmetricKey {
        let full = Array("tls13 \(label)".utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
        return HKDF<SHA256>.expand(pseudoRandomKey: secret, info: info, outputByteCount: length)
    }

    /// Removes header protection (RFC 9001 §5.4) and opens the payload (§5.3) of the Initial
    /// packet at `p` whose packet number starts at `pnOffset` and which ends at `end`; then reads
    /// its frames.
    static func unprotect(
        _ p: UnsafeRawPointer, pnOffset: Int, end: Int, keys: Keys, _ version: UInt32, _ dcid: UnsafeRawBufferPointer,
        _ frames: (UInt32, UnsafeRawBufferPointer, UnsafeBufferPointer<CryptoFrame>) -> Void
    ) -> Outcome {
        var mask = [UInt8](UnsafeRawBufferPointer(start: p + pnOffset + 4, count: 16))
        guard (try? AES.permute(&mask, key: keys.hp)) != nil else { return .malformed(.quicBadTag) }
        var header = [UInt8](UnsafeRawBufferPointer(start: p, count: pnOffset + 4))
        header[0] ^= mask[0] & 0x0F
        let pnLength = Int(header[0] & 3) + 1
        header.removeLast(4 - pnLength)
        var nonce = keys.iv
        for i in 0 ..< pnLength {
            header[pnOffset + i] ^= mask[1 + i]
            nonce[12 - pnLength + i] ^= header[pnOffset + i]
        }
        let payload = pnOffset + pnLength
        let tagStart = end - 16
        guard tagStart > payload else { return .malformed(.badQUICPacket) }
        let plain: [UInt8]
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: nonce),
                ciphertext: UnsafeRawBufferPointer(start: p + payload, count: tagStart - payload),
                tag: UnsafeRawBufferPointer(start: p + tagStart, count: 16))
            plain = try AES.GCM.open(box, using: keys.key, authenticating: header).withUnsafeBytes { [UInt8]($0) }
        } catch {
            return .malformed(.quicBadTag)
        }
        return plain.withUnsafeBytes { cryptoFrames($0, version, dcid, frames) }
    }

    /// The frames of an opened Initial (RFC 9000 §19): CRYPTO frames gathered and sorted by
    /// offset; PADDING, PING and ACK skipped; a CONNECTION_CLOSE ends the packet; any other
    /// frame is not allowed in an Initial (§12.4) and makes it malformed. (Public for the fuzz
    /// target, which cannot make valid tags.)
    public static func cryptoFrames(
        _ plain: UnsafeRawBufferPointer, _ version: UInt32, _ dcid: UnsafeRawBufferPointer,
        _ frames: (UInt32, UnsafeRawBufferPointer, UnsafeBufferPointer<CryptoFrame>) -> Void
    ) -> Outcome {
        guard let p = plain.baseAddress else { return .malformed(.badQUICFrame) }
        let limit = plain.count
        var found = [CryptoFrame]()
        found.reserveCapacity(8)
        var at = 0
        scan: while at < limit {
            guard let (type, next) = varint(p, at, limit) else { return .malformed(.badQUICFrame) }
            at = next
            switch type {
            case 0x00, 0x01:
                continue
            case 0x02, 0x03:
                // Largest acknowledged, delay, range count, first range; then the ranges.
                var values = [UInt64](repeating: 0, count: 4)
                for i in 0 ..< 4 {
                    guard let (v, n) = varint(p, at, limit) else { return .malformed(.badQUICFrame) }
                    values[i] = v
                    at = n
                }
                guard values[2] <= UInt64(limit) else { return .malformed(.badQUICFrame) }
                let more = Int(values[2]) * 2 + (type == 0x03 ? 3 : 0)
                for _ in 0 ..< more {
                    guard let (_, n) = varint(p, at, limit) else { return .malformed(.badQUICFrame) }
                    at = n
                }
            case 0x06:
                guard let (offset, o) = varint(p, at, limit), let (length, d) = varint(p, o, limit),
                    length <= UInt64(limit - d), offset <= UInt64(Int32.max)
                else { return .malformed(.badQUICFrame) }
                guard found.count < maxFrames else { return .malformed(.badQUICFrame) }
                found.append(
                    CryptoFrame(offset: Int(offset), data: UnsafeRawBufferPointer(start: p + d, count: Int(length))))
                at = d + Int(length)
            case 0x1C:
                break scan
            default:
                return .malformed(.badQUICFrame)
            }
        }
        found.sort { $0.offset < $1.offset }
        found.withUnsafeBufferPointer { frames(version, dcid, $0) }
        return .opened(version: version, packets: 1)
    }
}
