import Glibc

/// Several threads started together and joined together (the forwarders of every queue).
public final class ThreadGroup {
    private var handles: [pthread_t] = []

    public init() {}

    /// False when the thread could not be created.
    public func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        guard let thread = PosixThread.spawn(name: name, body) else { return false }
        handles.append(thread)
        return true
    }

    /// pthread_join(3) of each, once.
    public func joinAll() {
        for handle in handles {
            let rc = pthread_join(handle, nil)
            // No input reaches this: each handle is joined once, by the thread that started it.
            precondition(rc == 0, "pthread_join failed: \(rc)")
        }
        handles.removeAll()
    }
}
