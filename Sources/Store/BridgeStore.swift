import Integration

/// Everything jira-bridge keeps, as one type: the protocols below, one per kind of user (the API and pages'
/// settings, webhook intake, the planner, the delivery queue and its runner, the delivery log, the holds,
/// retention and vulnerabilities). The pipeline's services, the use-case services, intake and the commands
/// depend on the protocols they use (the delivery worker on `QueueStore`, the planner on `PlannerStore` and
/// `IntegrationStore`, ...); the API controllers and pages, which reach most of it, take the sum. The store's
/// concurrency plumbing (the bells that wake the pipeline, PostgreSQL's client and listener as services, the
/// serving lock) is not a query, and lives on `SQLStore` itself.
///
/// SQLite and PostgreSQL run the same queries (`SQLStore`), so implementations keep to portable SQL.
public protocol BridgeStore: ProjectStore, AccessStore, IntegrationStore, IntakeStore, PlannerStore, QueueStore, DeliveryLogStore,
    HoldStore, RetentionStore, VulnerabilityStore
{
    /// The one clock of the process: rows, token expiry, sessions and the queue all read it.
    var clock: WallClock { get }
    /// Applies pending migrations. Safe to call on every start.
    func migrate() async throws
    /// Closes the database's connections (at the end of a command).
    func close() async
    /// Answers when the database takes a write (readiness).
    func ping() async throws
    /// Why the database file is not the one opened (deleted or replaced), or nil; always nil on PostgreSQL.
    func databaseFileProblem() -> String?
}

/// What every part of the store shares: the one clock of the process, which rows, token expiry, sessions
/// and the queue all read.
public protocol TimedStore: Sendable {
    var clock: WallClock { get }
}

/// Projects, groups and their webhook secrets: registration, lookups, listings, and the chains of levels
/// an integration is inherited through.
public protocol ProjectStore: TimedStore {
    /// Registers a project, creating its groups as needed; an existing id is updated in place.
    func registerProject(_ registration: ProjectRegistration) async throws -> Project
    func project(id: Int64) async throws -> Project?
    func project(path: String) async throws -> Project?
    /// Creates a group and any missing parents; an existing path is returned unchanged (name updated).
    func ensureGroup(fullPath: String, name: String?) async throws -> Group
    func group(id: Int64) async throws -> Group?
    func group(path: String) async throws -> Group?
    /// One page of what a token of `scope` reaches: every project (instance), a group's subtree, or the one
    /// project; ordered by path. The total counts the whole list.
    func projects(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<Project>
    func groups(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<Group>
    /// The tokens scoped inside `scope` (a group's own, its subgroups' and their projects'), by id.
    func tokens(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<APIToken>
    /// Sets (or, with nil, removes) the webhook secret of a project or group; stored encrypted. The secret it
    /// replaces stays valid for `WebhookSecrets.rotationGraceMillis`.
    func setWebhookSecret(_ secret: String?, for owner: TokenScope) async throws
    /// Sets a project's or group's forge API URL (nil: the forge's default) and token (nil: none); either
    /// argument left out (`.keep`) stays as it is. The token is stored encrypted.
    func setForgeAPI(url: ForgeAPISetting, token: ForgeAPISetting, for owner: TokenScope) async throws
    /// What a project or group has saved for the forge API: its URL and whether a token is set (never the token).
    func forgeAPI(for owner: TokenScope) async throws -> (url: String?, tokenSet: Bool)
    /// The forge API access that serves the levels of `chain`: the nearest level with a token, with its URL
    /// (nil: the forge's default) and that level, and the token decrypted; nil when no level has one.
    func forgeAPIAccess(on chain: AncestorChain) async throws -> (url: String?, token: String, level: IntegrationLevel)?
    /// Sets (nil: clears) the forge's id of the project's webhook, which catch-up reads.
    func setForgeHookID(_ id: Int64?, projectID: Int64) async throws
    /// When the project's latest webhook event was received (those retention kept), or nil.
    func lastEventReceived(projectID: Int64) async throws -> Millis?
    /// Ends the validity of the replaced secret at once (`"previous_webhook_secret": null`).
    func clearPreviousWebhookSecret(for owner: TokenScope) async throws
    func webhookSecret(for owner: TokenScope) async throws -> String?
    /// Whether any project or group has this webhook secret (by its keyed fingerprint): the check made
    /// before a webhook's body is read.
    func isKnownWebhookSecret(_ presented: String) async throws -> Bool
    /// Where a registered project or group sits (the core's `AncestorChain`); nil when it is unknown.
    func ancestorChain(of level: IntegrationLevel) async throws -> AncestorChain?
    /// The chain of a project not registered yet: the registered groups of its path's namespaces.
    func namespaceChain(path: String) async throws -> AncestorChain
    /// The webhook secrets accepted on the levels of `chain`, decrypted: each level's current secret, then
    /// its previous one while that is still valid.
    func webhookSecrets(on chain: AncestorChain) async throws -> [IntegrationLevel: [String]]

}

/// API tokens and web sessions.
public protocol AccessStore: TimedStore {
    /// Stores a token by the hash of its secret.
    func createToken(name: String, role: TokenRole, scope: TokenScope, expiresAt: Millis?, secretHash: String) async throws -> APIToken
    func token(secretHash: String) async throws -> APIToken?
    func tokens() async throws -> [APIToken]
    func deleteToken(id: Int64) async throws -> Bool
    func token(id: Int64) async throws -> APIToken?

    // MARK: Web sessions
    /// Stores a sign-in session by the hash of its cookie value (and drops expired ones).
    func createSession(_ session: WebSession) async throws
    /// The session with this hash, if it has not expired.
    func session(idHash: String, now: Millis) async throws -> WebSession?
    func deleteSession(idHash: String) async throws

}

/// Jira integration settings at the instance, group and project levels.
public protocol IntegrationStore: TimedStore {
    //
    // A project or group integration either has custom settings or uses the nearest default: the closest
    // ancestor group whose integration has custom settings, else the instance's. An inheriting integration
    // stores no settings; they are resolved from its default whenever it is read, so a change of a default
    // reaches every integration below it at once and nothing can disagree with it.

    /// The integration at `level` with its effective settings (an inheriting one shows its default's,
    /// with `inheritFromID` set to the default's id).
    func integration(at level: IntegrationLevel) async throws -> IntegrationRecord?
    /// The default a project or group would use: the nearest custom ancestor group's, else the instance's.
    func nearestDefault(for level: IntegrationLevel) async throws -> IntegrationRecord?
    /// Saves custom settings at `level`. Saving an active group or instance default also gives every project
    /// and group below it that has no integration an inheriting one, in the same transaction.
    func saveIntegration(at level: IntegrationLevel, settings: JiraSettings) async throws -> IntegrationRecord
    /// Switches the project or group integration at `level` to its nearest default (creating it if needed);
    /// nil, changing nothing, when there is no default.
    func inheritIntegration(at level: IntegrationLevel) async throws -> IntegrationRecord?
    /// Removes the integration at `level`; true if there was one. Removing a default also removes the
    /// inheriting integrations that are left without any default; the others now resolve to the next one up.
    func deleteIntegration(at level: IntegrationLevel) async throws -> Bool
    /// Projects below the group or instance default at `level` that use custom settings, by project id.
    func overrides(
        of level: IntegrationLevel, limit: Int, offset: Int
    ) async throws -> (items: [(project: Project, integration: IntegrationRecord)], total: Int)
}

/// Security findings and the Jira issues created for them.
public protocol VulnerabilityStore: TimedStore {
    /// Stores a report's findings in one transaction: new fingerprints are created, known ones updated (and
    /// detected again if they were resolved), and detected findings of the same report type and scanners
    /// that the report no longer has are marked resolved.
    func ingest(projectID: Int64, report: SecurityReport.Parsed, commit: String?, now: Millis) async throws -> IngestResult
    func vulnerabilities(
        projectID: Int64, filter: VulnerabilityFilter, limit: Int, offset: Int
    ) async throws -> (items: [VulnerabilityRecord], total: Int)
    func vulnerability(projectID: Int64, id: Int64) async throws -> VulnerabilityRecord?
    /// Claims the creation of a vulnerability's Jira issue: `.claimed` (go ahead), `.created` (an issue
    /// exists), or `.inProgress` (another request holds the claim, since `since`).
    func claimIssueCreation(vulnerabilityID: Int64, staleAfter: Int64, now: Millis) async throws -> IssueClaim
    func completeIssueCreation(vulnerabilityID: Int64, link: VulnerabilityIssueLink, now: Millis) async throws
    /// Drops the claim or the stored link (Jira failed, or the issue no longer exists).
    func removeIssueLink(vulnerabilityID: Int64) async throws
}

/// An event that reached a limit (`note`) or could not be planned (`status` failed, `error`).
/// One page of a list and the length of the whole list.
public struct Listed<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public init(items: [Item], total: Int) {
        self.items = items
        self.total = total
    }
}

/// One webhook event of a project's event log: what it planned (`deliveries`: the deliveries stored for it) or why
/// it planned nothing (`note`), or why its planning failed (`error`).
public struct EventNote: Sendable, Equatable {
    public var id: String
    public var forge: String
    public var kind: String
    public var status: String
    public var attempts: Int
    public var note: String?
    public var error: String?
    public var receivedAt: Millis
    public var plannedAt: Millis?
    public var deliveries: Int

    public init(
        id: String, forge: String = "gitlab", kind: String, status: String, attempts: Int, note: String?, error: String?, receivedAt: Millis,
        plannedAt: Millis? = nil, deliveries: Int = 0
    ) {
        self.id = id
        self.forge = forge
        self.kind = kind
        self.status = status
        self.attempts = attempts
        self.note = note
        self.error = error
        self.receivedAt = receivedAt
        self.plannedAt = plannedAt
        self.deliveries = deliveries
    }

    /// The prefix of the note of an event that planned nothing (`EventPlanner.whyNothing`).
    public static let nothingPlanned = "nothing planned:"
}

/// An event's planning result: its deliveries, and notes on the limits it reached (kept with the event).
public struct PlannedEvent: Sendable {
    public var eventID: String
    public var deliveries: [NewDelivery]
    public var notes: [String]

    public init(eventID: String, deliveries: [NewDelivery], notes: [String] = []) {
        self.eventID = eventID
        self.deliveries = deliveries
        self.notes = notes
    }
}

/// Webhook intake: the durable record of each event, before it is answered.
public protocol IntakeStore: TimedStore {
    /// Stores events (registering unknown projects) in one transaction (group commit); each gets its own
    /// result. A redelivery with a known delivery key returns the first event's id with `duplicate: true`
    /// and stores nothing.
    func recordEvents(
        _ batch: [(incoming: IncomingEvent, registration: ProjectRegistration)]
    ) async throws
        -> [Result<(id: String, duplicate: Bool), StoreError>]

    /// How many intake transactions may be in flight at once. SQLite writes one at a time anyway; PostgreSQL
    /// runs a batch while another waits for its WAL flush, and flushes their commits together.
    var concurrentIntakeCommits: Int { get }
}

extension IntakeStore {
    public var concurrentIntakeCommits: Int { 1 }
}

/// The planner: leases recorded events, and turns them into deliveries.
public protocol PlannerStore: TimedStore {
    /// Leases up to `limit` events waiting to be planned (or whose lease expired).
    func claimEvents(limit: Int, leaseMillis: Int64, now: Millis) async throws -> [StoredEvent]
    /// Inserts the planned deliveries (each at most once per site, issue and dedupe key) and marks the events
    /// planned, in one transaction. Returns how many deliveries were new.
    func finishPlanning(batch: [PlannedEvent], now: Millis) async throws -> Int
    /// Marks an event failed with the reason (planning it cannot succeed).
    func failEvent(id: String, error: String) async throws
}

/// The delivery queue: claims and leases, the workers' heartbeats, outcomes, and the queue's state for
/// readiness and the metrics.
public protocol QueueStore: TimedStore {
    /// The claim step of the queue, in one place: leases runnable deliveries, at most one per Jira issue and
    /// at most `perSiteLimit` running per Jira site (live leases only), taking sites in turn so that one
    /// site's backlog never hides another's work. `siteLimits` lowers the limit of some sites (the adaptive
    /// limit after Jira's 429s); a site or issue under a rate-limit hold is not claimed before the hold ends.
    /// Claims the pending, due deliveries of `site` and `issueKey` with `action`, oldest first, at most
    /// `limit`: those waiting behind one that runs, to go in the same request (development information).
    func claimWaiting(
        site: String, issueKey: String, action: DeliveryAction, owner: String, limit: Int, leaseMillis: Int64, now: Millis
    ) async throws -> [Delivery]
    /// Inserts deliveries that no webhook event planned (a backfill's first page), each at most once per site,
    /// issue and dedupe key, and wakes the workers. Returns how many were new.
    func enqueue(_ deliveries: [NewDelivery], now: Millis) async throws -> Int
    /// Puts deliveries this owner claimed back to pending, as if they had not been claimed.
    func unclaim(ids: [Int64], owner: String) async throws
    func claimDeliveries(
        owner: String, limit: Int, perSiteLimit: Int, siteLimits: [String: Int], leaseMillis: Int64,
        now: Millis
    ) async throws -> [Delivery]
    /// Registers a worker (one process's queue consumer). With `takeOver`, the caller is the only process on
    /// the database (it holds the process lock): every lease of another worker is released at once, and
    /// events being planned go back to pending. Returns how many deliveries were released.
    func registerWorker(id: String, now: Millis, takeOver: Bool) async throws -> Int
    /// The worker's heartbeat: renews the leases of the deliveries it is running now (`running`) to
    /// `now + leaseMillis`, releases the work of workers whose heartbeat is older than `staleAfterMillis`, and
    /// leases that ran out: another worker's, or its own for a delivery it no longer runs (one whose outcome it
    /// could not record). Returns how many it released.
    func heartbeat(worker: String, running: [Int64], leaseMillis: Int64, staleAfterMillis: Int64, now: Millis) async throws -> Int
    /// Releases the worker's leases and forgets it (a clean shutdown).
    func unregisterWorker(id: String) async throws
    /// Records an attempt's outcome (if `owner` still holds the lease), inserts follow-up deliveries and writes
    /// the outcome's `effects` (a credentials or rate-limit hold, or the end of a credentials hold), in one
    /// transaction.
    func completeDelivery(
        id: Int64, owner: String, outcome: DeliveryOutcome, followUps: [NewDelivery], effects: DeliveryEffects,
        now: Millis) async throws
    /// Saves a running delivery's progress (e.g. transitions already applied).
    func updateDeliveryWork(id: Int64, owner: String, work: DeliveryWork, now: Millis) async throws
    /// Deliveries not yet finished, and events not yet planned.
    func queueDepth() async throws -> (deliveries: Int, events: Int)
    /// The creation time of the oldest pending or running delivery of each Jira site that has one.
    func oldestUnfinished() async throws -> [(site: String, createdAt: Millis)]
    /// Why the queue looks stuck, or nil: a delivery running (claimed) for longer than `bound`, or one due for
    /// longer than `bound` on a site where nothing runs and no rate limit holds (readiness, with free slots).
    func stuckQueue(now: Millis, bound: Millis) async throws -> String?
}

/// The delivery log: what each project's events did, and retrying what failed.
public protocol DeliveryLogStore: TimedStore {
    /// A project's deliveries that match `filter`, newest first.
    func deliveries(projectID: Int64, filter: DeliveryFilter, limit: Int, offset: Int) async throws -> (items: [Delivery], total: Int)
    /// The finished attempts of these deliveries, oldest first (at most the last 20 of each).
    func attempts(deliveryIDs: [Int64]) async throws -> [Int64: [DeliveryAttempt]]
    /// Events of a project that reached a limit or failed planning, newest first: what the delivery log
    /// shows beside the deliveries, so nothing an event did not do goes unsaid.
    /// The project's events, newest first; `notedOnly`: only those that reached a limit or failed to plan.
    func eventLog(projectID: Int64, notedOnly: Bool, limit: Int, offset: Int) async throws -> (items: [EventNote], total: Int)
    func delivery(id: Int64) async throws -> Delivery?
    /// Requeues a failed, dead or paused delivery; nil if there is none in such a state.
    func retryDelivery(id: Int64, now: Millis) async throws -> Delivery?
    /// Requeues at most `limit` failed or dead deliveries of a project with ids above `after`, in id order (one
    /// transaction); returns how many and the last id, for the next batch.
    func retryFailedDeliveries(projectID: Int64, after: Int64, limit: Int, now: Millis) async throws -> (count: Int, lastID: Int64)
    /// The latest deliveries of `action` (newest first) of the projects in `scope` (a project, a group's
    /// subtree, or every project), at most `limit`.
    func recentDeliveries(action: DeliveryAction, scope: TokenScope, limit: Int) async throws -> [Delivery]
    /// Runs finished deliveries again at once (succeeded, skipped, failed or dead ones; pending, running and paused
    /// ones are left as they are). Returns how many.
    func runAgain(ids: [Int64], now: Millis) async throws -> Int
    /// How many deliveries of a project are in each status.
    func deliveryCounts(projectID: Int64) async throws -> [String: Int]
    /// When a delivery of each of `actions` last succeeded for a project (those within the retention period).
    func lastSucceeded(projectID: Int64, actions: [DeliveryAction]) async throws -> [DeliveryAction: Millis]
    /// A project's pending and running deliveries plus its webhook events not planned yet.
    func unfinishedWork(projectID: Int64) async throws -> Int
}

/// Holds: rejected credentials and rate limits.
public protocol HoldStore: TimedStore {
    /// The name under which the queue holds the credentials `record` sends (its own, or its default's).
    func credentialsKey(_ record: IntegrationRecord) -> CredentialsKey
    /// The same for the OAuth credentials of Jira Cloud's development information (a hold of their own:
    /// a refused client secret pauses only what uses it).
    func oauthCredentialsKey(_ record: IntegrationRecord) -> CredentialsKey
    /// The rejection of these credentials in force (not being resumed), if any.
    func credentialHold(key: String) async throws -> CredentialHold?
    /// The rejections in force of the credentials these integrations hold.
    func credentialHolds(integrationIDs: [Int64]) async throws -> [CredentialHold]
    /// What a delivery reads before it runs, in one read: its project's integration (as `integration(at:)`
    /// gives it; nil when there is none) and the rejections in force of the credentials it uses.
    func integrationWithHolds(projectID: Int64) async throws -> (record: IntegrationRecord, holds: [CredentialHold])?
    /// Every rejection in force, for the metrics.
    func credentialHolds() async throws -> [CredentialHold]
    /// Ends the rejections of the credentials of integration `integrationID` (new ones were saved, or Jira
    /// accepted them) and requeues their paused deliveries; with `projectID`, also every paused delivery of that
    /// project (it now uses other credentials). Requeues in batches of 1000, one transaction each; returns how
    /// many it requeued.
    func resumePaused(integrationID: Int64?, projectID: Int64?, now: Millis) async throws -> Int
    /// Finishes resumptions a stopped process left halfway, and makes dead the paused deliveries created before
    /// `deadBefore` (the retry deadline); at most `limit` of each. Returns how many were requeued and made dead.
    func sweepPaused(deadBefore: Millis, limit: Int, now: Millis) async throws -> (resumed: Int, dead: Int)
    /// Paused deliveries per Jira site.
    func pausedDeliveries() async throws -> [String: Int]
    /// The rate-limit holds in force, for the pages and the metrics.
    func rateLimitHolds(now: Millis) async throws -> [RateLimitHold]

}

/// Retention of finished work.
public protocol RetentionStore: TimedStore {
    /// Retention: removes at most `limit` succeeded or skipped deliveries last changed before `before`, then at
    /// most `limit` planned events received before it that no delivery points at any more (with their
    /// payloads). Failed and dead deliveries, and the events they came from, stay. One transaction.
    func prune(before: Millis, limit: Int) async throws -> (deliveries: Int, events: Int)
}

extension QueueStore {
    public func claimDeliveries(owner: String, limit: Int, perSiteLimit: Int, leaseMillis: Int64, now: Millis) async throws -> [Delivery] {
        try await claimDeliveries(owner: owner, limit: limit, perSiteLimit: perSiteLimit, siteLimits: [:], leaseMillis: leaseMillis, now: now)
    }

    /// An outcome with no effects beyond its own delivery.
    public func completeDelivery(id: Int64, owner: String, outcome: DeliveryOutcome, followUps: [NewDelivery], now: Millis) async throws {
        try await completeDelivery(id: id, owner: owner, outcome: outcome, followUps: followUps, effects: .none, now: now)
    }
}

extension DeliveryLogStore {
    public func deliveries(projectID: Int64, limit: Int, offset: Int) async throws -> (items: [Delivery], total: Int) {
        try await deliveries(projectID: projectID, filter: .all, limit: limit, offset: offset)
    }

    /// Requeues every failed or dead delivery of a project, 500 per transaction so intake never waits long.
    public func retryAllFailedDeliveries(projectID: Int64, now: Millis) async throws -> Int {
        var total = 0
        var after: Int64 = 0
        while true {
            let batch = try await retryFailedDeliveries(projectID: projectID, after: after, limit: 500, now: now)
            total += batch.count
            if batch.count < 500 { return total }
            after = batch.lastID
        }
    }
}
