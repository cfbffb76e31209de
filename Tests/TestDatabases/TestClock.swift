import Integration
import Store
import Synchronization

/// Time that moves only when a test moves it: the wall time rows are stamped with (`wall`) and the pipeline's
/// waits (`sleeper`) read it, so a test of a day-long deadline or a 30 s sweep advances the clock instead of
/// waiting (as swift-nio's `EmbeddedEventLoop.advanceTime` does for event loops). A wait ends when an
/// `advance` reaches its deadline, or when its task is cancelled.
public final class TestClock: Sendable {
    struct Sleeper {
        var deadline: Duration
        var duration: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var now: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var next = 0
    }

    let state = Mutex(State())
    /// The wall time at which the clock starts.
    public let start: Millis

    public init(start: Millis = WallClock.system.now()) { self.start = start }

    /// The wall clock this clock drives: `start` plus the time advanced.
    public var wall: WallClock {
        WallClock { [self] in
            let now = state.withLock { $0.now }
            return start + now.components.seconds * 1000 + now.components.attoseconds / 1_000_000_000_000_000
        }
    }

    /// The pipeline's waits, on this clock.
    public var sleeper: Store.Sleeper { Store.Sleeper { [self] in try await self.sleep(for: $0) } }

    /// How many waits of exactly `duration` are pending (the heartbeat's 2 s, a poll's 50 ms): how a test
    /// knows a loop has come back to its wait before it advances the clock again.
    public func waits(for duration: Duration) -> Int {
        state.withLock { s in s.sleepers.values.filter { $0.duration == duration }.count }
    }

    /// Moves the time on by `duration` and ends every wait whose deadline it reaches.
    public func advance(by duration: Duration) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now += duration
            let ids = s.sleepers.filter { $0.value.deadline <= s.now }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        let id = state.withLock { s in
            s.next += 1
            return s.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let answer = state.withLock { s -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if duration <= .zero { return .success(()) }
                    s.sleepers[id] = Sleeper(deadline: s.now + duration, duration: duration, continuation: continuation)
                    return nil
                }
                if let answer { continuation.resume(with: answer) }
            }
        } onCancel: {
            let sleeper = state.withLock { s in s.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
