/// How jira-bridge authenticates to Jira: GitLab's `jira_auth_type`.
public enum JiraAuthType: Int, Sendable, Codable, Equatable {
    /// Basic auth: username (or email on Cloud) and password (or API token).
    case basic = 0
    /// A Jira Server/Data Center personal access token, sent as `Authorization: Bearer`.
    case personalAccessToken = 1
    /// A Jira Cloud service account (GitLab 18.x, MR !224187): its scoped API token, in `password`, sent as
    /// `Authorization: Bearer` to Atlassian's gateway, `api_url` = `https://api.atlassian.com/ex/jira/{cloudId}`;
    /// no username.
    case serviceAccount = 2

    /// Whether the token goes as `Bearer` (no username).
    public var isBearer: Bool { self != .basic }
}

/// Which Jira product answers at the integration's URL, as GitLab detects it on save.
public enum JiraDeploymentType: String, Sendable, Codable, Equatable {
    case unknown
    case server
    case cloud
}

/// The level an integration lives at: the instance default, a group default, or a project.
public enum IntegrationLevel: Sendable, Equatable, Hashable {
    case instance
    case group(Int64)
    case project(Int64)
}

/// Every setting of a Jira integration, with GitLab's defaults.
///
/// The password is held in clear only in memory; the store encrypts it and the API never returns it.
public struct JiraSettings: Sendable, Equatable {
    public var active: Bool = false
    public var url: String? = nil
    public var apiURL: String? = nil
    public var authType: Int = JiraAuthType.basic.rawValue
    public var username: String? = nil
    public var password: String? = nil
    public var issuePrefix: String = ""
    public var issueRegex: String = ""
    public var transitionAutomatic: Bool = false
    public var transitionID: String = ""
    public var commitEvents: Bool = true
    public var mergeRequestsEvents: Bool = true
    public var commentOnEventEnabled: Bool = true
    public var issuesEnabled: Bool = false
    public var projectKeys: [String] = []
    public var projectKey: String? = nil
    public var vulnerabilitiesEnabled: Bool = false
    public var vulnerabilitiesIssueType: String? = nil
    public var customizeJiraIssueEnabled: Bool = false
    /// Beyond GitLab: extra Jira fields sent when an issue is created from a vulnerability, as a JSON
    /// object of field ids and values (`{"components": [{"name": "Backend"}]}`); empty for none.
    public var vulnerabilitiesExtraFields: String = ""
    public var deploymentType: JiraDeploymentType = .unknown
    /// Beyond GitLab (Jira Cloud only): commits, branches and merge/pull requests go to the issue's
    /// Development panel, through OAuth credentials for self-hosted tools.
    public var developmentPanelEnabled: Bool = false
    /// Pipelines and workflow runs go to Jira's Builds.
    public var buildsEnabled: Bool = false
    /// Deployments go to Jira's Deployments.
    public var deploymentsEnabled: Bool = false
    /// The OAuth credentials' client id (Jira: Settings > Apps > OAuth credentials).
    public var oauthClientID: String? = nil
    /// The OAuth credentials' secret: held in clear only in memory, as the password is.
    public var oauthClientSecret: String? = nil
    /// GitLab's Jira verification, as a commit status on the forge: every pushed commit must mention a key
    /// (`jira_check_enabled`), of an issue that exists, is assigned to the commit's author (or no one), and is
    /// in one of the allowed statuses.
    public var jiraCheckEnabled: Bool = false
    public var jiraExistsCheckEnabled: Bool = false
    public var jiraAssigneeCheckEnabled: Bool = false
    public var jiraStatusCheckEnabled: Bool = false
    /// Comma-separated status names (`jira_allowed_statuses_as_string`).
    public var jiraAllowedStatuses: String = ""
    /// A merge or pull request's title or description must mention a key (a commit status on its head).
    public var preventMergeWithoutJiraIssue: Bool = false

    public init() {}

    /// Whether anything goes to Jira Cloud's development information, builds or deployments APIs.
    public var sendsToJiraCloudAPIs: Bool { developmentPanelEnabled || buildsEnabled || deploymentsEnabled }

    /// The base of every REST call: `api_url` when present, else `url` (GitLab's `client_url`).
    public var clientURL: String? {
        if let api = apiURL, !api.isEmpty { return api }
        if let url, !url.isEmpty { return url }
        return nil
    }

    /// The transition IDs to apply in order: every run of digits in `jira_issue_transition_id`.
    public var transitionIDs: [String] { TransitionIDs.parse(transitionID) }

    /// Whether a closing reference moves the issue at all (automatic, or at least one ID).
    public var transitionsEnabled: Bool { transitionAutomatic || !transitionIDs.isEmpty }
}

/// Parsing of `jira_issue_transition_id` the way GitLab reads it.
public enum TransitionIDs {
    /// Every run of ASCII digits, in order: `"1,2;3"` gives 1, 2, 3 and `"foo 23 bar"` gives 23.
    public static func parse(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        for ch in text.unicodeScalars {
            if ch.value >= 48 && ch.value <= 57 {
                current.unicodeScalars.append(ch)
            } else if !current.isEmpty {
                result.append(current)
                current = ""
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// GitLab's format rule: the unanchored regex `\d+` with `allow_blank`, so blank (Rails' `blank?`: nothing
    /// but whitespace) or any text with a digit passes.
    public static func isValid(_ text: String) -> Bool {
        isBlank(text) || text.unicodeScalars.contains { $0.value >= 48 && $0.value <= 57 }
    }

    /// Rails' `blank?` for a string: empty or only whitespace (`" "` is "no IDs", and is saved as "").
    public static func isBlank(_ text: String) -> Bool {
        text.allSatisfy(\.isWhitespace)
    }
}
