import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization
import Tracing

/// Runs deliveries from the queue against Jira, with retries, leases and per-site limits. Slots are
/// refilled as soon as one frees: a slow delivery holds its own slot, never the others'.
struct DeliveryService: Service {
    let store: any QueueStore
    let bells: WorkBells
    let runner: DeliveryRunner
    let configuration: PipelineConfiguration
    let owner: String
    let running: RunningDeliveries
    let health: WorkerHealth
    let siteLimits: SiteLimits
    let logger: Logger

    private enum Finished { case delivery, tick }

    func run() async throws {
        await withTaskGroup(of: Finished.self) { group in
            var running = 0
            var ticking = false
            // In-flight deliveries finish even during shutdown; no new ones are claimed then.
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var claimed = 0
                if running < configuration.concurrency {
                    do {
                        let began = ContinuousClock.now
                        let batch = try await store.claimDeliveries(
                            owner: owner, limit: configuration.concurrency - running,
                            perSiteLimit: configuration.perSiteLimit, siteLimits: siteLimits.lowered(),
                            leaseMillis: configuration.deliveryLeaseMillis, now: store.clock.now())
                        let took = ContinuousClock.now - began
                        health.metrics.queueClaim(nanoseconds: took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
                        health.succeeded(.deliveries, logger: logger)
                        self.running.insert(batch.map(\.id))
                        for d in batch {
                            group.addTask {
                                await runOne(d); return .delivery
                            }
                        }
                        claimed = batch.count
                        running += claimed
                    } catch {
                        let wait = health.failed(.deliveries, error, logger: logger)
                        if running == 0 { await idle(wait, configuration.sleeper); continue }
                    }
                }
                if claimed > 0 && running < configuration.concurrency { continue }
                if !ticking {
                    ticking = true
                    group.addTask { [bells] in
                        // A stop ends the wait at once (on a test's clock, time would not move on to end it).
                        await cancelWhenGracefulShutdown {
                            await bells[.deliveries].wait(upTo: configuration.pollInterval, sleeper: configuration.sleeper)
                        }
                        return .tick
                    }
                }
                // Wake on the first finished delivery or the next tick, whichever comes first.
                guard let next = await group.next() else { continue }
                switch next {
                case .delivery: running -= 1
                case .tick: ticking = false
                }
            }
            while let next = await group.next() { if next == .delivery { running -= 1 } }
        }
        // A clean stop hands nothing over: the next process need not wait for these leases.
        try? await store.unregisterWorker(id: owner)
    }

    func runOne(_ d: Delivery) async {
        // The delivery's span continues the trace of the event that planned it; each Jira call is its child.
        let span = InstrumentationSystem.tracer.startSpan("delivery \(d.action.rawValue)", context: TraceContext.context(d.traceContext))
        span.attributes["jira_bridge.delivery_id"] = Int(d.id)
        span.attributes["jira_bridge.event_id"] = d.eventID
        span.attributes["jira_bridge.issue_key"] = d.issueKey
        span.attributes["jira_bridge.attempt"] = d.attempts + 1
        let result = await ServiceContext.withValue(span.context) {
            await runner.run(d, owner: owner, now: { [store] in store.clock.now() }, logger: logger)
        }
        span.attributes["jira_bridge.outcome"] = "\(result.outcome)".prefix(200).description
        if !result.outcome.isSuccess { span.setStatus(SpanStatus(code: .error)) }
        span.end()
        siteLimits.record(
            site: d.site, rateLimited: result.rateLimited, succeeded: result.outcome.isSuccess, now: store.clock.now(),
            metrics: health.metrics)
        let followUps = result.followUps.map {
            NewDelivery(eventID: d.eventID, projectID: d.projectID, site: d.site, planned: $0, traceContext: d.traceContext)
        }
        // The outcome is known: it is recorded as soon as the store takes it (a full disk, a failover), trying
        // again with backoff. Meanwhile the delivery counts as running here and keeps its lease. After
        // `completionPatience` this process lets go: the lease is no longer renewed, runs out, and the delivery
        // runs again (its reads find what this attempt wrote, so nothing is written twice).
        defer { running.remove(d.id) }
        let began = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await store.completeDelivery(
                    id: d.id, owner: owner, outcome: result.outcome, followUps: followUps, effects: result.effects,
                    now: store.clock.now())
                if attempt > 1 {
                    logger.notice(
                        "recorded a delivery's outcome after the store refused it", metadata: ["delivery_id": "\(d.id)", "attempts": "\(attempt)"])
                }
                return
            } catch {
                let wait = health.failed(.deliveries, error, logger: logger)
                if ContinuousClock.now - began > Self.completionPatience || Task.isCancelled {
                    logger.error(
                        "could not record a delivery's outcome; its lease will run out and it will run again",
                        metadata: ["delivery_id": "\(d.id)", "error": "\(error)"])
                    return
                }
                // Not cut short by a stop: the outcome is worth recording during one.
                await pause(wait, configuration.sleeper)
            }
        }
    }

    /// How long a delivery's outcome is offered to the store before the delivery is let go, to run again.
    static let completionPatience: Duration = .seconds(300)
}
