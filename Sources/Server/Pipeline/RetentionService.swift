import Integration
import Logging
import ServiceLifecycle
import Store

/// Prunes once a minute after start, then every `interval`, bounded per pass.
struct RetentionService: Service {
    let store: any RetentionStore
    let configuration: RetentionConfiguration
    let sleeper: Sleeper
    let metrics: BridgeMetrics
    let logger: Logger

    func run() async throws {
        guard configuration.days > 0 else { return }
        var wait = configuration.firstPass
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A graceful shutdown ends the wait at once (the next pass may be an hour away).
            let pause = wait
            try? await cancelWhenGracefulShutdown { try await sleeper.sleep(for: pause) }
            wait = configuration.interval
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                let removed = try await Retention.prune(
                    store: store, before: configuration.cutoff(now: store.clock.now()),
                    batch: configuration.batch, maxBatches: configuration.batchesPerPass,
                    pause: configuration.pause, sleeper: sleeper)
                if removed.deliveries + removed.events > 0 {
                    logger.info(
                        "pruned finished work",
                        metadata: [
                            "deliveries": "\(removed.deliveries)", "events": "\(removed.events)",
                            "retention_days": "\(configuration.days)",
                        ])
                }
            } catch {
                metrics.workerFailure(loop: "retention")
                logger.warning("pruning failed; it is tried again at the next pass", metadata: ["error": "\(error)"])
            }
        }
    }
}
