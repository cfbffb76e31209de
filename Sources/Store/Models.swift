import Integration

/// A forge project registered with jira-bridge.
public struct Project: Sendable, Equatable {
    public var id: Int64
    public var pathWithNamespace: String
    public var name: String
    public var webURL: String
    public var defaultBranch: String
    public var groupID: Int64?
    public var hasWebhookSecret: Bool
    public var createdAt: Millis
    public var updatedAt: Millis
    /// The forge API URL saved for it (nil: the forge's default) and whether a token is saved (never the token).
    public var forgeAPIURL: String? = nil
    public var hasForgeAPIToken = false
    /// The forge's id of its webhook that calls jira-bridge (catch-up reads that hook's deliveries), if set.
    public var forgeHookID: Int64? = nil

    /// The namespace part of the path: `a/b` for `a/b/proj`, nil for a top-level project.
    public var namespacePath: String? { Namespace.of(pathWithNamespace) }

    /// The forge the project lives on (from its stored id: see `Forge.storageID`).
    public var forge: Forge { Forge.identity(storageID: id)?.forge ?? .gitlab }
    /// The forge's own id of the project (GitLab's project id, GitHub's repository id).
    public var forgeID: Int64 { Forge.identity(storageID: id)?.forgeID ?? id }
    /// The forge's own full path, without the `github:` of the stored path.
    public var forgePath: String { Forge.split(qualifiedPath: pathWithNamespace).path }
    /// How the project is named in API and page URLs: `42`, or `github:123456`.
    public var address: String { Forge.address(storageID: id) }
    /// The forge's address: the web URL without the project's path (`https://gitlab.example.com`).
    public var forgeBaseURL: String {
        let suffix = "/" + forgePath
        return webURL.hasSuffix(suffix) ? String(webURL.dropLast(suffix.count)) : webURL
    }
}

/// A namespace: the groups of a project's full path, nested to any depth.
public struct Group: Sendable, Equatable {
    public var id: Int64
    public var fullPath: String
    public var name: String
    public var parentID: Int64?
    public var hasWebhookSecret: Bool
    public var createdAt: Millis
    public var updatedAt: Millis
    /// The forge API URL saved for it and whether a token is saved (never the token).
    public var forgeAPIURL: String? = nil
    public var hasForgeAPIToken = false

    /// The forge whose namespace this is, and the forge's own path (`fullPath` is stored qualified, `github:acme`).
    public var forge: Forge { Forge.split(qualifiedPath: fullPath).forge }
    public var forgePath: String { Forge.split(qualifiedPath: fullPath).path }
}

/// A stored API token, without its secret (only its hash is stored).
public struct APIToken: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: TokenRole
    public var scope: TokenScope
    public var expiresAt: Millis?
    public var createdAt: Millis
}

/// A Jira integration at one level, its settings and where it inherits from.
public struct IntegrationRecord: Sendable, Equatable {
    public var id: Int64
    public var level: IntegrationLevel
    /// The id of the default integration this one copies ("use default settings"); nil for custom.
    public var inheritFromID: Int64?
    public var settings: JiraSettings
    public var createdAt: Millis
    public var updatedAt: Millis

    /// The same integration with other settings (what Test settings tries).
    public func with(settings: JiraSettings) -> IntegrationRecord {
        var copy = self
        copy.settings = settings
        return copy
    }
}

/// Store failures a caller can act on.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case conflict(String)
        case notFound(String)
        case corruptSecret
        case badDatabaseURL(String)
        case migrationFailed(String)
        case unreachable(String)
        case storageFull(String)
        case limitReached(String)
    }
    let code: Code

    public static func conflict(_ what: String) -> StoreError { StoreError(code: .conflict(what)) }
    public static func notFound(_ what: String) -> StoreError { StoreError(code: .notFound(what)) }
    public static let corruptSecret = StoreError(code: .corruptSecret)
    public static func badDatabaseURL(_ why: String) -> StoreError { StoreError(code: .badDatabaseURL(why)) }
    public static func migrationFailed(_ what: String) -> StoreError { StoreError(code: .migrationFailed(what)) }
    public static func unreachable(_ what: String) -> StoreError { StoreError(code: .unreachable(what)) }
    public static func storageFull(_ what: String) -> StoreError { StoreError(code: .storageFull(what)) }
    public static func limitReached(_ what: String) -> StoreError { StoreError(code: .limitReached(what)) }

    public var isConflict: Bool { if case .conflict = code { return true }; return false }
    /// A configured limit refuses the write (403: an admin may raise the limit or do it through the API).
    public var isLimitReached: Bool { if case .limitReached = code { return true }; return false }
    public var isNotFound: Bool { if case .notFound = code { return true }; return false }
    /// The database server cannot be reached (down, restarting, refusing connections).
    public var isUnreachable: Bool { if case .unreachable = code { return true }; return false }
    /// The database cannot store more: its disk is full (SQLite's SQLITE_FULL, PostgreSQL's class 53).
    public var isStorageFull: Bool { if case .storageFull = code { return true }; return false }
    /// Unreachable or full: the request may succeed later, and nothing of it was stored (503).
    public var isUnavailable: Bool { isUnreachable || isStorageFull }
    /// The 503 message for an unavailable database, without its internal details.
    public var unavailableMessage: String {
        isStorageFull ? "the database cannot store more data (its disk is full)" : "the database is not reachable"
    }

    public var description: String {
        switch code {
        case .conflict(let w): return "conflict: \(w)"
        case .notFound(let w): return "not found: \(w)"
        case .corruptSecret: return "a stored secret could not be decrypted (wrong JIRA_BRIDGE_SECRET_KEY?)"
        case .badDatabaseURL(let w): return "invalid database URL \(w)"
        case .migrationFailed(let w): return "migration failed: \(w)"
        case .unreachable(let w): return w
        case .storageFull(let w): return w
        case .limitReached(let w): return w
        }
    }
}

/// A signed-in browser: who (the admin, or an API token) and the CSRF token its forms carry.
public struct WebSession: Sendable, Equatable {
    public var idHash: String
    /// The API token the user signed in with; nil for the admin token.
    public var tokenID: Int64?
    public var isAdmin: Bool
    public var csrfToken: String
    public var createdAt: Millis
    public var expiresAt: Millis

    public init(idHash: String, tokenID: Int64?, isAdmin: Bool, csrfToken: String, createdAt: Millis, expiresAt: Millis) {
        self.idHash = idHash
        self.tokenID = tokenID
        self.isAdmin = isAdmin
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A finding kept for a project, with its state and the Jira issue created for it.
public struct VulnerabilityRecord: Sendable, Equatable {
    public var id: Int64
    public var projectID: Int64
    public var finding: SecurityReport.Finding
    /// `detected` or `resolved`.
    public var state: String
    public var commitSHA: String?
    public var createdAt: Millis
    public var updatedAt: Millis
    public var resolvedAt: Millis?
    public var issueLink: VulnerabilityIssueLink?
}

/// The Jira issue created for a vulnerability.
public struct VulnerabilityIssueLink: Sendable, Equatable {
    public var issueID: String
    public var issueKey: String
    public var webURL: String
    public var createdAt: Millis

    public init(issueID: String, issueKey: String, webURL: String, createdAt: Millis) {
        self.issueID = issueID
        self.issueKey = issueKey
        self.webURL = webURL
        self.createdAt = createdAt
    }
}

public enum IssueClaim: Sendable, Equatable {
    case claimed
    /// A claim older than `staleAfter` was taken over: an earlier attempt may have created the issue.
    case reclaimed
    case created(VulnerabilityIssueLink)
    case inProgress(since: Millis)
}

public struct VulnerabilityFilter: Sendable, Equatable {
    public var severities: [String] = []
    public var states: [String] = []
    /// A report type or a scanner id.
    public var scanner: String?
    public init() {}
}

public struct IngestResult: Sendable, Equatable {
    public var vulnerabilityIDs: [Int64]
    public var created: Int
    public var updated: Int
    public var resolved: Int
}
