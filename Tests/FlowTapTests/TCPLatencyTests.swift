import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapEncode
@testable import FlowTapExport
@testable import FlowTapMeter

/// Per-connection TCP latency: the handshake times each direction's entry keeps, the join of
/// the two directions, and the fields that carry it.
final class TCPLatencyTests: XCTestCase {
    let policy = ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60)
    func ms(_ v: UInt64) -> UInt64 { v * 1_000_000 }
    func key(_ port: UInt16) -> FlowKey { FrameBuilder.tcpv4(sport: port).decode().key }
    let data = TCPFlags.ack | TCPFlags.psh | TCPFlags.payload

    func records(_ c: inout FlowCache) -> [FlowRecord] {
        var out: [FlowRecord] = []
        XCTAssertTrue(
            c.expireAll(reason: .forcedEnd) {
                out.append(copy $0); return true
            })
        return out
    }

    /// A SYN lost once: its retransmission is the one that counts. Then the handshake ACK, the
    /// request (its payload, not the pure ACK, is the first data), and the server's answer.
    func testEachDirectionKeepsItsHandshakeTimesAndTheJoinMakesTheLatency() {
        var client = FlowCache(
            maxFlows: 64, policy: policy, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0)
        )
        var server = FlowCache(
            maxFlows: 64, policy: policy, point: ObservationPoint(ingressInterface: 2, egressInterface: 1, direction: 1)
        )
        let k = key(40000)
        client.meter(key: k, octets: 60, tcpFlags: TCPFlags.syn, now: ms(10))
        client.meter(key: k, octets: 60, tcpFlags: TCPFlags.syn, now: ms(1_010))
        server.meter(key: k.reverseKey, octets: 60, tcpFlags: TCPFlags.syn | TCPFlags.ack, now: ms(1_017))
        client.meter(key: k, octets: 52, tcpFlags: TCPFlags.ack, now: ms(1_030))
        client.meter(key: k, octets: 152, tcpFlags: data, now: ms(1_031))
        server.meter(key: k.reverseKey, octets: 52, tcpFlags: TCPFlags.ack, now: ms(1_032))
        server.meter(key: k.reverseKey, octets: 552, tcpFlags: data, now: ms(1_060))
        client.meter(key: k, octets: 152, tcpFlags: data, now: ms(1_070))
        let c = records(&client), s = records(&server)
        XCTAssertEqual(
            c.first?.handshake, TCPHandshake(role: .client, synUs: 1_010_000, ackUs: 1_030_000, dataUs: 1_031_000))
        XCTAssertEqual(s.first?.handshake, TCPHandshake(role: .server, synUs: 1_017_000, ackUs: nil, dataUs: 1_060_000))
        XCTAssertEqual(
            c.first?.tcpFlags, TCPFlags.syn | TCPFlags.ack | TCPFlags.psh, "the payload bit stays out of records")
        let latency = TCPLatency(c[0].handshake, s[0].handshake)
        XCTAssertEqual(latency, TCPLatency(clientNs: ms(13), serverNs: ms(7), applicationNs: ms(29)))
        XCTAssertEqual(TCPLatency(s[0].handshake, c[0].handshake), latency, "either order")
    }

    func testAFlowSeenFromMidConnectionHasNoHandshake() {
        var c = FlowCache(
            maxFlows: 64, policy: policy, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0)
        )
        c.meter(key: key(1), octets: 152, tcpFlags: data, now: ms(10))
        c.meter(key: key(1), octets: 52, tcpFlags: TCPFlags.fin | TCPFlags.ack, now: ms(20))
        c.meter(key: key(2), octets: 60, tcpFlags: 0, now: ms(20))
        XCTAssertEqual(records(&c).map(\.handshake.role), [.none, .none])
    }

    /// Microsecond stamps wrap every 71 minutes; differences stay right across the wrap, and a
    /// negative one (an ACK stamped before its SYN/ACK) is no latency.
    func testLatencyAcrossTheWrapOfTheStampsAndNeverNegative() {
        let client = TCPHandshake(role: .client, synUs: UInt32.max - 1_000, ackUs: 5_000, dataUs: nil)
        let server = TCPHandshake(role: .server, synUs: UInt32.max - 500, ackUs: nil, dataUs: nil)
        XCTAssertEqual(TCPLatency(client, server), TCPLatency(clientNs: 5_501_000, serverNs: 500_000, applicationNs: 0))
        let early = TCPHandshake(role: .client, synUs: 1_000, ackUs: 900, dataUs: nil)
        XCTAssertEqual(
            TCPLatency(early, TCPHandshake(role: .server, synUs: 1_200, ackUs: nil, dataUs: nil)).clientNs, 0)
        XCTAssertTrue(TCPLatency(client, client).isEmpty, "two clients are no connection")
    }

    func record(_ key: FlowKey, _ handshake: TCPHandshake) -> FlowRecord {
        var r = FlowRecord(
            key: key, packets: 1, octets: 60, firstNs: 0, lastNs: 0, ingressInterface: 1, egressInterface: 2,
            tcpFlags: 0, endReason: .endOfFlowDetected, direction: 0)
        r.handshake = handshake
        return r
    }

    func testTheJoinHoldsOnlyHandshakeRecordsAndPairsThem() {
        let join = LatencyJoin(holdSeconds: 3, capacity: 4)
        var out: [FlowRecord] = []
        let k = key(40000)
        join.add(record(key(9), TCPHandshake()), now: 0) { out.append($0) }
        XCTAssertEqual(out.count, 1, "no handshake: passes at once")
        join.add(record(k, TCPHandshake(role: .client, synUs: 100, ackUs: 2_100, dataUs: 2_200)), now: 0) {
            out.append($0)
        }
        XCTAssertEqual(out.count, 1, "waits for its reverse")
        join.add(record(k.reverseKey, TCPHandshake(role: .server, synUs: 1_100, ackUs: nil, dataUs: 5_200)), now: 1) {
            out.append($0)
        }
        XCTAssertEqual(out.count, 3)
        let expected = TCPLatency(clientNs: 1_000_000, serverNs: 1_000_000, applicationNs: 3_000_000)
        XCTAssertEqual(out[1].latency, expected)
        XCTAssertEqual(out[2].latency, expected)
        // Alone: out after the hold time, without latency.
        join.add(record(key(7), TCPHandshake(role: .client, synUs: 1, ackUs: nil, dataUs: nil)), now: ms(100)) {
            out.append($0)
        }
        join.expire(now: ms(100) + 2_999_999_999) { out.append($0) }
        XCTAssertEqual(out.count, 3)
        join.expire(now: ms(100) + 3_000_000_000) { out.append($0) }
        XCTAssertEqual(out.count, 4)
        XCTAssertTrue(out[3].latency.isEmpty)
        XCTAssertEqual(join.count, 0)
        XCTAssertEqual(join.joined, 1)
        XCTAssertEqual(join.unjoined, 1)
    }

    /// A connection whose client marks its packets (a DSCP) and whose server does not is one
    /// connection: the join pairs its records all the same, each keeping its own ToS.
    func testTheJoinPairsDirectionsWithDifferentToS() {
        let join = LatencyJoin(holdSeconds: 3, capacity: 4)
        var out: [FlowRecord] = []
        var marked = key(40000)
        marked.w6 |= 0x10 << 40
        join.add(record(marked, TCPHandshake(role: .client, synUs: 100, ackUs: 2_100, dataUs: nil)), now: 0) {
            out.append($0)
        }
        join.add(
            record(key(40000).reverseKey, TCPHandshake(role: .server, synUs: 1_100, ackUs: nil, dataUs: nil)), now: 1
        ) { out.append($0) }
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out.map(\.latency.serverNs), [1_000_000, 1_000_000])
        XCTAssertEqual(out.map(\.key.tos), [0x10, 0])
        XCTAssertEqual(join.joined, 1)
    }

    func testTheJoinIsBoundedAndFlushesAtShutdown() {
        let join = LatencyJoin(holdSeconds: 3, capacity: 2)
        var out: [FlowRecord] = []
        for port: UInt16 in 1 ... 3 {
            join.add(record(key(port), TCPHandshake(role: .client, synUs: 1, ackUs: nil, dataUs: nil)), now: 0) {
                out.append($0)
            }
        }
        XCTAssertEqual(out.count, 1, "the third finds the table full and goes out at once")
        XCTAssertEqual(join.overflowed, 1)
        join.flush { out.append($0) }
        XCTAssertEqual(out.map(\.key.sourcePort).sorted(), [1, 2, 3])
        XCTAssertEqual(join.count, 0)
    }

    /// nProbe's v9 fields: whole seconds and the microseconds beyond; ntop's IPFIX elements:
    /// rounded milliseconds under PEN 35632, the network delays halved (ntop's RTT/2).
    func testTheFieldsCarryTheLatency() {
        var r = record(key(1), TCPHandshake())
        r.latency = TCPLatency(clientNs: 2_345_678_900, serverNs: 7_499_999, applicationNs: 2_500_000)
        func value(_ field: FlowField) -> UInt32 {
            var bytes = [UInt8](repeating: 0, count: field.length)
            bytes.withUnsafeMutableBytes {
                field.write(r, to: $0.baseAddress!, context: EncodingContext(systemInitMs: 0))
            }
            return bytes.reduce(0) { $0 << 8 | UInt32($1) }
        }
        XCTAssertEqual(value(.clientNetworkDelaySeconds), 2)
        XCTAssertEqual(value(.clientNetworkDelayMicroseconds), 345_678)
        XCTAssertEqual(value(.serverNetworkDelaySeconds), 0)
        XCTAssertEqual(value(.serverNetworkDelayMicroseconds), 7_499)
        XCTAssertEqual(value(.applicationLatencySeconds), 0)
        XCTAssertEqual(value(.applicationLatencyMicroseconds), 2_500)
        XCTAssertEqual(value(.ntopApplicationLatencyMs), 3, "not halved")
        XCTAssertEqual(value(.ntopClientLatencyMs), 1_173)
        XCTAssertEqual(value(.ntopServerLatencyMs), 4, "7.499999 ms / 2, rounded")
        XCTAssertEqual(FlowField.ntopServerLatencyMs.enterprise, 35632)
        XCTAssertEqual(FlowField.ntopServerLatencyMs.elementID, 124)
        XCTAssertNil(FlowField.serverNetworkDelaySeconds.enterprise)
        XCTAssertEqual(FlowField.serverNetworkDelaySeconds.elementID, 57556)
        let v9 = RecordLayout.layouts(for: [.l3, .l4], dialect: .netflowV9, tcpInsight: true)[0]!.fields.map(
            \.elementID)
        XCTAssertEqual(Array(v9.suffix(10)), [57554, 57555, 57556, 57557, 57558, 57559, 57581, 57582, 57583, 57584])
        let ipfix = RecordLayout.layouts(for: [.l3, .l4], tcpInsight: true)[0]!.fields.suffix(7)
        XCTAssertEqual(ipfix.map(\.elementID), [123, 124, 125, 109, 110, 111, 112])
        XCTAssertTrue(ipfix.allSatisfy { $0.enterprise == 35632 })
        XCTAssertNil(RecordLayout.layouts(for: [.l3, .l4], tcpInsight: true)[2], "no non-IP layout without l2")
        XCTAssertFalse(
            RecordLayout.layouts(for: [.l2, .l3, .l4], tcpInsight: true)[2]!.fields.contains(.ntopClientLatencyMs))
    }
}
