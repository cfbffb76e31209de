import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Sleeps for `interval` (as `sleeper` measures it), returning early when the service group shuts down (or
/// the task is cancelled).
func idle(_ interval: Duration, _ sleeper: Sleeper) async {
    try? await cancelWhenGracefulShutdown { try await sleeper.sleep(for: interval) }
}

/// Sleeps for `interval`, returning early only when the task is cancelled: for work that goes on during a
/// stop (renewing the leases of deliveries still running, recording an outcome).
func pause(_ interval: Duration, _ sleeper: Sleeper) async {
    try? await sleeper.sleep(for: interval)
}

/// The state of the background loops, for readiness, logs and metrics. A failure is logged when a loop
/// starts failing (and when the kind of error changes), not on every retry; recovery is logged once.
final class WorkerHealth: Sendable {
    enum Loop: String, Sendable, CaseIterable { case planner, deliveries, heartbeat }

    private struct State {
        var failures: [Loop: Int] = [:]
        var lastKind: [Loop: String] = [:]
        var lastHeartbeat: ContinuousClock.Instant? = nil
    }
    /// After this many failures in a row a loop counts as failing (readiness answers 503).
    static let failingAfter = 3
    private let state = Mutex(State())
    let metrics: BridgeMetrics

    init(metrics: BridgeMetrics) {
        self.metrics = metrics
    }

    /// Records a failure; returns how long the loop should wait before trying again (backing off to 5 s).
    func failed(_ loop: Loop, _ error: any Error, logger: Logger) -> Duration {
        // A stop cancels the loops: that is no failure to report or count.
        if error is CancellationError || Task.isCancelled { return .zero }
        let kind = String(describing: type(of: error)) + ": " + String(String(describing: error).prefix(300))
        let (count, changed) = state.withLock { s -> (Int, Bool) in
            s.failures[loop, default: 0] += 1
            let changed = s.lastKind[loop] != kind
            s.lastKind[loop] = kind
            return (s.failures[loop]!, changed)
        }
        metrics.workerFailure(loop: loop.rawValue)
        if changed {
            logger.error(
                "background loop failing; it retries with backoff",
                metadata: ["loop": "\(loop.rawValue)", "error": "\(kind)", "failures": "\(count)"])
        }
        return .milliseconds(min(5_000, 100 << min(count, 6)))
    }

    func succeeded(_ loop: Loop, logger: Logger) {
        let recovered = state.withLock { s -> Int in
            if loop == .heartbeat { s.lastHeartbeat = .now }
            let before = s.failures[loop, default: 0]
            s.failures[loop] = 0
            s.lastKind[loop] = nil
            return before
        }
        if recovered > 0 { logger.notice("background loop recovered", metadata: ["loop": "\(loop.rawValue)", "failures": "\(recovered)"]) }
    }

    /// Why the workers are not healthy, or nil when they are.
    func problem(heartbeatInterval: Duration) -> String? {
        state.withLock { s in
            for loop in Loop.allCases where s.failures[loop, default: 0] >= Self.failingAfter {
                return "the \(loop.rawValue) loop keeps failing"
            }
            if let last = s.lastHeartbeat, ContinuousClock.now - last > heartbeatInterval * 5 {
                return "the queue heartbeat has not been written for \(ContinuousClock.now - last)"
            }
            return nil
        }
    }
}
