import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store

/// How the pipeline's workers behave.
public struct PipelineConfiguration: Sendable {
    public var retryPolicy: RetryPolicy
    /// Deliveries run at once by one process.
    public var concurrency: Int
    /// Deliveries running at once against one Jira site.
    public var perSiteLimit: Int
    /// How long an idle worker waits before looking for work again.
    public var pollInterval: Duration
    public var deliveryLeaseMillis: Int64
    public var eventLeaseMillis: Int64

    public init(retryPolicy: RetryPolicy = RetryPolicy(), concurrency: Int = 8, perSiteLimit: Int = 4,
                pollInterval: Duration = .milliseconds(50), deliveryLeaseMillis: Int64 = 300_000, eventLeaseMillis: Int64 = 10_000) {
        self.retryPolicy = retryPolicy
        self.concurrency = concurrency
        self.perSiteLimit = perSiteLimit
        self.pollInterval = pollInterval
        self.deliveryLeaseMillis = deliveryLeaseMillis
        self.eventLeaseMillis = eventLeaseMillis
    }
}

func currentMillis() -> Millis { Millis(Date().timeIntervalSince1970 * 1000) }

/// Sleeps for `interval`, returning early when the service group shuts down.
func idle(_ interval: Duration) async {
    try? await Task.sleep(for: interval)
}

/// Turns stored events into deliveries with the project's current settings.
struct EventPlanningService: Service {
    let store: any BridgeStore
    let configuration: PipelineConfiguration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let planned = (try? await planBatch()) ?? 0
            if planned == 0 { await idle(configuration.pollInterval) }
        }
    }

    /// Plans one batch of events; returns how many events it handled.
    func planBatch() async throws -> Int {
        let events = try await store.claimEvents(limit: 64, leaseMillis: configuration.eventLeaseMillis, now: currentMillis())
        var integrations: [Int64: IntegrationRecord?] = [:]
        var batch: [(eventID: String, deliveries: [NewDelivery])] = []
        for stored in events {
            var deliveries: [NewDelivery] = []
            if integrations[stored.projectID] == nil {
                integrations[stored.projectID] = .some(try await store.integration(at: .project(stored.projectID)))
            }
            if let record = integrations[stored.projectID] ?? nil, record.settings.active,
               let site = record.settings.clientURL {
                do {
                    let extractor = try ReferenceExtractor(prefix: record.settings.issuePrefix, regex: record.settings.issueRegex)
                    let planner = EventPlanner(settings: record.settings, extractor: extractor)
                    deliveries = planner.plan(stored.event).map {
                        NewDelivery(eventID: stored.id, projectID: stored.projectID, site: JiraSite.key(site), planned: $0)
                    }
                } catch {
                    logger.error("the saved key pattern does not compile", metadata: ["project_id": "\(stored.projectID)", "error": "\(error)"])
                }
            }
            batch.append((stored.id, deliveries))
        }
        if !batch.isEmpty {
            let inserted = try await store.finishPlanning(batch: batch, now: currentMillis())
            logger.debug("events planned", metadata: ["events": "\(batch.count)", "new_deliveries": "\(inserted)"])
        }
        return events.count
    }
}

/// Runs deliveries from the queue against Jira, with retries, leases and per-site limits.
struct DeliveryService: Service {
    let store: any BridgeStore
    let runner: DeliveryRunner
    let configuration: PipelineConfiguration
    let owner: String
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let ran = (try? await runBatch()) ?? 0
            if ran == 0 { await idle(configuration.pollInterval) }
        }
    }

    /// Claims and runs one batch to completion (in-flight deliveries finish even during shutdown).
    func runBatch() async throws -> Int {
        let batch = try await store.claimDeliveries(owner: owner, limit: configuration.concurrency, perSiteLimit: configuration.perSiteLimit,
                                                    leaseMillis: configuration.deliveryLeaseMillis, now: currentMillis())
        await withTaskGroup(of: Void.self) { group in
            for d in batch {
                group.addTask {
                    let result = await runner.run(d, owner: owner, now: currentMillis, logger: logger)
                    let followUps = result.followUps.map { NewDelivery(eventID: d.eventID, projectID: d.projectID, site: d.site, planned: $0) }
                    do {
                        try await store.completeDelivery(id: d.id, owner: owner, outcome: result.outcome, followUps: followUps, now: currentMillis())
                    } catch {
                        logger.error("could not record a delivery's outcome; its lease will expire and it will run again",
                                     metadata: ["delivery_id": "\(d.id)", "error": "\(error)"])
                    }
                }
            }
        }
        return batch.count
    }
}

/// The identity of a Jira site for the ledger and the per-site limit: the REST base without a trailing slash.
enum JiraSite {
    static func key(_ clientURL: String) -> String {
        guard let url = JiraURL(clientURL) else { return clientURL }
        return url.origin + url.contextPath
    }
}
