import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// How the pipeline's workers behave.
public struct PipelineConfiguration: Sendable {
    public var retryPolicy: RetryPolicy
    /// Deliveries run at once by one process. They wait on Jira, not on a core, so this can be well above
    /// the per-site limit: a slow site holds only its own slots.
    public var concurrency: Int
    /// Deliveries running at once against one Jira site.
    public var perSiteLimit: Int
    /// How long an idle worker waits before looking for work again.
    public var pollInterval: Duration
    /// A delivery's lease; renewed by every heartbeat while it runs.
    public var deliveryLeaseMillis: Int64
    public var eventLeaseMillis: Int64
    /// How often a process records that it is alive and renews its leases.
    public var heartbeatInterval: Duration
    /// A process whose heartbeat is older than this is taken for dead, and its work is released.
    public var staleWorkerMillis: Int64
    /// Set when this process is the only one on the database (it holds the SQLite process lock): at start it
    /// releases every lease a predecessor left behind, at once.
    public var takeOverLeases: Bool
    /// Readiness fails when a delivery has been running this long, or due this long on a site where nothing
    /// runs, while this process has free slots: the queue has stopped moving.
    public var stuckAfterMillis: Int64 = 600_000

    public init(retryPolicy: RetryPolicy = RetryPolicy(), concurrency: Int = 32, perSiteLimit: Int = 4,
                pollInterval: Duration = .milliseconds(50), deliveryLeaseMillis: Int64 = 15_000, eventLeaseMillis: Int64 = 10_000,
                heartbeatInterval: Duration = .seconds(2), staleWorkerMillis: Int64 = 6_000, takeOverLeases: Bool = false) {
        self.retryPolicy = retryPolicy
        self.concurrency = concurrency
        self.perSiteLimit = perSiteLimit
        self.pollInterval = pollInterval
        self.deliveryLeaseMillis = deliveryLeaseMillis
        self.eventLeaseMillis = eventLeaseMillis
        self.heartbeatInterval = heartbeatInterval
        self.staleWorkerMillis = staleWorkerMillis
        self.takeOverLeases = takeOverLeases
    }
}


/// Sleeps for `interval`, returning early when the service group shuts down.
func idle(_ interval: Duration) async {
    try? await Task.sleep(for: interval)
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
            logger.error("background loop failing; it retries with backoff", metadata: ["loop": "\(loop.rawValue)", "error": "\(kind)", "failures": "\(count)"])
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

/// Turns stored events into deliveries with the project's current settings.
struct EventPlanningService: Service {
    let store: any BridgeStore
    let configuration: PipelineConfiguration
    let health: WorkerHealth
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let planned = try await planBatch()
                health.succeeded(.planner, logger: logger)
                if planned == 0 { await store.bell(.events).wait(upTo: configuration.pollInterval) }
            } catch {
                await idle(health.failed(.planner, error, logger: logger))
            }
        }
    }

    /// Plans one batch of events; returns how many events it handled.
    func planBatch() async throws -> Int {
        let events = try await store.claimEvents(limit: 64, leaseMillis: configuration.eventLeaseMillis, now: store.clock.now())
        var integrations: [Int64: IntegrationRecord?] = [:]
        var batch: [PlannedEvent] = []
        for stored in events {
            var deliveries: [NewDelivery] = []
            var notes: [String] = []
            if integrations[stored.projectID] == nil {
                integrations[stored.projectID] = .some(try await store.integration(at: .project(stored.projectID)))
            }
            // Whether the integration is active is the planner's to decide (`EventPlanner`): it plans nothing then.
            if let record = integrations[stored.projectID] ?? nil, let site = record.settings.clientURL {
                do {
                    let extractor = try ReferenceExtractor(prefix: record.settings.issuePrefix, regex: record.settings.issueRegex)
                    let planner = EventPlanner(settings: record.settings, extractor: extractor)
                    let planned = planner.planWithNotes(stored.event)
                    notes = planned.notes
                    deliveries = planned.deliveries.map {
                        NewDelivery(eventID: stored.id, projectID: stored.projectID, site: JiraSite.key(site), planned: $0)
                    }
                    if !notes.isEmpty {
                        logger.notice("event reached a limit", metadata: ["event_id": "\(stored.id)", "project_id": "\(stored.projectID)",
                                                                         "notes": "\(notes.joined(separator: "; "))"])
                    }
                } catch {
                    logger.error("the saved key pattern does not compile", metadata: ["project_id": "\(stored.projectID)", "error": "\(error)"])
                }
            }
            batch.append(PlannedEvent(eventID: stored.id, deliveries: deliveries, notes: notes))
        }
        if !batch.isEmpty {
            let inserted = try await store.finishPlanning(batch: batch, now: store.clock.now())
            logger.debug("events planned", metadata: ["events": "\(batch.count)", "new_deliveries": "\(inserted)"])
        }
        return events.count
    }
}

/// Keeps this process's worker alive in the store: registers it (taking over a predecessor's leases when
/// this process holds the database alone), then renews its leases and releases dead workers' work.
struct QueueHeartbeatService: Service {
    let store: any BridgeStore
    let configuration: PipelineConfiguration
    let owner: String
    let running: RunningDeliveries
    let health: WorkerHealth
    let metrics: BridgeMetrics
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let released = try await store.registerWorker(id: owner, now: store.clock.now(), takeOver: configuration.takeOverLeases)
                if released > 0 {
                    metrics.leasesReleased(released)
                    logger.notice("released the deliveries a previous process left running", metadata: ["count": "\(released)"])
                }
                health.succeeded(.heartbeat, logger: logger)
                break
            } catch {
                await idle(health.failed(.heartbeat, error, logger: logger))
            }
        }
        var beats = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await idle(configuration.heartbeatInterval)
            beats += 1
            if beats % Self.sweepEvery == 1 { await sweepPaused() }
            do {
                let released = try await store.heartbeat(worker: owner, running: running.ids, leaseMillis: configuration.deliveryLeaseMillis,
                                                         staleAfterMillis: configuration.staleWorkerMillis, now: store.clock.now())
                if released > 0 {
                    metrics.leasesReleased(released)
                    logger.notice("released deliveries of a worker that stopped", metadata: ["count": "\(released)"])
                }
                health.succeeded(.heartbeat, logger: logger)
            } catch {
                await idle(health.failed(.heartbeat, error, logger: logger))
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
                logger.warning("paused deliveries passed the retry deadline and are dead; retry them once the credentials are fixed",
                               metadata: ["count": "\(swept.dead)"])
            }
            if swept.resumed > 0 { logger.notice("finished resuming paused deliveries", metadata: ["count": "\(swept.resumed)"]) }
        } catch {
            _ = health.failed(.heartbeat, error, logger: logger)
        }
    }
}

/// Runs deliveries from the queue against Jira, with retries, leases and per-site limits. Slots are
/// refilled as soon as one frees: a slow delivery holds its own slot, never the others'.
struct DeliveryService: Service {
    let store: any BridgeStore
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
                        let batch = try await store.claimDeliveries(owner: owner, limit: configuration.concurrency - running,
                                                                    perSiteLimit: configuration.perSiteLimit, siteLimits: siteLimits.lowered(),
                                                                    leaseMillis: configuration.deliveryLeaseMillis, now: store.clock.now())
                        let took = ContinuousClock.now - began
                        health.metrics.queueClaim(nanoseconds: took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
                        health.succeeded(.deliveries, logger: logger)
                        self.running.insert(batch.map(\.id))
                        for d in batch {
                            group.addTask { await runOne(d); return .delivery }
                        }
                        claimed = batch.count
                        running += claimed
                    } catch {
                        let wait = health.failed(.deliveries, error, logger: logger)
                        if running == 0 { await idle(wait); continue }
                    }
                }
                if claimed > 0 && running < configuration.concurrency { continue }
                if !ticking {
                    ticking = true
                    group.addTask { [store] in await store.bell(.deliveries).wait(upTo: configuration.pollInterval); return .tick }
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
        let result = await runner.run(d, owner: owner, now: { [store] in store.clock.now() }, logger: logger)
        siteLimits.record(site: d.site, rateLimited: result.rateLimited, succeeded: result.outcome == .succeeded, now: store.clock.now(),
                          metrics: health.metrics)
        let followUps = result.followUps.map { NewDelivery(eventID: d.eventID, projectID: d.projectID, site: d.site, planned: $0) }
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
                try await store.completeDelivery(id: d.id, owner: owner, outcome: result.outcome, followUps: followUps, effects: result.effects,
                                               now: store.clock.now())
                if attempt > 1 { logger.notice("recorded a delivery's outcome after the store refused it", metadata: ["delivery_id": "\(d.id)", "attempts": "\(attempt)"]) }
                return
            } catch {
                let wait = health.failed(.deliveries, error, logger: logger)
                if ContinuousClock.now - began > Self.completionPatience || Task.isCancelled {
                    logger.error("could not record a delivery's outcome; its lease will run out and it will run again",
                                 metadata: ["delivery_id": "\(d.id)", "error": "\(error)"])
                    return
                }
                await idle(wait)
            }
        }
    }

    /// How long a delivery's outcome is offered to the store before the delivery is let go, to run again.
    static let completionPatience: Duration = .seconds(300)
}

/// The deliveries this process runs now: the heartbeat renews these leases and no others.
final class RunningDeliveries: Sendable {
    private let members = Mutex<Set<Int64>>([])

    func insert(_ ids: [Int64]) { members.withLock { $0.formUnion(ids) } }
    func remove(_ id: Int64) { _ = members.withLock { $0.remove(id) } }
    var ids: [Int64] { members.withLock { Array($0) } }
    var count: Int { members.withLock { $0.count } }
}

/// This process's adaptive limit per Jira site (`AdaptiveLimit`): cut by Jira's 429s, grown back by good answers.
final class SiteLimits: Sendable {
    private let limits = Mutex<[String: AdaptiveLimit]>([:])
    let ceiling: Int

    init(ceiling: Int) {
        self.ceiling = ceiling
    }

    func record(site: String, rateLimited: Bool, succeeded: Bool, now: Millis, metrics: BridgeMetrics) {
        guard rateLimited || succeeded else { return }
        let changed = limits.withLock { all -> Int? in
            if !rateLimited && all[site] == nil { return nil }  // at the ceiling already: nothing to track
            var limit = all[site] ?? AdaptiveLimit(ceiling: ceiling)
            let before = limit.current
            if rateLimited { limit.rateLimited(now: now) } else { limit.succeeded() }
            // Back at the ceiling: forgotten, so the map holds only the sites that are held back.
            if limit.current >= ceiling && !rateLimited { all[site] = nil } else { all[site] = limit }
            if all.count > 10_000 { all.removeAll() }
            return limit.current == before ? nil : limit.current
        }
        if let changed { metrics.siteConcurrency(site: site, limit: changed) }
    }

    /// The sites whose limit is below the ceiling, with their limit.
    func lowered() -> [String: Int] {
        limits.withLock { all in all.mapValues(\.current) }
    }
}

/// The identity of a Jira site for the ledger and the per-site limit: the REST base without a trailing slash.
enum JiraSite {
    static func key(_ clientURL: String) -> String {
        guard let url = JiraURL(clientURL) else { return clientURL }
        return url.origin + url.contextPath
    }
}
