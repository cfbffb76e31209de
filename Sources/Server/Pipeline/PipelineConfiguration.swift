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
    /// At start, queue a catch-up for the projects that can have one (`CatchUpService.onStart`).
    public var catchUpOnStart = true
    /// How the loops wait: real time, or a test's clock (the wall time comes from the store's `WallClock`,
    /// which a test sets from the same clock).
    public var sleeper: Sleeper = .system

    public init(
        retryPolicy: RetryPolicy = RetryPolicy(), concurrency: Int = 32, perSiteLimit: Int = 4,
        pollInterval: Duration = .milliseconds(50), deliveryLeaseMillis: Int64 = 15_000, eventLeaseMillis: Int64 = 10_000,
        heartbeatInterval: Duration = .seconds(2), staleWorkerMillis: Int64 = 6_000, takeOverLeases: Bool = false
    ) {
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
