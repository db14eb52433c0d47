import FlyingFox
import FlyingSocks
import Foundation
import Glibc

/// `--metrics`: serves `GET /metrics` (the Prometheus text format, `ProbeMetrics`) over HTTP
/// with FlyingFox, on Swift's concurrency threads, apart from the forwarders and the export thread.
/// A scrape reads published snapshots only, so a slow or hostile client costs forwarding
/// nothing; FlyingFox times a connection out after 15 s.
///
/// It starts once the credentials are dropped and before the seccomp filter is installed (the
/// filter then covers its threads too, see `PrivilegeDrop`), so the listening socket is bound
/// without any capability; `preflight` refuses what would fail then before anything starts.
public final class MetricsEndpoint: Sendable {
    public let address: MetricsAddress
    let server: HTTPServer
    let task: Task<Void, Never>

    /// Binds and listens (up to 5 s), or throws what stopped it.
    public static func start(_ address: MetricsAddress, metrics: ProbeMetrics) throws(SetupError) -> MetricsEndpoint {
        let handler = MetricsHandler(metrics: metrics)
        var candidates: [HTTPServer] = []
        func server(_ address: some FlyingSocks.SocketAddress) -> HTTPServer {
            // FlyingSocks' epoll pool, on a queue of default QoS: its own default queue runs at
            // the QoS of whoever first calls it, which libdispatch turned into a nice value of
            // -4 that an unprivileged thread may not take (see `listen`).
            let pool = SocketPool(queue: ePoll(maxEvents: 20), dispatchQueue: DispatchQueue(label: "flowtap-metrics", qos: .default))
            return HTTPServer(address: address, pool: pool, logger: .disabled, handler: handler)
        }
        switch address.host {
        case .v4(let a)?:
            if let bound = try? sockaddr_in.inet(ip4: a.description, port: address.port) {
                candidates.append(server(bound))
            }
        case .v6(let a)?:
            if let bound = try? sockaddr_in6.inet6(ip6: a.description, port: address.port) {
                candidates.append(server(bound))
            }
        case nil:
            // Every address: IPv6's wildcard takes IPv4 too; where IPv6 is off, IPv4's alone.
            candidates.append(server(sockaddr_in6.inet6(port: address.port)))
            candidates.append(server(sockaddr_in.inet(port: address.port)))
        }
        var lastError = "no address to bind"
        for candidate in candidates {
            switch listen(candidate) {
            case .success(let task): return MetricsEndpoint(address: address, server: candidate, task: task)
            case .failure(let error): lastError = error.description
            }
        }
        throw SetupError("cannot serve --metrics on \(address): \(lastError)",
                         fix: "give a free port and a local address, or --metrics PORT for every address ('ss -ltnp' shows what listens)")
    }

    /// Before any setup, what would keep the server from listening once privileges are gone:
    /// a port below net.ipv4.ip_unprivileged_port_start (no capability is left to bind it), an
    /// address not of this host, a port in use. A trial bind(2) of the same address, with
    /// SO_REUSEADDR as FlyingFox sets it, so that bad values get one line and flowtap does
    /// not start.
    /// `portMayBeTaken`: a handover's predecessor holds the port until the park, so a port in
    /// use is no error then.
    public static func preflight(_ address: MetricsAddress, portMayBeTaken: Bool = false) throws(SetupError) {
        let unprivileged = Self.unprivilegedPortStart()
        if address.port < unprivileged {
            throw SetupError("--metrics port \(address.port) needs a privilege flowtap has dropped by the time it listens (ports below \(unprivileged))",
                             fix: "give a port from \(unprivileged) (exporters use 9100-9999), e.g. --metrics \(address.host.map { $0.withPort(9750) } ?? "9750")")
        }
        var e: CInt = 0
        switch address.host {
        case let host?:
            e = trialBind(SocketAddress(host, port: address.port))
        case nil:
            e = trialBind(SocketAddress(anyOf: AF_INET6, port: address.port))
            if e == EAFNOSUPPORT { e = trialBind(SocketAddress(anyOf: AF_INET, port: address.port)) }
        }
        switch e {
        case 0: return
        case EADDRINUSE where portMayBeTaken: return
        case EADDRNOTAVAIL:
            throw SetupError("--metrics \(address): \(address.host.map(\.description) ?? "") is not an address of this host",
                             fix: "give one of the addresses 'ip addr' shows in flowtap's namespace, or --metrics PORT for every address")
        default:
            throw SetupError("cannot serve --metrics on \(address): \(SetupError.text(e))",
                             fix: "give a port nothing else listens on ('ss -ltnp' shows what does)")
        }
    }

    /// bind(2) of a fresh TCP socket to `address`; the errno, or 0.
    static func trialBind(_ address: SocketAddress) -> CInt {
        do {
            let socket = try Socket(family: address.family, type: SOCK_STREAM)
            try? socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
            try socket.bind(address)
            return 0
        } catch {
            return error.rawValue
        }
    }

    /// /proc/sys/net/ipv4/ip_unprivileged_port_start (per network namespace), 1024 if unread.
    static func unprivilegedPortStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8),
              let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return 1024 }
        return value
    }

    init(address: MetricsAddress, server: HTTPServer, task: Task<Void, Never>) {
        self.address = address
        self.server = server
        self.task = task
    }

    /// Runs `server` until it stops; returns once it listens, or with why it could not.
    static func listen(_ server: HTTPServer) -> Result<Task<Void, Never>, ListenError> {
        let outcome = OneShot<Result<Void, ListenError>>()
        // One priority for every task of the server, the default (nice 0, what a thread already
        // has): libdispatch sets a worker thread's nice value from its task's priority, and
        // without CAP_SYS_NICE a higher one (negative nice), or a return to 0 after a lower
        // one, is refused and reported to syslog. The forwarders do not share a CPU queue with
        // it anyway: the kernel schedules threads, and the server wakes only for a scrape.
        let task = Task.detached(priority: .medium) {
            do {
                try await server.run()
            } catch {
                outcome.set(.failure(ListenError(error)))
            }
        }
        Task.detached(priority: .medium) {
            do {
                try await server.waitUntilListening(timeout: 5)
                outcome.set(.success(()))
            } catch {
                outcome.set(.failure(ListenError(text: "not listening within 5 s")))
            }
        }
        switch outcome.wait(timeoutSeconds: 6) ?? .failure(ListenError(text: "not listening within 6 s")) {
        case .success: return .success(task)
        case .failure(let error):
            task.cancel()
            return .failure(error)
        }
    }

    /// Closes the listening socket and cancels the server (a scrape in hand is cut off: at
    /// shutdown the flows matter, not the last scrape), waiting at most 1 s for it.
    public func stop() {
        let done = OneShot<Void>()
        let server = self.server
        Task.detached(priority: .medium) {
            await server.stop(timeout: 0)
            done.set(())
        }
        _ = done.wait(timeoutSeconds: 1)
        task.cancel()
    }
}

/// GET /metrics answers the exposition; / says where it is, as node_exporter's page does.
struct MetricsHandler: HTTPHandler {
    let metrics: ProbeMetrics

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPResponse(statusCode: .methodNotAllowed, headers: HTTPHeaders([HTTPHeader("Allow"): "GET, HEAD"]), body: Data())
        }
        switch request.path {
        case "/metrics":
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: Data(metrics.scrape()))
        case "/":
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: Data("flowtap: metrics at /metrics\n".utf8))
        default:
            return HTTPResponse(statusCode: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: Data("not found: flowtap serves /metrics\n".utf8))
        }
    }
}

/// Why the metrics server could not listen: the socket error's own words.
struct ListenError: Error, CustomStringConvertible {
    let description: String

    init(text: String) { description = text }

    init(_ error: any Error) {
        if case .failed(let call, _, let message)? = error as? SocketError {
            description = "\(call): \(message)"
        } else {
            description = "\(error)"
        }
    }
}
