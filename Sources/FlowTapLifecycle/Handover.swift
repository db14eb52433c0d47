import FlowTapBase
import FlowTapControl
import FlowTapSetup
import Glibc
import Logging

/// The running flowtap's side of a handover or a reload, on the main thread. What it keeps
/// unchanged whatever happens: the TAP queues stay open here until a successor holds them, so
/// the carrier never drops; a failure before the successor says "started" puts every thread
/// back to forwarding on the same tables.
///
/// - Handover (`run --takeover`): the descriptors go to the successor over the control
///   connection at once; on its "park", every thread parks (`Pipeline.park`) and the export
///   thread sends what it holds; on its "started", this process quits without reporting a flow.
/// - Reload (`flowtap reload`, systemd's ExecReload=): the descriptors are already in the fd
///   store; every thread parks, and the process exits with `reloadExitStatus`, which the unit's
///   RestartForceExitStatus= restarts at once with the store's descriptors.
public struct Handover {
    /// EX_TEMPFAIL: "restart me now", and nothing else in flowtap exits with it.
    public static let reloadExitStatus: CInt = 75

    package enum Outcome { case goOn, handedOver(pid: Int32), reloading }

    let config: ProbeConfiguration
    let pipeline: Pipeline
    let state: StateRegion
    let control: ControlPlane
    let descriptors: [(name: String, descriptor: CInt)]
    let underServiceManager: Bool
    let logger: Logger

    package init(
        config: ProbeConfiguration, pipeline: Pipeline, state: StateRegion, control: ControlPlane,
        descriptors: [(name: String, descriptor: CInt)], underServiceManager: Bool, logger: Logger
    ) {
        self.config = config
        self.pipeline = pipeline
        self.state = state
        self.control = control
        self.descriptors = descriptors
        self.underServiceManager = underServiceManager
        self.logger = logger
    }

    package func serve(_ request: ControlRequest, client: Descriptor) -> Outcome {
        let channel = HandoverChannel(socket: client)
        func refuse(_ why: String) -> Outcome {
            _ = channel.send(ControlJSON.encode(ControlError(error: why)))
            logger.warning("handover refused: \(why)")
            return .goOn
        }
        let (ask, reload): (HandoverAsk, Bool)
        switch request {
        case .handover(let a): (ask, reload) = (a, false)
        case .reload(let a): (ask, reload) = (a, true)
        default: return .goOn
        }
        if let why = Self.unchangeable(ask, config) { return refuse(why) }
        let keep =
            ask.layout == StateLayout.signature && ask.maxFlows == config.maxFlows
            && ask.records == config.records.names
        let emptied =
            keep
            ? ""
            : "; the successor cannot read these flow tables (another version, --max-flows or record set), so every flow is exported first (forced end)"
        if reload {
            guard underServiceManager else {
                return refuse(
                    "flowtap reload needs a service manager that keeps the descriptors (systemd's fd store, Type=notify); without one, start the new flowtap with 'flowtap run … --takeover'"
                )
            }
            logger.info(
                "reload asked by PID \(ask.pid): parking, the state stays in the service manager's fd store\(emptied)")
            guard pipeline.park(emptied: !keep) else {
                return refuse("a thread did not park within \(Pipeline.commandTimeoutMs / 1000) s; forwarding goes on")
            }
            state.markParked(true)
            _ = channel.send(ControlJSON.encode(ReloadAnswer(reloading: true, flowsKept: keep)))
            return .reloading
        }
        let offer = HandoverOffer(pid: getpid(), names: descriptors.map(\.name), flowsKept: keep)
        do {
            try client.send(Array((ControlJSON.encode(offer) + "\n").utf8), descriptors: descriptors.map(\.descriptor))
        } catch {
            logger.warning(
                "handover to PID \(ask.pid) failed: cannot pass the descriptors (\(error)); forwarding goes on")
            return .goOn
        }
        logger.info(
            "handover to PID \(ask.pid): \(descriptors.count) descriptors passed; forwarding until it is ready\(emptied)"
        )
        guard let asked = channel.receive(), asked == "park" else {
            logger.warning(
                "handover to PID \(ask.pid) failed before the park (it did not ask within \(HandoverChannel.timeoutMs / 1000) s, or went away); forwarding goes on"
            )
            return .goOn
        }
        let parkStart = MonotonicClock.nowNs()
        guard pipeline.park(emptied: !keep) else {
            _ = channel.send("error: a thread did not park")
            logger.warning(
                "handover to PID \(ask.pid) failed: a thread did not park within \(Pipeline.commandTimeoutMs / 1000) s; forwarding goes on"
            )
            return .goOn
        }
        state.markParked(true)
        let parkedMs = Double((MonotonicClock.nowNs() - parkStart) / 10_000) / 100
        guard channel.send("parked"), let said = channel.receive(), said == "started" else {
            state.markParked(false)
            pipeline.resume()
            logger.error(
                "handover to PID \(ask.pid) failed after the park (it did not start within \(HandoverChannel.timeoutMs / 1000) s, or went away): forwarding again, with the flows as they were"
            )
            return .goOn
        }
        logger.info("handover to PID \(ask.pid) done: parked in \(parkedMs) ms; its threads run")
        return .handedOver(pid: ask.pid)
    }

    /// Why a successor's options cannot take over, or nil: the TAPs and how they were opened
    /// belong to the open files passed on.
    static func unchangeable(_ ask: HandoverAsk, _ config: ProbeConfiguration) -> String? {
        if ask.tapA != config.tapA || ask.tapB != config.tapB {
            return
                "the TAPs cannot change in a handover (running: --tap-a \(config.tapA) --tap-b \(config.tapB); asked: --tap-a \(ask.tapA) --tap-b \(ask.tapB)); stop this flowtap and start the new one to change them"
        }
        if ask.offload != config.offload {
            return
                "--offload cannot change in a handover (the TAP queues were opened \(config.offload ? "with" : "without") virtio headers); stop this flowtap and start the new one to change it"
        }
        if ask.queues != config.queues {
            return
                "--queues cannot change in a handover (running: \(config.queues), asked: \(ask.queues)); stop this flowtap and start the new one to change it"
        }
        return nil
    }
}
