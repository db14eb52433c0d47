import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapDevice
@testable import FlowTapSend
@testable import FlowTapSetup

final class ConfigurationTests: XCTestCase {
    func config() -> ProbeConfiguration {
        ProbeConfiguration(tapA: "tapa", tapB: "tapb", collectors: [CollectorAddress(host: IPAddress("10.0.0.2")!)])
    }

    func rejection(_ change: (inout ProbeConfiguration) -> Void) -> SetupError? {
        var c = config()
        change(&c)
        do {
            try c.validate()
            return nil
        } catch {
            return error
        }
    }

    func testDefaultsAreValid() throws {
        try config().validate()
        var c = config()
        c.idleTimeout = 2
        c.activeTimeout = 2
        try c.validate()
        c.idleTimeout = 120 // idle longer than active is allowed, as in softflowd
        try c.validate()
    }

    func testOutputFilesAloneOrBesideCollectorsAndTheirRotation() {
        XCTAssertNil(
            rejection {
                $0.collectors = []; $0.output = "/var/lib/flowtap/a.ipfix"
            }, "a file alone is enough")
        XCTAssertEqual(rejection { $0.collectors = [] }?.problem, "no collector given")
        XCTAssertEqual(rejection { $0.outputRotate = 60 }?.problem, "--output-rotate without --output")
        XCTAssertNotNil(
            rejection {
                $0.output = "x"; $0.outputRotate = -1
            })
        XCTAssertNil(
            rejection {
                $0.output = "x"; $0.outputRotate = 3600
            })
    }

    func testOutputFilesAreNamedByTheirStartInUTC() {
        XCTAssertEqual(OutputFiles.utcStamp(seconds: 0), "19700101000000")
        XCTAssertEqual(OutputFiles.utcStamp(seconds: 1_796_337_577), "20261203223937")
        XCTAssertEqual(OutputFiles.utcStamp(seconds: 951_782_400), "20000229000000", "a leap day")
        XCTAssertEqual(OutputFiles.utcStamp(seconds: 4_107_542_399), "21000228235959", "2100 is no leap year")
        let rotating = OutputFiles(path: "/d/f.ipfix", rotateSeconds: 2)
        XCTAssertEqual(rotating.name(startingAtMs: 1_796_337_577_123), "/d/f.ipfix.20261203223937")
        let single = OutputFiles(path: "/d/f.ipfix", rotateSeconds: 0)
        XCTAssertEqual(single.name(startingAtMs: 1_796_337_577_123), "/d/f.ipfix")
        single.stamped = true
        single.notBeforeSecond = 1_796_337_578
        XCTAssertEqual(
            single.name(startingAtMs: 1_796_337_577_123), "/d/f.ipfix.20261203223938",
            "a successor's file is named after the second of the park")
        XCTAssertEqual(
            rotating.name(startingAtMs: 1_796_337_577_900), "/d/f.ipfix.20261203223938",
            "a rotation within the same second takes the next one")
    }

    func testZeroOrNegativeTimeoutsAreRejected() {
        XCTAssertEqual(rejection { $0.idleTimeout = 0 }?.problem, "--idle-timeout is 0 seconds")
        XCTAssertEqual(rejection { $0.activeTimeout = -5 }?.problem, "--active-timeout is -5 seconds")
        XCTAssertNotNil(rejection { $0.templateRefresh = 0 })
        XCTAssertNotNil(rejection { $0.activeTimeout = 10_000_000 })
    }

    func testTAPNames() {
        XCTAssertNotNil(rejection { $0.tapB = "tapa" })
        XCTAssertNotNil(rejection { $0.tapA = "a-name-that-is-too-long" })
        XCTAssertNotNil(rejection { $0.tapA = "" })
        XCTAssertNotNil(rejection { $0.tapA = "a/b" })
    }

    func testMTUMustCarryOneRecordAndTheTemplates() {
        let minimum = config().minimumMTU
        XCTAssertNil(rejection { $0.mtu = minimum })
        let error = rejection { $0.mtu = minimum - 1 }
        XCTAssertNotNil(error)
        XCTAssertTrue(error?.fix.contains("--mtu \(minimum)") ?? false, error?.description ?? "")
        XCTAssertNotNil(rejection { $0.mtu = 70000 })
        var l2 = config()
        l2.records = [.l2, .l3, .l4]
        XCTAssertGreaterThan(l2.minimumMTU, minimum)
    }

    func testMaxFlowsRange() {
        XCTAssertNotNil(rejection { $0.maxFlows = 0 })
        XCTAssertNil(rejection { $0.maxFlows = 8 })
    }

    func testCollectorParsing() throws {
        XCTAssertEqual(
            try CollectorAddress(parsing: "10.77.9.2:4739"),
            CollectorAddress(format: .ipfix, host: IPAddress("10.77.9.2")!, port: 4739))
        XCTAssertEqual(try CollectorAddress(parsing: "10.77.9.2").port, 4739)
        XCTAssertEqual(try CollectorAddress(parsing: "ipfix://10.0.0.1:9995").port, 9995)
        XCTAssertEqual(try CollectorAddress(parsing: "localhost:2000").host, IPAddress("127.0.0.1"))
        let v9 = try CollectorAddress(parsing: "v9://10.0.0.1")
        XCTAssertEqual(v9.format, .v9)
        XCTAssertEqual(v9.port, 2055)
        XCTAssertEqual(try CollectorAddress(parsing: "10.0.0.1", defaultFormat: .v5).port, 2055)
        XCTAssertEqual(try CollectorAddress(parsing: "v5://10.0.0.1:9996", defaultFormat: .ipfix).format, .v5)
        let v6 = try CollectorAddress(parsing: "ipfix://[fd99:9::2]:4739")
        XCTAssertEqual(v6.host, IPAddress("fd99:9::2"))
        XCTAssertEqual(v6.port, 4739)
        XCTAssertEqual(try CollectorAddress(parsing: "[fd99:9::2]").port, 4739)
        XCTAssertEqual(v6.description, "ipfix://[fd99:9::2]:4739")
        for bad in [
            "10.0.0.1:0", "10.0.0.1:70000", "10.0.0.1:x", ":4739", "no.such.host.invalid:4739", "10.0.0.300:1",
            "fd00::2:4739", "[fd00::2", "[fd00::2]x", "sflow://10.0.0.1:6343"
        ] {
            XCTAssertThrowsError(try CollectorAddress(parsing: bad), bad)
        }
    }

    func testCollectorsAndSources() {
        XCTAssertNotNil(rejection { $0.collectors = [] })
        XCTAssertNotNil(rejection { $0.collectors += $0.collectors })
        XCTAssertNotNil(rejection { $0.sources = [IPAddress("10.0.0.1")!, IPAddress("10.0.0.3")!] })
        XCTAssertNil(rejection { $0.sources = [IPAddress("10.0.0.1")!, IPAddress("fd00::1")!] })
        XCTAssertNotNil(rejection { $0.observationDomain = 0 }, "domain 0 carries the IPFIX options records")
        XCTAssertNil(
            rejection {
                $0.observationDomain = 0; $0.collectors = [CollectorAddress(format: .v9, host: IPAddress("10.0.0.2")!)]
            })
        XCTAssertNotNil(rejection { $0.templateRefreshPackets = -1 })
        var v6 = config()
        v6.collectors = [CollectorAddress(host: IPAddress("fd00::2")!)]
        XCTAssertEqual(v6.minimumMTU, config().minimumMTU + 20, "an IPv6 header is 20 bytes longer")
    }

    func testErrorsAreOneLine() {
        let errors: [SetupError] = [
            rejection { $0.idleTimeout = 0 }!, rejection { $0.mtu = 10 }!,
            TapDevice.attachError(name: "tapx", errnoValue: EPERM, existed: false),
            TapDevice.attachError(name: "lo", errnoValue: EINVAL, existed: true),
            TapDevice.attachError(name: "tapa", errnoValue: EBUSY, existed: true)
        ]
        for e in errors {
            XCTAssertFalse(e.description.contains("\n"))
            XCTAssertFalse(e.fix.isEmpty)
        }
        XCTAssertTrue(errors[2].description.contains("CAP_NET_ADMIN"))
    }
}
