import FlowTapBase
import FlowTapDecode
import FlowTapMeter
import Glibc
import Logging

/// Everything a forwarding thread starts from; the thread builds its `Forwarder` (and the
/// flow cache it owns) from this. Unchecked: `storage` and `countersSlot` point into the
/// probe's `StateRegion`, which outlives the threads, and this forwarder is their only writer.
public struct ForwarderSetup: @unchecked Sendable {
    public var name: String
    public var input: CInt
    public var output: CInt
    public var point: ObservationPoint
    public var records: RecordSet
    public var policy: ExpiryPolicy
    public var maxFlows: Int
    public var sampling: Sampling
    /// Bytes of virtio_net_hdr in front of every frame: 12 with `--offload`, else 0.
    public var vnetHeader: Int
    public var ownExport: OwnExportFilter
    /// The flow-hash seed, random per process (`FlowKey.hash(seed:)`).
    public var hashSeed: UInt64
    public var ring: RecordRing
    /// Where labelled flows' records send their fields ahead (`RecordDetail`); nil with
    /// `--app-fields off`, which names no flow.
    public var details: DetailRing? = nil
    /// Reset notices: this direction's, read by the other direction of the same queue (the TAP
    /// steers a flow's two directions to the same queue index), and the other direction's.
    public var resetsOut: SPSCRing<FlowKey>?
    public var resetsIn: SPSCRing<FlowKey>?
    public var report: ForwarderReport
    /// Run, park (a handover), stop (report every flow, end) or quit (a successor has the flows).
    public var command: ThreadCommand
    /// Where the flow table lives (`FlowCache.storageBytes`), nil: allocated by the forwarder;
    /// with `adopting`, it holds the flows of the process this one took over from.
    public var storage: UnsafeMutableRawPointer? = nil
    public var adopting = false
    /// The counters as the previous process left them, added to this one's; and where each
    /// publication is kept for the next (shared memory that outlives the process).
    public var countersBase = ForwarderCounters()
    public var countersSlot: UnsafeMutablePointer<ForwarderCounters>? = nil
    /// What the control socket asks: expire every flow now, new timeouts.
    public var requests: MeterRequests
    /// Rung when the TAP fails for good, so the whole probe shuts down.
    public var failed: Doorbell
    public var logger: Logger

    public init(
        name: String, input: CInt, output: CInt, point: ObservationPoint, records: RecordSet, policy: ExpiryPolicy,
        maxFlows: Int, sampling: Sampling, vnetHeader: Int, ownExport: OwnExportFilter, hashSeed: UInt64,
        ring: RecordRing,
        resetsOut: SPSCRing<FlowKey>? = nil, resetsIn: SPSCRing<FlowKey>? = nil, report: ForwarderReport,
        command: ThreadCommand,
        storage: UnsafeMutableRawPointer? = nil, adopting: Bool = false,
        countersBase: ForwarderCounters = ForwarderCounters(),
        countersSlot: UnsafeMutablePointer<ForwarderCounters>? = nil, requests: MeterRequests, failed: Doorbell,
        logger: Logger
    ) {
        self.name = name
        self.input = input
        self.output = output
        self.point = point
        self.records = records
        self.policy = policy
        self.maxFlows = maxFlows
        self.sampling = sampling
        self.vnetHeader = vnetHeader
        self.ownExport = ownExport
        self.hashSeed = hashSeed
        self.ring = ring
        self.resetsOut = resetsOut
        self.resetsIn = resetsIn
        self.report = report
        self.command = command
        self.storage = storage
        self.adopting = adopting
        self.countersBase = countersBase
        self.countersSlot = countersSlot
        self.requests = requests
        self.failed = failed
        self.logger = logger
    }
}

/// One direction of the wire: read a frame from one TAP, write the same bytes to the other,
/// decode, meter. It owns its flow cache outright (no lock per frame), expires flows itself
/// between frames, and hands finished records to the export thread through its ring.
public struct Forwarder: ~Copyable {
    /// Frames up to 64 KiB: larger than any MTU a TAP carries without offloads.
    public static let bufferSize = 65536 + 4096
    /// Housekeeping (expiry slice, counter publication, stop check) is due this often.
    static let housekeepingNs: UInt64 = 10_000_000
    /// Poll timeout when the TAP is quiet, so expiry still runs.
    static let idlePollMs: CInt = 50
    /// How long the TAP must stay quiet before due housekeeping runs between frames.
    static let quietMs: CInt = 1

    let setup: ForwarderSetup
    var metering: DirectionMeter
    /// What only the I/O side counts: reads and writes (the meter counts the rest).
    var io = ForwarderCounters()
    let buffer: UnsafeMutableRawPointer
    var writeErrorLog = RateLimiter()
    /// The `flowtap expire` requests carried out, the last flow query answered, the one under way.
    var expiriesDone: UInt64 = 0
    var queryDone: UInt64 = 0
    var scan: (generation: UInt64, scan: FlowQueryScan)?

    public init(_ setup: ForwarderSetup) {
        self.setup = setup
        var meter = PacketMeter(
            records: setup.records, policy: setup.policy, maxFlows: setup.maxFlows, point: setup.point,
            sampling: setup.sampling, vnetHeader: setup.vnetHeader, ownExport: setup.ownExport,
            seed: UInt64.random(in: .min ... .max), hashSeed: setup.hashSeed,
            storage: setup.storage, adopting: setup.adopting, inspect: setup.details != nil)
        meter.cache.wallOffsetNs = MonotonicClock.wallOffsetNs()
        meter.cache.resetNotices = setup.resetsOut
        meter.cache.details = setup.details
        metering = DirectionMeter(meter, now: MonotonicClock.nowNs())
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Forwards until `stop` rings or the TAP fails, then reports every flow left
    /// ("forced end") into the ring, waiting for the export thread to make room, and finishes the ring.
    ///
    /// Due housekeeping waits for a quiet millisecond rather than following the frame that made
    /// it due: a lone frame is usually answered within that time (an echo reply, an ACK), and a
    /// scan run right after the frame held the CPU the answer needed (ping RTT 1.1 to 1.2 × the
    /// C reference's). Under load the TAP is never quiet, so a frame runs housekeeping once it
    /// is a whole period late.
    public mutating func run() {
        var nextHousekeeping: UInt64 = 0
        var quiet = false
        let input = setup.input
        let command = setup.command
        while true {
            let n = SystemCall.read(input, buffer, Self.bufferSize)
            if n > 0 {
                let now = MonotonicClock.nowNs()
                forward(length: n, now: now)
                quiet = false
                if now >= nextHousekeeping &+ Self.housekeepingNs {
                    housekeeping(now: now)
                    nextHousekeeping = now + Self.housekeepingNs
                    if !command.isRun && !obey() { break }
                }
                continue
            }
            if n == 0 || n == -Int(EAGAIN) {
                if !command.isRun {
                    if obey() { continue }
                    break
                }
                if MonotonicClock.nowNs() >= nextHousekeeping {
                    if !quiet && SystemCall.pollReadable(input, command.descriptor, timeoutMs: Self.quietMs) > 0 {
                        continue
                    }
                    let now = MonotonicClock.nowNs()
                    housekeeping(now: now)
                    nextHousekeeping = now + Self.housekeepingNs
                }
                // While a flows query is under way, wake every housekeeping period to scan on.
                let idle = scan == nil ? Self.idlePollMs : CInt(Self.housekeepingNs / 1_000_000)
                quiet = SystemCall.pollReadable(input, command.descriptor, timeoutMs: idle) == 0
                continue
            }
            io.readErrors &+= 1
            setup.logger.error("reading \(setup.name) failed: \(SetupError.text(CInt(-n))); stopping")
            setup.failed.ring()
            break
        }
        if command.current == .quit {
            publish()
            setup.ring.finish()
        } else {
            finish()
        }
    }

    /// A command other than run, between frames: false when the forwarder is to end. A park
    /// settles everything in this thread's hands into the table (held fragments counted, the
    /// partner's reset notices applied; with `parkEmptied`, every flow reported), publishes, and
    /// waits without reading the TAP: frames queue there for whoever reads next. Told to run
    /// again, it checks the table first (a successor that failed may have written to it).
    mutating func obey() -> Bool {
        let command = setup.command
        let c = command.current
        guard c == .park || c == .parkEmptied else { return c == .run }
        if let resets = setup.resetsIn { metering.closeForPeerResets(from: resets, into: setup.ring) }
        metering.expireFragments(now: .max, into: setup.ring)
        // An expiry asked for before the park is carried out now: a successor knows nothing of
        // it, and the operator was told it would happen.
        while !expireAsked() { usleep(1000) }
        if c == .parkEmptied {
            while !metering.expireAll(into: setup.ring) { usleep(1000) }
        }
        publish()
        command.acknowledge(c)
        let next = command.waitWhileParked()
        guard next == .run else { return false }
        command.clearWake()
        let cleared = metering.meter.cache.recover()
        if cleared > 0 {
            setup.logger.warning(
                "\(setup.name): \(cleared) flow slots failed their check after the handover failed, and were cleared")
        }
        command.acknowledge(.run)
        return true
    }

    /// Writes the frame in the buffer to the other TAP, then meters it at `now` (monotonic
    /// nanoseconds) and hands on the records that produced.
    @inline(__always)
    mutating func forward(length n: Int, now: UInt64) {
        let written = SystemCall.write(setup.output, buffer, n)
        if written != n { writeFailed(written, now: now) }
        io.frames &+= 1
        io.bytes &+= UInt64(n)
        metering.frame(buffer, length: n, now: now, into: setup.ring)
    }

    @inline(never)
    mutating func writeFailed(_ result: Int, now: UInt64) {
        io.writeErrors &+= 1
        if let silenced = writeErrorLog.admit(now: now / 1_000_000) {
            let why = result < 0 ? SetupError.text(CInt(-result)) : "short write of \(result) bytes"
            setup.logger.warning(
                "writing a frame from \(setup.name) failed: \(why)\(silenced > 0 ? " (\(silenced) more not shown)" : "")"
            )
        }
    }

    @inline(never)
    mutating func housekeeping(now: UInt64) {
        if let resets = setup.resetsIn { metering.closeForPeerResets(from: resets, into: setup.ring) }
        metering.housekeeping(now: now, wallOffsetNs: MonotonicClock.wallOffsetNs(), into: setup.ring)
        obeyRequests()
        publish()
    }

    /// `flowtap set` and `flowtap expire`, between frames. An expiry the ring cannot take
    /// whole goes on at the next housekeeping.
    mutating func obeyRequests() {
        let requests = setup.requests
        let policy = requests.policy(from: setup.policy)
        if policy != metering.meter.cache.policy { metering.meter.cache.policy = policy }
        _ = expireAsked()
        answerQuery()
    }

    /// Carries out the `flowtap expire` requests since the last: false when the ring could not
    /// take every record (the rest at the next call).
    mutating func expireAsked() -> Bool {
        let requests = setup.requests
        let expiries = requests.expiryRequests
        guard expiries != expiriesDone else { return true }
        let done =
            if let matches = requests.expiryMatches(after: expiriesDone, through: expiries) {
                metering.expire(where: matches, into: setup.ring)
            } else {
                metering.expireAll(into: setup.ring)
            }
        if done { expiriesDone = expiries }
        return done
    }

    /// `flowtap show flows`: one slice of the table per housekeeping, the answer published once
    /// the whole table is covered, so a query never holds forwarding up for a full scan.
    mutating func answerQuery() {
        let asked = setup.requests.queryRequests
        guard asked != queryDone else { return }
        if scan?.generation != asked {
            guard let query = setup.requests.currentQuery else { return }
            scan = (asked, FlowQueryScan(query))
        }
        // Taken out while it is worked on, so that the heap is not copied at every step.
        guard var current = scan.take() else { return }
        if metering.meter.cache.step(&current.scan, nowNs: MonotonicClock.nowNs()) {
            setup.report.publishAnswer(asked, current.scan.result)
            queryDone = asked
        } else {
            scan = current
        }
    }

    mutating func publish() {
        var c = metering.snapshot
        c.frames = io.frames
        c.bytes = io.bytes
        c.writeErrors = io.writeErrors
        c.readErrors = io.readErrors
        c = c.carrying(setup.countersBase)
        setup.countersSlot?.pointee = c
        setup.report.publish(c, atMs: MonotonicClock.nowMs())
    }

    /// Every flow left goes into the ring, waiting for the export thread to make room; then the ring
    /// is finished.
    mutating func finish() {
        while !metering.finish(wallOffsetNs: MonotonicClock.wallOffsetNs(), into: setup.ring) {
            usleep(1000) // the export thread is still draining; forwarding has stopped
        }
        publish()
        setup.ring.finish()
    }
}
