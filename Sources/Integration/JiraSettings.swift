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
    /// Transitions (ids or names, per Jira project as `jira_issue_transition_id`) for the issues a merge or pull
    /// request mentions when it is opened or leaves draft; blank: none.
    public var mergeRequestOpenedTransition: String = ""
    /// Comma-separated branch names or `*` patterns where closing references transition; blank: the default
    /// branch only.
    public var closingBranches: String = ""
    /// Commands in commit messages (`#comment`, `#time`, `#<transition>`), run as the integration's Jira user.
    public var smartCommitsEnabled: Bool = false

    public init() {}

    /// Whether anything goes to Jira Cloud's development information, builds or deployments APIs.
    public var sendsToJiraCloudAPIs: Bool { developmentPanelEnabled || buildsEnabled || deploymentsEnabled }

    /// The base of every REST call: `api_url` when present, else `url` (GitLab's `client_url`).
    public var clientURL: String? {
        if let api = apiURL, !api.isEmpty { return api }
        if let url, !url.isEmpty { return url }
        return nil
    }

    /// `jira_issue_transition_id` read as a list (ids, names, lists per Jira project); empty when it cannot be
    /// read (validation refuses to save such a list).
    public var transitionList: TransitionList { (try? TransitionList.parse(transitionID).get()) ?? TransitionList() }

    /// `merge_request_opened_transition` read as a list.
    public var openedTransitionList: TransitionList { (try? TransitionList.parse(mergeRequestOpenedTransition).get()) ?? TransitionList() }

    /// The transitions (ids and names, as written) a closing reference to `issueKey` applies in order.
    public func transitionSteps(for issueKey: String) -> [String] { transitionList.steps(for: issueKey).map(\.description) }

    /// Whether a closing reference to `issueKey` moves it at all (automatic, or a list for its project).
    public func transitionsEnabled(for issueKey: String) -> Bool { transitionAutomatic || !transitionList.steps(for: issueKey).isEmpty }

    /// Whether a closing reference on `branch` (pushed to, or merged into) transitions: one of `closing_branches`,
    /// or the default branch when it is blank.
    public func isClosingBranch(_ branch: String, defaultBranch: String) -> Bool {
        let patterns = BranchPatterns.parse(closingBranches)
        return patterns.isEmpty ? branch == defaultBranch : patterns.contains { BranchPatterns.matches(branch, pattern: $0) }
    }

    /// Whether a closing reference moves an issue at all (automatic, or a list for some project).
    public var transitionsEnabled: Bool { transitionAutomatic || !transitionList.isEmpty }
}

/// Blank transition lists, as GitLab reads them.
public enum TransitionIDs {
    /// Rails' `blank?` for a string: empty or only whitespace (`" "` is "no IDs", and is saved as "").
    public static func isBlank(_ text: String) -> Bool {
        text.allSatisfy(\.isWhitespace)
    }
}

/// `closing_branches`: comma-separated branch names, where `*` stands for any run of characters (`release/*`).
public enum BranchPatterns {
    /// The patterns, trimmed; nil when one is empty (`main,,release/*`).
    public static func parseStrict(_ text: String) -> [String]? {
        guard !TransitionIDs.isBlank(text) else { return [] }
        let patterns = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        return patterns.contains(where: \.isEmpty) ? nil : patterns
    }

    public static func parse(_ text: String) -> [String] { parseStrict(text) ?? [] }

    /// Whether `branch` matches `pattern` (`*` matches any run of characters, `/` included).
    public static func matches(_ branch: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return branch == pattern }
        var rest = Substring(branch)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (i, part) in parts.enumerated().dropFirst() {
            if i == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard !part.isEmpty else { continue }
            guard let range = rest.firstRange(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
