import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Keeps this process's worker alive in the store: registers it (taking over a predecessor's leases when
/// this process holds the database alone), then renews its leases and releases dead workers' work.
struct QueueHeartbeatService: Service {
    let store: any QueueStore & HoldStore
    let configuration: PipelineConfiguration
    let owner: String
    let running: RunningDeliveries
    let health: WorkerHealth
    let metrics: BridgeMetrics
    let logger: Logger
    /// Runs once the worker is registered (the catch-up at start), beside the heartbeats.
    var onRegistered: (@Sendable () async -> Void)? = nil

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let released = try await store.registerWorker(id: owner, now: store.clock.now(), takeOver: configuration.takeOverLeases)
                if released > 0 {
                    metrics.leasesReleased(released)
                    logger.notice("released the deliveries a previous process left running", metadata: ["count": "\(released)"])
                }
                health.succeeded(.heartbeat, logger: logger)
                if let onRegistered { Task { await onRegistered() } }
                break
            } catch {
                await idle(health.failed(.heartbeat, error, logger: logger), configuration.sleeper)
            }
        }
        var beats = 0
        // During a stop the leases of the deliveries still running are renewed until they finish: another
        // process would otherwise take this one for dead and run them a second time.
        while !Task.isCancelled && (!Task.isShuttingDownGracefully || running.count > 0) {
            if Task.isShuttingDownGracefully {
                await pause(configuration.heartbeatInterval, configuration.sleeper)
            } else {
                await idle(configuration.heartbeatInterval, configuration.sleeper)
            }
            if Task.isShuttingDownGracefully && running.count == 0 { break }
            beats += 1
            if beats % Self.sweepEvery == 1 { await sweepPaused() }
            do {
                let released = try await store.heartbeat(
                    worker: owner, running: running.ids, leaseMillis: configuration.deliveryLeaseMillis,
                    staleAfterMillis: configuration.staleWorkerMillis, now: store.clock.now())
                if released > 0 {
                    metrics.leasesReleased(released)
                    logger.notice("released deliveries of a worker that stopped", metadata: ["count": "\(released)"])
                }
                health.succeeded(.heartbeat, logger: logger)
            } catch {
                await pause(health.failed(.heartbeat, error, logger: logger), configuration.sleeper)
            }
        }
    }
}

extension QueueHeartbeatService {
    /// Every this many heartbeats (30 s by default), paused deliveries are swept (`sweepPaused`).
    static let sweepEvery = 15

    /// Paused deliveries past the retry deadline become dead (one waits as long as a failing one would); a
    /// resumption a stopped process left halfway is finished.
    func sweepPaused() async {
        let now = store.clock.now()
        do {
            let swept = try await store.sweepPaused(deadBefore: now - Millis(configuration.retryPolicy.maxAgeSeconds * 1000), limit: 1000, now: now)
            if swept.dead > 0 {
                logger.warning(
                    "paused deliveries passed the retry deadline and are dead; retry them once the credentials are fixed",
                    metadata: ["count": "\(swept.dead)"])
            }
            if swept.resumed > 0 { logger.notice("finished resuming paused deliveries", metadata: ["count": "\(swept.resumed)"]) }
        } catch {
            _ = health.failed(.heartbeat, error, logger: logger)
        }
    }
}
