import Foundation

/// Which Jira product the emulator pretends to be.
public enum EmulatedDeployment: String, Sendable {
    case server, cloud
}

/// A Jira user the emulator knows, and the credentials it accepts for them.
public struct EmulatedUser: Sendable, Equatable {
    public var name: String
    public var email: String
    public var displayName: String
    public var accountId: String
    /// The password (Server) or API token (Cloud) accepted with Basic auth.
    public var password: String
    /// A personal access token accepted as `Bearer` (Server only).
    public var personalAccessToken: String?
    /// A service account's scoped API token, accepted as `Bearer` through Atlassian's gateway only (Cloud).
    public var serviceAccountToken: String?
    /// Atlassian's API tokens expire: after this many more requests that authenticate as this user, every
    /// credential of the user is refused with 401 until a new one is set (nil: never).
    public var requestsUntilExpiry: Int? = nil

    public init(name: String, email: String, displayName: String, accountId: String, password: String, personalAccessToken: String? = nil) {
        self.name = name
        self.email = email
        self.displayName = displayName
        self.accountId = accountId
        self.password = password
        self.personalAccessToken = personalAccessToken
    }
}

/// A status and its category (`new`, `indeterminate`, `done`).
public struct EmulatedStatus: Sendable, Equatable {
    public var id: String
    public var name: String
    public var categoryKey: String
    public var categoryID: Int
    public var categoryName: String
}

/// A workflow transition into a status.
public struct EmulatedTransition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var toStatusID: String
    /// The statuses it is offered from; nil: from every other status.
    public var from: [String]? = nil
    /// Fields its screen requires (`resolution`): a request without them is refused, as Jira refuses it.
    public var requiredFields: [String] = []
}

public struct EmulatedIssueType: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var subtask: Bool
}

public struct EmulatedProject: Sendable, Equatable {
    public var id: String
    public var key: String
    public var name: String
    /// Fields `POST issue` must carry, e.g. `components` ("Components is required.").
    public var requiredFields: [String]
    /// Its workflow: `default` (To Do, In Progress, Done, each reachable from the others) or `review` (Start
    /// Progress, Send to Review, Approve, Reopen, each from one status, and Resolve Issue with a screen).
    public var workflow: String = "default"
}

/// Work logged on an issue: the duration as sent, in seconds as Jira counts it (a day of 8 hours, a week of 5
/// days, the defaults of time tracking), and its comment.
public struct EmulatedWorklog: Sendable, Equatable {
    public var id: String
    public var timeSpent: String
    public var timeSpentSeconds: Int
    public var comment: String
    public var author: String
}

public struct EmulatedComment: Sendable, Equatable {
    public var id: String
    public var body: String
    public var author: String
    public var created: Date
}

public struct EmulatedRemoteLink: Sendable, Equatable {
    public var id: Int
    public var globalId: String?
    public var relationship: String?
    /// The whole `object` document as sent.
    public var objectJSON: Data
}

public struct EmulatedIssue: Sendable, Equatable {
    public var id: String
    public var key: String
    public var projectKey: String
    public var summary: String
    public var description: String?
    public var issueTypeID: String
    public var statusID: String
    public var resolution: String?
    public var resolutionDate: Date?
    public var labels: [String]
    public var reporter: String?
    public var assignee: String?
    public var created: Date
    public var updated: Date
    public var comments: [EmulatedComment] = []
    public var remoteLinks: [EmulatedRemoteLink] = []
    public var worklogs: [EmulatedWorklog] = []
    /// Extra fields sent on create (custom fields, components), kept as JSON.
    public var extraFields: Data?
    /// The HTML Jira's renderer gives for the description; by default the escaped text in a paragraph.
    /// Tests set hostile HTML here to check what jira-bridge does with it.
    public var renderedDescription: String?
}

/// A fault to inject: the next `times` matching requests get it.
public struct EmulatedFault: Sendable, Equatable {
    public var method: String?
    /// Matches when the request path (after the context path) contains this text.
    public var pathContains: String?
    public var status: Int?
    public var retryAfter: Int?
    public var delayMilliseconds: Int
    public var dropConnection: Bool
    public var times: Int
    /// A JSON error body to send with `status`; a Jira-shaped one is made when nil.
    public var body: String?
    /// Carry the request out as usual, then wait this long before answering (a write Jira finishes but
    /// answers late, past the client's timeout).
    public var delayAfterMilliseconds: Int = 0
    /// Send the answer one byte per this many milliseconds (a Jira that trickles its body).
    public var trickleMilliseconds: Int = 0
    /// How many matching requests pass untouched before the fault applies.
    public var after: Int = 0
    /// Answer 200 with a JSON body of this many bytes (an answer larger than the client reads).
    public var oversizeBytes: Int = 0
    /// More headers on the fault's answer (`X-RateLimit-Reset`, `RateLimit-Reason`, ...).
    public var headers: [String: String] = [:]

    public init(
        method: String? = nil, pathContains: String? = nil, status: Int? = nil, retryAfter: Int? = nil,
        delayMilliseconds: Int = 0, dropConnection: Bool = false, times: Int = 1, body: String? = nil
    ) {
        self.method = method
        self.pathContains = pathContains
        self.status = status
        self.retryAfter = retryAfter
        self.delayMilliseconds = delayMilliseconds
        self.dropConnection = dropConnection
        self.times = times
        self.body = body
    }
}

/// One request the emulator received, as the contract check reads it.
public struct RecordedRequest: Sendable, Equatable, Codable {
    public var method: String
    public var path: String
    public var query: String
    public var contentType: String?
    public var authScheme: String?
    public var body: String?
    public var status: Int
    public var deployment: String
    /// When the request arrived, in microseconds since 1970 (wall clock): benchmarks measure from a webhook to it.
    public var receivedAt: Int64 = 0
    /// The W3C `traceparent` header, when the caller traces (OpenTelemetry).
    public var traceparent: String? = nil
}
