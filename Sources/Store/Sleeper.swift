/// How the pipeline's loops wait (polls, heartbeats, retention's passes, the bells' timeouts): the
/// system's `Task.sleep`, or a test's clock, which ends a wait only when the test advances it. Injected
/// like the wall clock (`WallClock`), so that a test of time-driven behaviour moves time instead of waiting
/// for it.
public struct Sleeper: Sendable {
    private let body: @Sendable (Duration) async throws -> Void

    public init(_ body: @escaping @Sendable (Duration) async throws -> Void) { self.body = body }

    /// Waits `duration`; throws `CancellationError` when the task is cancelled first.
    public func sleep(for duration: Duration) async throws { try await body(duration) }

    /// Real time.
    public static let system = Sleeper { try await Task.sleep(for: $0) }
}
