import Foundation
import Integration

/// Where and as whom to reach Jira, taken from an integration's settings.
public struct JiraConnection: Sendable, Equatable {
    public enum Credentials: Sendable, Equatable {
        case basic(username: String, password: String)
        case bearer(token: String)
        /// No `Authorization` header: `_edge/tenant_info`, and Atlassian's token call (its secret is in the body).
        case none
    }

    /// The REST base: `api_url` when set, else `url`, with its context path.
    public var base: JiraURL
    public var credentials: Credentials

    public init(base: JiraURL, credentials: Credentials) {
        self.base = base
        self.credentials = credentials
    }

    /// The connection of `settings`, or `.invalidURL` when it has no usable URL.
    public init(settings: JiraSettings) throws(JiraError) {
        guard let text = settings.clientURL, let url = JiraURL(text) else {
            throw JiraError(kind: .invalidURL, detail: "The Jira URL is missing or not an absolute http(s) URL")
        }
        self.base = url
        let password = settings.password ?? ""
        if JiraAuthType(rawValue: settings.authType)?.isBearer == true {
            self.credentials = .bearer(token: password)
        } else {
            self.credentials = .basic(username: (settings.username ?? "").trimmingWhitespace(), password: password)
        }
    }

    /// The secret parts of the credentials, and the forms they take in a request (Basic's base64), for
    /// checking and redaction.
    public var secretTexts: [String] {
        switch credentials {
        case .basic(let username, let password):
            return [password, Data("\(username):\(password)".utf8).base64EncodedString(), username]
        case .bearer(let token):
            return [token]
        case .none:
            return []
        }
    }

    /// The site, for logs and metrics: never includes credentials.
    public var site: String { base.origin + base.contextPath }
}

/// The parts of `serverInfo` jira-bridge reads, plus the whole document.
public struct ServerInfo: Sendable, Equatable {
    public var deploymentType: String?
    public var version: String?
    public var raw: JSONValue
}

/// A Jira issue as `GET issue/{key}` returns it.
public struct JiraIssue: Sendable, Equatable {
    public var id: String
    public var key: String
    public var raw: JSONValue

    public var fields: JSONValue? { raw["fields"] }
    /// Whether Jira shows a resolution (GitLab's "already resolved" and "solved" test).
    public var isResolved: Bool {
        guard let r = fields?["resolution"] else { return false }
        return !r.isNull
    }
    /// The category key of its status (`new`, `indeterminate`, `done`), when the answer has it.
    public var statusCategoryKey: String? { fields?["status"]?["statusCategory"]?["key"]?.string }
    /// The transitions embedded by `expand=transitions`.
    public var transitions: [JiraTransition] {
        (raw["transitions"]?.array ?? []).compactMap(JiraTransition.init(json:))
    }
    /// Comments embedded in the issue's `comment` field.
    public var comments: [JiraComment] {
        (fields?["comment"]?["comments"]?.array ?? []).compactMap(JiraComment.init(json:))
    }

    /// Whether the embedded comments are all of them (Jira caps how many it embeds).
    public var hasAllComments: Bool {
        guard let total = fields?["comment"]?["total"]?.number else { return true }
        // A total that is not a sane count is not trusted: read the comments page by page.
        guard total.isFinite else { return false }
        return total <= Double(comments.count)
    }
}

public struct JiraComment: Sendable, Equatable {
    public var id: String
    public var body: String

    init?(json: JSONValue) {
        guard let id = json["id"]?.idString else { return nil }
        self.id = id
        self.body = json["body"]?.string ?? ""
    }
}

public struct JiraTransition: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `to.statusCategory.key`, e.g. `done`.
    public var targetCategoryKey: String?
    /// `to.name`: the status it leads to.
    public var targetName: String?

    init?(json: JSONValue) {
        guard let id = json["id"]?.idString else { return nil }
        self.id = id
        self.name = json["name"]?.string ?? ""
        self.targetCategoryKey = json["to"]?["statusCategory"]?["key"]?.string
        self.targetName = json["to"]?["name"]?.string
    }
}

/// A remote link on an issue, read back from `GET issue/{key}/remotelink`.
public struct RemoteLink: Sendable, Equatable {
    public var id: String
    public var globalID: String?
    public var url: String?
    public var title: String?
    public var resolved: Bool

    init?(json: JSONValue) {
        guard let id = json["id"]?.idString else { return nil }
        self.id = id
        self.globalID = json["globalId"]?.string
        self.url = json["object"]?["url"]?.string
        self.title = json["object"]?["title"]?.string
        self.resolved = json["object"]?["status"]?["resolved"]?.bool ?? false
    }
}

/// What a remote link says; sent as `POST issue/{key}/remotelink` (upsert by `globalId`).
public struct RemoteLinkRequest: Sendable, Equatable {
    public struct Object: Sendable, Equatable {
        public struct Status: Sendable, Equatable { public var resolved: Bool }
        public struct Icon: Sendable, Equatable { public var title: String; public var url16x16: String }
        public var url: String
        public var title: String
        public var status: Status
        public var icon: Icon?
    }
    public var globalId: String
    public var relationship: String
    public var object: Object

    public init(globalId: String, relationship: String, url: String, title: String, resolved: Bool, iconTitle: String? = nil, iconURL: String? = nil)
    {
        self.globalId = globalId
        self.relationship = relationship
        self.object = Object(
            url: url, title: title, status: .init(resolved: resolved),
            icon: iconURL.map { Object.Icon(title: iconTitle ?? "", url16x16: $0) })
    }

    /// The request body, in Jira's field names (no `icon` when there is none).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "url": .string(object.url), "title": .string(object.title),
            "status": .object(["resolved": .bool(object.status.resolved)]),
        ]
        if let icon = self.object.icon { object["icon"] = .object(["title": .string(icon.title), "url16x16": .string(icon.url16x16)]) }
        return .object(["globalId": .string(globalId), "relationship": .string(relationship), "object": .object(object)])
    }
}

public struct JiraIssueType: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var subtask: Bool

    init?(json: JSONValue) {
        guard let id = json["id"]?.idString else { return nil }
        self.id = id
        self.name = json["name"]?.string ?? ""
        self.description = json["description"]?.string ?? ""
        self.subtask = json["subtask"]?.bool ?? false
    }
}

public struct JiraProject: Sendable, Equatable {
    public var id: String
    public var key: String
    public var name: String
    public var issueTypes: [JiraIssueType]
}

/// A field of Jira's create screen for a project and issue type.
public struct CreateMetaField: Sendable, Equatable {
    public var fieldID: String
    public var name: String
    public var required: Bool
    public var hasDefaultValue: Bool
}

public struct CreatedIssue: Sendable, Equatable {
    public var id: String
    public var key: String
}

/// One page of search results: Server pages by `startAt` with a total; Cloud by `nextPageToken`.
public struct SearchPage: Sendable, Equatable {
    public var issues: [JSONValue]
    public var total: Int?
    public var isLast: Bool
    public var nextPageToken: String?
}
