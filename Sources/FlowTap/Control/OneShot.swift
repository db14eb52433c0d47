import Foundation

/// A value handed from a task to a thread that waits for it: the first `set` wins.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?

    func set(_ newValue: Value) {
        condition.lock()
        if value == nil { value = newValue }
        condition.signal()
        condition.unlock()
    }

    /// The value, or nil after `timeoutSeconds`.
    func wait(timeoutSeconds: Double) -> Value? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while value == nil && condition.wait(until: deadline) {}
        return value
    }
}
