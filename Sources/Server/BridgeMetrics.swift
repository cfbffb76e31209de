import Metrics
import Prometheus

/// The server's metrics, through swift-metrics with a Prometheus registry of its own (no global bootstrap,
/// so several servers in one test process keep separate counts).
public struct BridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        // A claim is one transaction: its buckets start far below a Jira request's.
        factory.durationHistogramBuckets["jira_bridge_queue_claim_duration_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        self.factory = factory
    }

    /// One claim of deliveries from the queue (the transaction that picks and leases them), however many it found.
    func queueClaim(nanoseconds: Int64) {
        Timer(label: "jira_bridge_queue_claim_duration_seconds", factory: factory).recordNanoseconds(nanoseconds)
    }

    /// A webhook and what became of it (`accepted`, `duplicate`, `ignored`, `unauthorized`, `bad_request`, `too_large`).
    func webhook(forge: String, outcome: String) {
        Counter(label: "jira_bridge_webhooks_total", dimensions: [("forge", forge), ("outcome", outcome)], factory: factory).increment()
    }

    /// A delivery attempt's outcome (`succeeded`, `skipped`, `retry`, `failed`, `dead`).
    func delivery(action: String, outcome: String) {
        Counter(label: "jira_bridge_deliveries_total", dimensions: [("action", action), ("outcome", outcome)], factory: factory).increment()
    }

    /// One request to Jira: its site, HTTP status (or `error`) and latency.
    public func jiraRequest(site: String, status: String, nanoseconds: Int64) {
        Timer(label: "jira_bridge_jira_request_duration_seconds", dimensions: [("site", site), ("status", status)], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    /// A failure of a background loop (`planner`, `deliveries`, `heartbeat`).
    func workerFailure(loop: String) {
        Counter(label: "jira_bridge_worker_failures_total", dimensions: [("loop", loop)], factory: factory).increment()
    }

    /// Deliveries released from a lease whose holder stopped (a crashed or killed process).
    func leasesReleased(_ n: Int) {
        Counter(label: "jira_bridge_leases_released_total", factory: factory).increment(by: n)
    }

    func queueDepth(deliveries: Int, events: Int) {
        Gauge(label: "jira_bridge_queue_depth", dimensions: [("queue", "deliveries")], factory: factory).record(deliveries)
        Gauge(label: "jira_bridge_queue_depth", dimensions: [("queue", "events")], factory: factory).record(events)
    }
}
