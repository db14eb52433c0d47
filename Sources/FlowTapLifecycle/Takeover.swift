import FlowTapBase
import FlowTapControl
import FlowTapDecode
import FlowTapSetup
import Glibc
import Logging

/// The successor's side of a handover (`flowtap run … --takeover`): it asks the flowtap that
/// serves the control socket for its descriptors and gets them at once, while that one goes on
/// forwarding; builds everything it can from them; only then asks it to park, and says when
/// its own threads run. Until "started", the running flowtap can go back to forwarding.
package final class Takeover {
    let channel: HandoverChannel
    package let offer: HandoverOffer
    package let descriptors: InheritedDescriptors

    /// Asks for the handover: the descriptors, or a setup error that says why not (the running
    /// flowtap then goes on untouched).
    package static func begin(_ config: ProbeConfiguration, logger: Logger) throws(SetupError) -> Takeover {
        guard let path = config.controlPath else {
            throw SetupError(
                "--takeover needs the running flowtap's control socket, and --control is none",
                fix: "give the running flowtap's --control PATH (or leave it out for the default)")
        }
        let socket: Descriptor
        do { socket = try ControlSocket.connect(path) } catch {
            throw SetupError(
                "--takeover: no flowtap answers on \(path) (\(error))",
                fix: "start the probe without --takeover, or give the running flowtap's --control PATH")
        }
        let ask = HandoverAsk(
            pid: getpid(), tapA: config.tapA, tapB: config.tapB, offload: config.offload, queues: config.queues,
            maxFlows: config.maxFlows, records: config.records.names, layout: StateLayout.signature)
        let channel = HandoverChannel(socket: socket)
        guard channel.send(ControlRequest.handover(ask).line) else {
            throw SetupError(
                "--takeover: cannot write to \(path)",
                fix: "check that the running flowtap is healthy ('flowtap show stats')")
        }
        guard SystemCall.pollReadable(socket.descriptor, -1, timeoutMs: HandoverChannel.timeoutMs) > 0,
            let (bytes, fds) = try? socket.receive(capacity: 65536), !bytes.isEmpty
        else {
            throw SetupError(
                "--takeover: the flowtap on \(path) did not answer within \(HandoverChannel.timeoutMs / 1000) s",
                fix: "check that it is healthy ('flowtap show stats'); it goes on forwarding")
        }
        switch ControlJSON.decode(HandoverOffer.self, from: bytes) {
        case .success(let offer)? where offer.names.count == fds.count:
            logger.info(
                "taking over from flowtap PID \(offer.pid): \(fds.count) descriptors received\(offer.flowsKept ? "" : "; its flows are exported at the park (this version, --max-flows or the record set cannot read its tables)")"
            )
            return Takeover(
                channel: channel, offer: offer,
                descriptors: InheritedDescriptors(Array(zip(offer.names, fds)), origin: "flowtap PID \(offer.pid)"))
        case .failure(let error)?:
            fds.forEach(SystemCall.close)
            throw SetupError(
                "the running flowtap refused the handover: \(error.error)", fix: "it goes on forwarding, as before")
        default:
            fds.forEach(SystemCall.close)
            throw SetupError(
                "--takeover: the answer on \(path) is not a handover offer",
                fix: "check that the process on the socket is a flowtap of a version with handovers")
        }
    }

    private init(channel: HandoverChannel, offer: HandoverOffer, descriptors: InheritedDescriptors) {
        self.channel = channel
        self.offer = offer
        self.descriptors = descriptors
    }

    /// Asks the running flowtap to park; returns once it has (or throws, and it goes on).
    package func park() throws(SetupError) {
        guard channel.send("park") else {
            throw SetupError(
                "--takeover: flowtap PID \(offer.pid) went away before the park", fix: "start without --takeover")
        }
        let answer = channel.receive()
        guard answer == "parked" else {
            throw SetupError(
                "--takeover: flowtap PID \(offer.pid) did not park (\(answer ?? "no answer within \(HandoverChannel.timeoutMs / 1000) s"))",
                fix: "it goes on forwarding; try again, or look at its log")
        }
    }

    /// Our threads run: the previous flowtap may end.
    package func started() -> Bool { channel.send("started") }
}
