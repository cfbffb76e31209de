import Prometheus
import Synchronization

/// The server's metrics, in a Prometheus registry of its own (no global bootstrap, so several servers in one
/// test process keep separate counts). Every family has HELP and TYPE lines (`promtool check metrics` in CI);
/// docs/pipeline.md lists them.
public struct BridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The sites that had an unfinished delivery at an earlier scrape: their age drops to 0 when they have none.
    private let agedSites = SiteSet()
    private let pausedSites = SiteSet()
    private let rejectedSites = SiteSet()
    private let heldSites = SiteSet()

    static let requestBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]
    /// A claim is one transaction: its buckets start far below a Jira request's.
    static let claimBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
    }

    // `MetricNameDescriptor` is a struct of constants that the package does not mark Sendable.
    static func name(_ metricName: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metricName, unitName: unit, helpText: help)
    }

    nonisolated(unsafe) static let webhooks = name(
        "jira_bridge_webhooks", unit: "total",
        "Webhooks received, by forge and outcome (accepted, duplicate, ignored, ping, unauthorized, bad_request, too_large, timed_out, unavailable, error)."
    )
    nonisolated(unsafe) static let deliveries = name(
        "jira_bridge_deliveries", unit: "total",
        "Delivery attempts, by Jira site, action and outcome (succeeded, skipped, retry, failed, dead, paused).")
    nonisolated(unsafe) static let jiraRequests = name(
        "jira_bridge_jira_request_duration", unit: "seconds",
        "Requests to Jira, by site and HTTP status (error for network failures).")
    nonisolated(unsafe) static let workerFailures = name(
        "jira_bridge_worker_failures", unit: "total",
        "Failures of the background loops (planner, deliveries, heartbeat, retention), mostly the database refusing work.")
    nonisolated(unsafe) static let leasesReleased = name(
        "jira_bridge_leases_released", unit: "total",
        "Deliveries released from the lease of a worker that stopped (a crashed or killed process).")
    nonisolated(unsafe) static let queueDepthName = name(
        "jira_bridge_queue_depth",
        "Work not done yet, read at scrape time: pending and running deliveries, events not yet planned.")
    nonisolated(unsafe) static let readyName = name(
        "jira_bridge_ready",
        "1 when the database answers and no background loop is failing (what GET /-/readiness checks), else 0; read at scrape time.")
    nonisolated(unsafe) static let queueAgeName = name(
        "jira_bridge_queue_oldest_age", unit: "seconds",
        "Age of the oldest pending or running delivery of each Jira site (0 when it has none), read at scrape time.")
    nonisolated(unsafe) static let buildInfoName = name(
        "jira_bridge_build_info",
        "Always 1; its labels are the version and git commit of the running binary.")
    nonisolated(unsafe) static let queueClaims = name(
        "jira_bridge_queue_claim_duration", unit: "seconds",
        "Time of each claim of deliveries from the queue (one transaction), however many it found.")

    nonisolated(unsafe) static let credentialsRejectedName = name(
        "jira_bridge_credentials_rejected",
        "Sets of credentials Jira rejected (401) whose deliveries wait paused, per Jira site (0 when none), read at scrape time.")
    nonisolated(unsafe) static let pausedName = name(
        "jira_bridge_deliveries_paused",
        "Deliveries paused because Jira rejected their credentials, per Jira site (0 when none), read at scrape time.")
    nonisolated(unsafe) static let rateLimitHoldsName = name(
        "jira_bridge_rate_limit_holds",
        "Waits Jira asked for that are in force, per Jira site and scope (site, issue), read at scrape time.")
    nonisolated(unsafe) static let siteConcurrencyName = name(
        "jira_bridge_site_concurrency_limit",
        "Deliveries this process runs at once against a Jira site: cut by Jira's 429s, grown back while answers are good.")

    nonisolated(unsafe) static let connectionTimeoutsName = name(
        "jira_bridge_connection_timeouts", unit: "total",
        "Connections closed because the client was too slow: phase headers (no complete request head in time) or body.")

    /// A connection closed for a slow client (`phase`: headers or body).
    func connectionTimedOut(phase: String) {
        registry.makeCounter(descriptor: Self.connectionTimeoutsName, labels: [("phase", phase)]).increment()
    }

    /// A webhook and what became of it.
    func webhook(forge: String, outcome: String) {
        registry.makeCounter(descriptor: Self.webhooks, labels: [("forge", forge), ("outcome", outcome)]).increment()
    }

    /// A delivery attempt's outcome (`succeeded`, `skipped`, `retry`, `failed`, `dead`), on its Jira site.
    func delivery(site: String, action: String, outcome: String) {
        registry.makeCounter(descriptor: Self.deliveries, labels: [("site", site), ("action", action), ("outcome", outcome)]).increment()
    }

    /// The age of each site's oldest unfinished delivery; a site seen before with none left reads 0.
    func queueAges(_ oldest: [(site: String, createdAt: Int64)], now: Int64) {
        let current = Set(oldest.map(\.site))
        let gone = agedSites.sites.withLock { seen in
            let gone = seen.subtracting(current)
            seen = current
            return gone
        }
        for (site, createdAt) in oldest {
            registry.makeGauge(descriptor: Self.queueAgeName, labels: [("site", site)]).set(to: Double(max(0, now - createdAt)) / 1000)
        }
        for site in gone { registry.makeGauge(descriptor: Self.queueAgeName, labels: [("site", site)]).set(to: 0) }
    }

    /// Per-site gauges read at scrape time: a site seen before that has no value now reads 0.
    private func perSite(_ descriptor: MetricNameDescriptor, _ values: [String: Double], seen: SiteSet, extra: [(String, String)] = []) {
        let gone = seen.sites.withLock { sites in
            let gone = sites.subtracting(values.keys)
            sites = Set(values.keys)
            return gone
        }
        for (site, value) in values { registry.makeGauge(descriptor: descriptor, labels: [("site", site)] + extra).set(to: value) }
        for site in gone { registry.makeGauge(descriptor: descriptor, labels: [("site", site)] + extra).set(to: 0) }
    }

    func holds(paused: [String: Int], rejected: [String: Int], rateLimits: [(site: String, scope: String)]) {
        perSite(Self.pausedName, paused.mapValues(Double.init), seen: pausedSites)
        perSite(Self.credentialsRejectedName, rejected.mapValues(Double.init), seen: rejectedSites)
        var counts: [String: [String: Double]] = ["site": [:], "issue": [:]]
        for hold in rateLimits { counts[hold.scope, default: [:]][hold.site, default: 0] += 1 }
        let all = Set(rateLimits.map(\.site))
        // Both scopes of a site that has any hold are written, so each series exists and drops to 0.
        let seen = heldSites.sites.withLock { sites in
            let before = sites
            sites = all
            return before
        }
        for site in all.union(seen) {
            for scope in ["site", "issue"] {
                registry.makeGauge(descriptor: Self.rateLimitHoldsName, labels: [("site", site), ("scope", scope)]).set(to: counts[scope]?[site] ?? 0)
            }
        }
    }

    func siteConcurrency(site: String, limit: Int) {
        registry.makeGauge(descriptor: Self.siteConcurrencyName, labels: [("site", site)]).set(Int64(limit))
    }

    /// `jira_bridge_build_info{version, commit} 1`.
    public func buildInfo(version: String, commit: String) {
        registry.makeGauge(descriptor: Self.buildInfoName, labels: [("version", version), ("commit", commit)]).set(Int64(1))
    }

    /// One request to Jira: its site, HTTP status (or `error`) and latency.
    public func jiraRequest(site: String, status: String, nanoseconds: Int64) {
        registry.makeDurationHistogram(descriptor: Self.jiraRequests, labels: [("site", site), ("status", status)], buckets: Self.requestBuckets)
            .record(.nanoseconds(nanoseconds))
    }

    /// A failure of a background loop (`planner`, `deliveries`, `heartbeat`, `retention`).
    func workerFailure(loop: String) {
        registry.makeCounter(descriptor: Self.workerFailures, labels: [("loop", loop)]).increment()
    }

    /// Deliveries released from a lease whose holder stopped (a crashed or killed process).
    func leasesReleased(_ n: Int) {
        registry.makeCounter(descriptor: Self.leasesReleased).increment(by: Int64(n))
    }

    func queueDepth(deliveries: Int, events: Int) {
        registry.makeGauge(descriptor: Self.queueDepthName, labels: [("queue", "deliveries")]).set(Int64(deliveries))
        registry.makeGauge(descriptor: Self.queueDepthName, labels: [("queue", "events")]).set(Int64(events))
    }

    func ready(_ ready: Bool) {
        registry.makeGauge(descriptor: Self.readyName).set(Int64(ready ? 1 : 0))
    }

    /// One claim of deliveries from the queue (the transaction that picks and leases them), however many it found.
    func queueClaim(nanoseconds: Int64) {
        registry.makeDurationHistogram(descriptor: Self.queueClaims, labels: [], buckets: Self.claimBuckets).record(.nanoseconds(nanoseconds))
    }
}

/// The sites the queue-age gauge has shown (a class, so the metrics struct stays copyable).
final class SiteSet: Sendable {
    let sites = Mutex<Set<String>>([])
}
