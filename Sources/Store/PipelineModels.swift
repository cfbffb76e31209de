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
}
