import Integration

/// A webhook delivery to store: the normalised event and where it came from.
public struct IncomingEvent: Sendable {
    public var forge: String
    /// The forge's redelivery identity (`Idempotency-Key`, `X-Gitlab-Event-UUID`, `X-GitHub-Delivery`).
    public var deliveryKey: String?
    public var event: ForgeEvent

    public init(forge: String, deliveryKey: String?, event: ForgeEvent) {
        self.forge = forge
        self.deliveryKey = deliveryKey
        self.event = event
    }
}

/// A stored event waiting to be planned.
public struct StoredEvent: Sendable {
    public var id: String
    public var projectID: Int64
    public var event: ForgeEvent
}

/// A delivery to insert: a planned Jira action for one project's event.
public struct NewDelivery: Sendable {
    public var eventID: String
    public var projectID: Int64
    public var site: String
    public var planned: PlannedDelivery

    public init(eventID: String, projectID: Int64, site: String, planned: PlannedDelivery) {
        self.eventID = eventID
        self.projectID = projectID
        self.site = site
        self.planned = planned
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
    /// `succeeded`, `skipped`, `retry`, `failed` or `dead` (`DeliveryOutcome.name`).
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
