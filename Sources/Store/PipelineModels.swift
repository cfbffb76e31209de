import Integration

/// A webhook delivery to store: the normalised event and where it came from.
public struct IncomingEvent: Sendable {
    /// The forge's redelivery identity (`Idempotency-Key`, `X-Gitlab-Event-UUID`, `X-GitHub-Delivery`).
    public var deliveryKey: String?
    public var event: ForgeEvent
    /// The W3C `traceparent` of the span that took the webhook in, when tracing is on: planning continues its trace.
    public var traceContext: String? = nil
    /// The forge it came from: its project's (one `Forge` from webhook to row).
    public var forge: Forge { event.project.forge }

    public init(deliveryKey: String?, event: ForgeEvent, traceContext: String? = nil) {
        self.deliveryKey = deliveryKey
        self.event = event
        self.traceContext = traceContext
    }
}

/// A stored event waiting to be planned.
public struct StoredEvent: Sendable {
    public var id: String
    public var projectID: Int64
    public var event: ForgeEvent
    /// The intake's `traceparent` (`IncomingEvent.traceContext`).
    public var traceContext: String? = nil
}

/// A delivery to insert: a planned Jira action for one project's event.
public struct NewDelivery: Sendable {
    public var eventID: String
    public var projectID: Int64
    public var site: String
    public var planned: PlannedDelivery
    /// The planning span's `traceparent`: the delivery's span continues its trace.
    public var traceContext: String? = nil

    public init(eventID: String, projectID: Int64, site: String, planned: PlannedDelivery, traceContext: String? = nil) {
        self.eventID = eventID
        self.projectID = projectID
        self.site = site
        self.planned = planned
        self.traceContext = traceContext
    }
}

/// One Jira action with its attempts: a row of the delivery log and a job of the queue.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var eventID: String
    public var projectID: Int64
    public var site: String
    public var issueKey: String
    public var action: DeliveryAction
    public var work: DeliveryWork
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextRunAt: Millis
    public var lastError: String?
    public var createdAt: Millis
    public var updatedAt: Millis
    /// What makes it unique per site and issue (`PlannedDelivery.dedupeKey`); it names the commit or merge request.
    public var dedupeKey: String = ""
    /// While paused: the credentials whose rejection it waits on (`CredentialHold.key`).
    public var holdKey: String? = nil
    /// The `traceparent` its planning left (`NewDelivery.traceContext`).
    public var traceContext: String? = nil

    /// The web address of the commit or merge request this delivery came from, if it names one.
    public var sourceURL: String? {
        if case .remoteLink(let spec) = work { return spec.url }
        guard let bar = dedupeKey.firstIndex(of: "|") else { return nil }
        let url = dedupeKey[dedupeKey.index(after: bar)...]
        return url.hasPrefix("https://") || url.hasPrefix("http://") ? String(url) : nil
    }
}

/// Which deliveries of a project a list shows: all, or those of one status, one Jira issue, or both.
public struct DeliveryFilter: Sendable, Equatable {
    public var status: DeliveryStatus?
    public var issueKey: String?

    public init(status: DeliveryStatus? = nil, issueKey: String? = nil) {
        self.status = status
        self.issueKey = issueKey
    }

    public static let all = DeliveryFilter()
}

/// One finished attempt of a delivery: when it ended, how, and Jira's error if it failed.
public struct DeliveryAttempt: Sendable, Equatable {
    public var deliveryID: Int64
    public var number: Int
    public var finishedAt: Millis
    /// `succeeded`, `skipped`, `retry`, `failed`, `dead` or `paused` (`DeliveryOutcome.name`).
    public var outcome: String
    public var error: String?

    public init(deliveryID: Int64, number: Int, finishedAt: Millis, outcome: String, error: String?) {
        self.deliveryID = deliveryID
        self.number = number
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.error = error
    }
}

/// The credentials one integration sends to Jira, as the queue names them: the integration that holds them
/// (a project's own, or the group or instance default it uses) and a keyed fingerprint of the values, so a
/// change of any of them is a new key and the secret itself is never stored twice.
public struct CredentialsKey: Sendable, Equatable, Hashable {
    public var key: String
    public var integrationID: Int64

    public init(key: String, integrationID: Int64) {
        self.key = key
        self.integrationID = integrationID
    }
}

/// Jira rejected a set of credentials (401): since when, on which site, with what answer. The deliveries that
/// use them wait paused until new credentials are saved or a Test settings succeeds.
public struct CredentialHold: Sendable, Equatable {
    public var key: String
    public var integrationID: Int64
    public var site: String
    public var since: Millis
    public var error: String?

    public init(key: String, integrationID: Int64, site: String, since: Millis, error: String?) {
        self.key = key
        self.integrationID = integrationID
        self.site = site
        self.since = since
        self.error = error
    }
}

/// What an attempt's outcome changes beyond its own delivery, written in the same transaction.
public struct DeliveryEffects: Sendable, Equatable {
    /// Jira rejected these credentials: the (paused) delivery waits on them, and so does every other that uses them.
    public var credentialsRejected: CredentialHold?
    /// Jira accepted the credentials of this integration: any rejection of them is over, and its deliveries resume.
    public var credentialsAccepted: Int64?
    /// Jira asked for a wait: nothing more of the site (or the issue) is claimed before it ends.
    public var rateLimit: RateLimitHold?

    public init(credentialsRejected: CredentialHold? = nil, credentialsAccepted: Int64? = nil, rateLimit: RateLimitHold? = nil) {
        self.credentialsRejected = credentialsRejected
        self.credentialsAccepted = credentialsAccepted
        self.rateLimit = rateLimit
    }

    public static let none = DeliveryEffects()
}
