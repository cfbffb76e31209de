/// The parameters of one `PUT .../integrations/jira`, each nil when the request did not send it.
public struct SettingsUpdate: Sendable, Equatable {
    public var active: Bool?
    public var url: String?
    public var apiURL: String?
    public var authType: Int?
    public var username: String?
    public var password: String?
    public var issuePrefix: String?
    public var issueRegex: String?
    public var transitionAutomatic: Bool?
    public var mergeRequestOpenedTransition: String?
    public var closingBranches: String?
    public var smartCommitsEnabled: Bool?
    public var transitionID: String?
    public var commitEvents: Bool?
    public var mergeRequestsEvents: Bool?
    public var commentOnEventEnabled: Bool?
    public var issuesEnabled: Bool?
    public var projectKeys: [String]?
    public var projectKey: String?
    public var vulnerabilitiesEnabled: Bool?
    public var vulnerabilitiesIssueType: String?
    public var customizeJiraIssueEnabled: Bool?
    public var vulnerabilitiesExtraFields: String?
    public var useInheritedSettings: Bool?
    public var developmentPanelEnabled: Bool?
    public var buildsEnabled: Bool?
    public var deploymentsEnabled: Bool?
    public var oauthClientID: String?
    public var oauthClientSecret: String?
    public var jiraCheckEnabled: Bool?
    public var jiraExistsCheckEnabled: Bool?
    public var jiraAssigneeCheckEnabled: Bool?
    public var jiraStatusCheckEnabled: Bool?
    public var jiraAllowedStatuses: String?
    public var preventMergeWithoutJiraIssue: Bool?

    public init() {}

    /// A parameter that could not be read as its type: Grape's `<name> is invalid`.
    public struct InvalidParameter: Error, Sendable, Equatable {
        public let name: String
        public var message: String { "\(name) is invalid" }
        public init(name: String) { self.name = name }
    }

    /// Builds an update from loosely typed values (JSON or form fields), with Grape's coercions:
    /// booleans accept true/false/1/0/"true"/"false"; `project_keys` accepts an array or a comma list.
    public init(parameters: [String: ParameterValue]) throws(InvalidParameter) {
        func bool(_ name: String) throws(InvalidParameter) -> Bool? {
            guard let v = parameters[name] else { return nil }
            guard let b = v.boolValue else { throw InvalidParameter(name: name) }
            return b
        }
        func string(_ name: String) throws(InvalidParameter) -> String? {
            guard let v = parameters[name] else { return nil }
            guard let s = v.stringValue else { throw InvalidParameter(name: name) }
            return s
        }
        active = try bool("active")
        url = try string("url")
        apiURL = try string("api_url")
        if let v = parameters["jira_auth_type"] {
            guard let i = v.intValue else { throw InvalidParameter(name: "jira_auth_type") }
            authType = i
        }
        username = try string("username")
        password = try string("password")
        issuePrefix = try string("jira_issue_prefix")
        issueRegex = try string("jira_issue_regex")
        transitionAutomatic = try bool("jira_issue_transition_automatic")
        transitionID = try string("jira_issue_transition_id").map { TransitionIDs.isBlank($0) ? "" : $0 }
        commitEvents = try bool("commit_events")
        mergeRequestsEvents = try bool("merge_requests_events")
        commentOnEventEnabled = try bool("comment_on_event_enabled")
        issuesEnabled = try bool("issues_enabled")
        if let v = parameters["project_keys"] {
            guard let keys = v.stringListValue else { throw InvalidParameter(name: "project_keys") }
            projectKeys = keys
        }
        projectKey = try string("project_key")
        vulnerabilitiesEnabled = try bool("vulnerabilities_enabled")
        vulnerabilitiesIssueType = try string("vulnerabilities_issuetype")
        customizeJiraIssueEnabled = try bool("customize_jira_issue_enabled")
        switch parameters["vulnerabilities_extra_fields"] {
        case nil: break
        case .json(let text)?: vulnerabilitiesExtraFields = text
        case .null?: vulnerabilitiesExtraFields = ""
        case .string(let text)?: vulnerabilitiesExtraFields = text.trimmingWhitespace()
        default: throw InvalidParameter(name: "vulnerabilities_extra_fields")
        }
        useInheritedSettings = try bool("use_inherited_settings")
        developmentPanelEnabled = try bool("development_panel_enabled")
        buildsEnabled = try bool("builds_enabled")
        deploymentsEnabled = try bool("deployments_enabled")
        oauthClientID = try string("jira_oauth_client_id").map { $0.trimmingWhitespace() }
        oauthClientSecret = try string("jira_oauth_client_secret")
        jiraCheckEnabled = try bool("jira_check_enabled")
        jiraExistsCheckEnabled = try bool("jira_exists_check_enabled")
        jiraAssigneeCheckEnabled = try bool("jira_assignee_check_enabled")
        jiraStatusCheckEnabled = try bool("jira_status_check_enabled")
        jiraAllowedStatuses = try string("jira_allowed_statuses_as_string").map { $0.trimmingWhitespace() }
        preventMergeWithoutJiraIssue = try bool("prevent_merge_without_jira_issue")
        mergeRequestOpenedTransition = try string("merge_request_opened_transition").map { TransitionIDs.isBlank($0) ? "" : $0 }
        closingBranches = try string("closing_branches").map { $0.trimmingWhitespace() }
        smartCommitsEnabled = try bool("smart_commits_enabled")
    }

    /// Applies this update to `current` with GitLab's secret rules: a blank password keeps the stored
    /// one, and a changed `url` or `api_url` without a new password clears it. The OAuth client secret
    /// follows the same rules.
    public func applied(to current: JiraSettings) -> JiraSettings {
        var s = current
        if let active { s.active = active }
        if let url { s.url = url.isEmpty ? nil : JiraURL.normalize(url) }
        if let apiURL { s.apiURL = apiURL.isEmpty ? nil : JiraURL.normalize(apiURL) }
        if let authType { s.authType = authType }
        if let username { s.username = username.isEmpty ? nil : username }
        if let issuePrefix { s.issuePrefix = issuePrefix }
        if let issueRegex { s.issueRegex = issueRegex }
        if let transitionAutomatic { s.transitionAutomatic = transitionAutomatic }
        if let transitionID { s.transitionID = transitionID }
        if let commitEvents { s.commitEvents = commitEvents }
        if let mergeRequestsEvents { s.mergeRequestsEvents = mergeRequestsEvents }
        if let commentOnEventEnabled { s.commentOnEventEnabled = commentOnEventEnabled }
        if let issuesEnabled { s.issuesEnabled = issuesEnabled }
        if let projectKeys { s.projectKeys = SettingsUpdate.cleanProjectKeys(projectKeys) }
        if let projectKey { s.projectKey = projectKey.isEmpty ? nil : projectKey }
        if let vulnerabilitiesEnabled { s.vulnerabilitiesEnabled = vulnerabilitiesEnabled }
        if let vulnerabilitiesIssueType { s.vulnerabilitiesIssueType = vulnerabilitiesIssueType.isEmpty ? nil : vulnerabilitiesIssueType }
        if let customizeJiraIssueEnabled { s.customizeJiraIssueEnabled = customizeJiraIssueEnabled }
        if let vulnerabilitiesExtraFields { s.vulnerabilitiesExtraFields = vulnerabilitiesExtraFields }
        if let developmentPanelEnabled { s.developmentPanelEnabled = developmentPanelEnabled }
        if let buildsEnabled { s.buildsEnabled = buildsEnabled }
        if let deploymentsEnabled { s.deploymentsEnabled = deploymentsEnabled }
        if let oauthClientID { s.oauthClientID = oauthClientID.isEmpty ? nil : oauthClientID }
        if let jiraCheckEnabled { s.jiraCheckEnabled = jiraCheckEnabled }
        if let jiraExistsCheckEnabled { s.jiraExistsCheckEnabled = jiraExistsCheckEnabled }
        if let jiraAssigneeCheckEnabled { s.jiraAssigneeCheckEnabled = jiraAssigneeCheckEnabled }
        if let jiraStatusCheckEnabled { s.jiraStatusCheckEnabled = jiraStatusCheckEnabled }
        if let jiraAllowedStatuses { s.jiraAllowedStatuses = JiraIssueCheck.allowedStatuses(jiraAllowedStatuses).joined(separator: ",") }
        if let preventMergeWithoutJiraIssue { s.preventMergeWithoutJiraIssue = preventMergeWithoutJiraIssue }
        if let mergeRequestOpenedTransition { s.mergeRequestOpenedTransition = mergeRequestOpenedTransition }
        if let closingBranches { s.closingBranches = closingBranches }
        if let smartCommitsEnabled { s.smartCommitsEnabled = smartCommitsEnabled }

        let urlChanged = s.url != current.url || s.apiURL != current.apiURL
        if let newPassword = password.flatMap({ $0.isEmpty ? nil : $0 }) {
            s.password = newPassword
        } else if urlChanged {
            s.password = nil
        }
        if let newSecret = oauthClientSecret.flatMap({ $0.isEmpty ? nil : $0 }) {
            s.oauthClientSecret = newSecret
        } else if urlChanged {
            s.oauthClientSecret = nil
        }
        return s
    }

    /// Whether the update touches what deployment detection depends on.
    public func changesConnection(from old: JiraSettings, to new: JiraSettings) -> Bool {
        old.url != new.url || old.apiURL != new.apiURL || old.username != new.username || old.password != new.password
    }

    /// GitLab's clean-up of `project_keys`: strip, drop blanks, drop duplicates (first one kept).
    public static func cleanProjectKeys(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for k in keys {
            let t = k.trimmingWhitespace()
            if t.isEmpty || seen.contains(t) { continue }
            seen.insert(t)
            out.append(t)
        }
        return out
    }
}

/// A loosely typed request parameter, from JSON or from a form field.
public enum ParameterValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case list([ParameterValue])
    /// A JSON object, as its text.
    case json(String)
    case other

    public var boolValue: Bool? {
        switch self {
        case .bool(let b): return b
        case .number(let n): return n == 1 ? true : n == 0 ? false : nil
        case .string(let s):
            switch s.lowercased() {
            case "true", "1", "yes", "on", "t": return true
            case "false", "0", "no", "off", "f", "": return false
            default: return nil
            }
        default: return nil
        }
    }

    var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n.parameterText
        case .bool(let b): return String(b)
        case .null: return ""
        default: return nil
        }
    }

    var intValue: Int? {
        switch self {
        case .number(let n): return n.exactInteger.flatMap { Int(exactly: $0) }
        case .string(let s): return Int(s.trimmingWhitespace())
        default: return nil
        }
    }

    var stringListValue: [String]? {
        switch self {
        case .list(let items):
            var out: [String] = []
            for i in items { guard let s = i.stringValue else { return nil }; out.append(s) }
            return out
        case .string(let s): return s.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        case .null: return []
        default: return nil
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
