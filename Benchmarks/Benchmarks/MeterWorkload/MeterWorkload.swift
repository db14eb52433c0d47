import FlowTapDecode
import FlowTapMeter

/// Decode + flow-cache update per packet, memory-bound: a table of 1 Mi slots holding 400 000
/// live flows, packets visiting them in a scrambled order. The same workload as c/meter_bench.c;
/// MeterBenchmark times it, MeterProfile runs it under callgrind.
public enum Workload {
    public static let flows = 400_000
    public static let slots = 1 << 20
    public static let frameLength = 64

    /// One frame per flow, UDP, each flow its own source address and port, back to back, each on
    /// its own cache line as the forwarder's read buffer is (c/meter_bench.c does the same).
    /// Written once, when made, and only read after: safe to share; except TCP frames, whose
    /// sequence number `runTCP` advances after each visit so that every segment is in order.
    public struct Frames: @unchecked Sendable {
        public let base: UnsafeRawPointer
        /// Bytes of each frame, as read from the TAP.
        public let length: Int
    }

    /// IPv4 frames: the workload c/meter_bench.c has a twin for.
    public static let ipv4 = makeFrames(ipv6: false)
    /// IPv6 frames: the meter's out-of-line IPv6 path, with no C twin (flowtap's own figure).
    public static let ipv6 = makeFrames(ipv6: true)
    /// IPv4 TCP data segments, in order: what TCP insight costs a segment (no C twin).
    public static let tcp = makeFrames(ipv6: false, tcp: true)

    static func makeFrames(ipv6: Bool, tcp: Bool = false) -> Frames {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: flows * frameLength, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: flows * frameLength)
        for i in 0 ..< flows {
            let f = bytes + i * frameLength
            let header: [UInt8] = [
                0x02, 0x77, 0, 0, 0, 0x02, 0x02, 0x77, 0, 0, 0, 0x01, ipv6 ? 0x86 : 0x08, ipv6 ? 0xDD : 0x00
            ]
            header.withUnsafeBytes { f.copyMemory(from: $0.baseAddress!, byteCount: 14) }
            let ip = f + 14
            let flow = [
                UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i)
            ]
            let udp: UnsafeMutableRawPointer
            if ipv6 { // fd00::/8 addresses, payload: the UDP header alone
                ip.storeBytes(of: 0x60, as: UInt8.self)
                ip.storeBytes(of: 8, toByteOffset: 5, as: UInt8.self)
                ip.storeBytes(of: 17, toByteOffset: 6, as: UInt8.self)
                ip.storeBytes(of: 64, toByteOffset: 7, as: UInt8.self)
                ip.storeBytes(of: 0xFD, toByteOffset: 8, as: UInt8.self)
                for (o, b) in flow.enumerated() { ip.storeBytes(of: b, toByteOffset: 21 + o, as: UInt8.self) }
                ip.storeBytes(of: 0xFD, toByteOffset: 24, as: UInt8.self)
                ip.storeBytes(of: 2, toByteOffset: 39, as: UInt8.self)
                udp = ip + 40
                udp.storeBytes(of: 8, toByteOffset: 5, as: UInt8.self)
            } else {
                ip.storeBytes(of: 0x45, as: UInt8.self)
                ip.storeBytes(of: 46, toByteOffset: 3, as: UInt8.self) // total length 46: 20 + 8 + 18
                ip.storeBytes(of: 64, toByteOffset: 8, as: UInt8.self)
                ip.storeBytes(of: tcp ? 6 : 17, toByteOffset: 9, as: UInt8.self)
                for (o, b) in ([10] + flow + [10, 77, 0, 2]).enumerated() {
                    ip.storeBytes(of: b, toByteOffset: 12 + o, as: UInt8.self)
                }
                udp = ip + 20
                if tcp { // total length 46: 20 + 20 + 6 bytes of payload
                    udp.storeBytes(of: 5 << 4, toByteOffset: 12, as: UInt8.self)
                    udp.storeBytes(of: UInt8(TCPFlags.ack), toByteOffset: 13, as: UInt8.self)
                } else {
                    udp.storeBytes(of: 26, toByteOffset: 5, as: UInt8.self)
                }
            }
            udp.storeBytes(of: UInt16(40000 + i % 20000).bigEndian, as: UInt16.self)
            udp.storeBytes(of: 9, toByteOffset: 3, as: UInt8.self)
        }
        return Frames(base: UnsafeRawPointer(bytes), length: ipv6 ? 62 : 60)
    }

    /// The visiting order: a multiplicative walk over the flows, so that consecutive packets hit
    /// unrelated cache lines as a busy link's would.
    @inline(__always)
    public static func flow(at n: Int) -> Int { (n &* 196_613) % flows }

    /// The forwarder's meter for this workload: l3+l4 records, timeouts that never fire, and a
    /// random hash seed as the forwarder has (a constant one would fold out of the hash).
    /// With `inspect`, it names flows from their first bytes as `--app-fields on` does.
    public static func makeMeter(inspect: Bool = false) -> PacketMeter {
        PacketMeter(
            records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 3600, activeTimeoutSeconds: 3600),
            maxFlows: slots, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
            hashSeed: UInt64.random(in: .min ... .max), inspect: inspect)
    }

    /// Meters every flow once, so that the measured packets update live flows.
    public static func fill(_ meter: inout PacketMeter, _ frames: Frames = ipv4) {
        for i in 0 ..< flows {
            meter.meter(frames.base + i * frameLength, length: frames.length, now: 1)
            if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
        }
    }

    /// The measured loop: `count` packets from position `start` of the visiting order.
    @inline(__always)
    public static func run(_ meter: inout PacketMeter, _ frames: Frames = ipv4, from start: Int, count: Int) {
        let base = frames.base
        let length = frames.length
        var n = start
        for _ in 0 ..< count {
            meter.meter(base + flow(at: n) * frameLength, length: length, now: 2)
            if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
            n &+= 1
        }
    }

    /// `run` over `tcp` frames: after each segment, its flow's next one follows it in sequence
    /// (the frame's sequence number advances by its 6 bytes: a few instructions of harness).
    @inline(__always)
    public static func runTCP(_ meter: inout PacketMeter, from start: Int, count: Int) {
        let base = tcp.base
        let length = tcp.length
        var n = start
        for _ in 0 ..< count {
            let frame = base + flow(at: n) * frameLength
            meter.meter(frame, length: length, now: 2)
            if meter.cache.pendingCount != 0 { _ = meter.cache.drainPending { _ in true } }
            let sequence = UnsafeMutableRawPointer(mutating: frame) + 14 + 20 + 4
            sequence.storeBytes(
                of: (UInt32(bigEndian: sequence.loadUnaligned(as: UInt32.self)) &+ 6).bigEndian, as: UInt32.self)
            n &+= 1
        }
    }
}
