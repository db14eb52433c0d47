import CFlowTapLinux
import Glibc

/// A pthread, created with pthread_create(3), named with pthread_setname_np(3) so that
/// `top -H` shows what it does, and joined exactly once (the join consumes it).
public struct PosixThread: ~Copyable {
    private let handle: pthread_t

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// nil when pthread_create fails (out of memory or thread limit).
    public init?(name: String, _ body: @escaping @Sendable () -> Void) {
        guard let thread = Self.spawn(name: name, body) else { return nil }
        handle = thread
    }

    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                _ = cft_set_thread_name(start.name)
                start.body()
                return nil
            }, start)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return nil
        }
        return thread
    }

    /// pthread_join(3).
    public consuming func join() {
        let rc = pthread_join(handle, nil)
        // No input reaches this: pthread_join fails only for a handle that is not a joinable
        // thread (ESRCH, EINVAL) or a self-join (EDEADLK), and `join` consumes the only handle.
        precondition(rc == 0, "pthread_join failed: \(rc)")
    }
}
