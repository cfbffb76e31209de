import Foundation
import Integration

/// The non-secret settings as stored in the `properties` JSON column. The password is kept apart,
/// encrypted, and never enters this document. Written by `JSONWriter` (keys sorted, absent optionals left
/// out) and read by `JSONValue.parse`.
struct StoredSettings {
    var url: String?
    var api_url: String?
    var jira_auth_type: Int
    var username: String?
    var jira_issue_prefix: String
    var jira_issue_regex: String
    var jira_issue_transition_automatic: Bool
    var jira_issue_transition_id: String
    var commit_events: Bool
    var merge_requests_events: Bool
    var comment_on_event_enabled: Bool
    var issues_enabled: Bool
    var project_keys: [String]
    var project_key: String?
    var vulnerabilities_enabled: Bool
    var vulnerabilities_issuetype: String?
    var customize_jira_issue_enabled: Bool
    var vulnerabilities_extra_fields: String?
    var development_panel_enabled: Bool
    var builds_enabled: Bool
    var deployments_enabled: Bool
    var jira_oauth_client_id: String?
    var jira_check_enabled = false
    var jira_exists_check_enabled = false
    var jira_assignee_check_enabled = false
    var jira_status_check_enabled = false
    var jira_allowed_statuses_as_string: String? = nil
    var prevent_merge_without_jira_issue = false
    var merge_request_opened_transition: String? = nil
    var closing_branches: String? = nil
    var smart_commits_enabled = false

    init(_ s: JiraSettings) {
        url = s.url
        api_url = s.apiURL
        jira_auth_type = s.authType
        username = s.username
        jira_issue_prefix = s.issuePrefix
        jira_issue_regex = s.issueRegex
        jira_issue_transition_automatic = s.transitionAutomatic
        jira_issue_transition_id = s.transitionID
        commit_events = s.commitEvents
        merge_requests_events = s.mergeRequestsEvents
        comment_on_event_enabled = s.commentOnEventEnabled
        issues_enabled = s.issuesEnabled
        project_keys = s.projectKeys
        project_key = s.projectKey
        vulnerabilities_enabled = s.vulnerabilitiesEnabled
        vulnerabilities_issuetype = s.vulnerabilitiesIssueType
        customize_jira_issue_enabled = s.customizeJiraIssueEnabled
        vulnerabilities_extra_fields = s.vulnerabilitiesExtraFields.isEmpty ? nil : s.vulnerabilitiesExtraFields
        development_panel_enabled = s.developmentPanelEnabled
        builds_enabled = s.buildsEnabled
        deployments_enabled = s.deploymentsEnabled
        jira_oauth_client_id = s.oauthClientID
        jira_check_enabled = s.jiraCheckEnabled
        jira_exists_check_enabled = s.jiraExistsCheckEnabled
        jira_assignee_check_enabled = s.jiraAssigneeCheckEnabled
        jira_status_check_enabled = s.jiraStatusCheckEnabled
        jira_allowed_statuses_as_string = s.jiraAllowedStatuses.isEmpty ? nil : s.jiraAllowedStatuses
        prevent_merge_without_jira_issue = s.preventMergeWithoutJiraIssue
        merge_request_opened_transition = s.mergeRequestOpenedTransition.isEmpty ? nil : s.mergeRequestOpenedTransition
        closing_branches = s.closingBranches.isEmpty ? nil : s.closingBranches
        smart_commits_enabled = s.smartCommitsEnabled
    }

    func settings(active: Bool, password: String?, oauthClientSecret: String? = nil, deploymentType: JiraDeploymentType) -> JiraSettings {
        var s = JiraSettings()
        s.active = active
        s.url = url
        s.apiURL = api_url
        s.authType = jira_auth_type
        s.username = username
        s.password = password
        s.issuePrefix = jira_issue_prefix
        s.issueRegex = jira_issue_regex
        s.transitionAutomatic = jira_issue_transition_automatic
        s.transitionID = jira_issue_transition_id
        s.commitEvents = commit_events
        s.mergeRequestsEvents = merge_requests_events
        s.commentOnEventEnabled = comment_on_event_enabled
        s.issuesEnabled = issues_enabled
        s.projectKeys = project_keys
        s.projectKey = project_key
        s.vulnerabilitiesEnabled = vulnerabilities_enabled
        s.vulnerabilitiesIssueType = vulnerabilities_issuetype
        s.customizeJiraIssueEnabled = customize_jira_issue_enabled
        s.vulnerabilitiesExtraFields = vulnerabilities_extra_fields ?? ""
        s.developmentPanelEnabled = development_panel_enabled
        s.buildsEnabled = builds_enabled
        s.deploymentsEnabled = deployments_enabled
        s.oauthClientID = jira_oauth_client_id
        s.oauthClientSecret = oauthClientSecret
        s.jiraCheckEnabled = jira_check_enabled
        s.jiraExistsCheckEnabled = jira_exists_check_enabled
        s.jiraAssigneeCheckEnabled = jira_assignee_check_enabled
        s.jiraStatusCheckEnabled = jira_status_check_enabled
        s.jiraAllowedStatuses = jira_allowed_statuses_as_string ?? ""
        s.preventMergeWithoutJiraIssue = prevent_merge_without_jira_issue
        s.mergeRequestOpenedTransition = merge_request_opened_transition ?? ""
        s.closingBranches = closing_branches ?? ""
        s.smartCommitsEnabled = smart_commits_enabled
        s.deploymentType = deploymentType
        return s
    }

    static func encode(_ s: JiraSettings) throws -> String {
        let stored = StoredSettings(s)
        var doc: [String: JSONValue] = [
            "jira_auth_type": .number(Double(stored.jira_auth_type)),
            "jira_issue_prefix": .string(stored.jira_issue_prefix),
            "jira_issue_regex": .string(stored.jira_issue_regex),
            "jira_issue_transition_automatic": .bool(stored.jira_issue_transition_automatic),
            "jira_issue_transition_id": .string(stored.jira_issue_transition_id),
            "commit_events": .bool(stored.commit_events),
            "merge_requests_events": .bool(stored.merge_requests_events),
            "comment_on_event_enabled": .bool(stored.comment_on_event_enabled),
            "issues_enabled": .bool(stored.issues_enabled),
            "project_keys": .array(stored.project_keys.map(JSONValue.string)),
            "vulnerabilities_enabled": .bool(stored.vulnerabilities_enabled),
            "customize_jira_issue_enabled": .bool(stored.customize_jira_issue_enabled),
            "development_panel_enabled": .bool(stored.development_panel_enabled),
            "builds_enabled": .bool(stored.builds_enabled),
            "deployments_enabled": .bool(stored.deployments_enabled),
            "jira_check_enabled": .bool(stored.jira_check_enabled),
            "jira_exists_check_enabled": .bool(stored.jira_exists_check_enabled),
            "jira_assignee_check_enabled": .bool(stored.jira_assignee_check_enabled),
            "jira_status_check_enabled": .bool(stored.jira_status_check_enabled),
            "prevent_merge_without_jira_issue": .bool(stored.prevent_merge_without_jira_issue),
            "smart_commits_enabled": .bool(stored.smart_commits_enabled),
        ]
        let optionals: [String: String?] = [
            "url": stored.url, "api_url": stored.api_url, "username": stored.username, "project_key": stored.project_key,
            "vulnerabilities_issuetype": stored.vulnerabilities_issuetype, "vulnerabilities_extra_fields": stored.vulnerabilities_extra_fields,
            "jira_oauth_client_id": stored.jira_oauth_client_id,
            "jira_allowed_statuses_as_string": stored.jira_allowed_statuses_as_string,
            "merge_request_opened_transition": stored.merge_request_opened_transition, "closing_branches": stored.closing_branches,
        ]
        for (name, value) in optionals { if let value { doc[name] = .string(value) } }
        var writer = JSONWriter()
        writer.value(.object(doc))
        return writer.text
    }

    static func decode(_ text: String) throws -> StoredSettings {
        let doc: JSONValue
        do { doc = try JSONValue.parse(text) } catch { throw StoreError.conflict("stored settings are not JSON: \(error)") }
        func required<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T {
            guard let value = doc[name].flatMap(read) else { throw StoreError.conflict("stored settings lack \(name)") }
            return value
        }
        var s = StoredSettings(JiraSettings())
        s.url = doc["url"]?.string
        s.api_url = doc["api_url"]?.string
        s.jira_auth_type = try required("jira_auth_type") { $0.integer.flatMap { Int(exactly: $0) } }
        s.username = doc["username"]?.string
        s.jira_issue_prefix = try required("jira_issue_prefix", \.string)
        s.jira_issue_regex = try required("jira_issue_regex", \.string)
        s.jira_issue_transition_automatic = try required("jira_issue_transition_automatic", \.bool)
        s.jira_issue_transition_id = try required("jira_issue_transition_id", \.string)
        s.commit_events = try required("commit_events", \.bool)
        s.merge_requests_events = try required("merge_requests_events", \.bool)
        s.comment_on_event_enabled = try required("comment_on_event_enabled", \.bool)
        s.issues_enabled = try required("issues_enabled", \.bool)
        s.project_keys = try required("project_keys") { $0.array.map { $0.compactMap(\.string) } }
        s.project_key = doc["project_key"]?.string
        s.vulnerabilities_enabled = try required("vulnerabilities_enabled", \.bool)
        s.vulnerabilities_issuetype = doc["vulnerabilities_issuetype"]?.string
        s.customize_jira_issue_enabled = try required("customize_jira_issue_enabled", \.bool)
        s.vulnerabilities_extra_fields = doc["vulnerabilities_extra_fields"]?.string
        // Added later (issue 27): rows saved before have none, and are off.
        s.development_panel_enabled = doc["development_panel_enabled"]?.bool ?? false
        s.builds_enabled = doc["builds_enabled"]?.bool ?? false
        s.deployments_enabled = doc["deployments_enabled"]?.bool ?? false
        s.jira_oauth_client_id = doc["jira_oauth_client_id"]?.string
        // Added later (issue 29): rows saved before have none, and are off.
        s.jira_check_enabled = doc["jira_check_enabled"]?.bool ?? false
        s.jira_exists_check_enabled = doc["jira_exists_check_enabled"]?.bool ?? false
        s.jira_assignee_check_enabled = doc["jira_assignee_check_enabled"]?.bool ?? false
        s.jira_status_check_enabled = doc["jira_status_check_enabled"]?.bool ?? false
        s.jira_allowed_statuses_as_string = doc["jira_allowed_statuses_as_string"]?.string
        s.prevent_merge_without_jira_issue = doc["prevent_merge_without_jira_issue"]?.bool ?? false
        // Added later (issue 30): rows saved before have none (no opening transition, the default branch).
        s.merge_request_opened_transition = doc["merge_request_opened_transition"]?.string
        s.closing_branches = doc["closing_branches"]?.string
        s.smart_commits_enabled = doc["smart_commits_enabled"]?.bool ?? false
        return s
    }
}

extension IntegrationLevel {
    /// The unique owner key of the integration row: `instance`, `group:5`, `project:42`.
    var ownerKey: String {
        switch self {
        case .instance: return "instance"
        case .group(let id): return "group:\(id)"
        case .project(let id): return "project:\(id)"
        }
    }

    /// The id of the project or group row; nil for the instance.
    var ownerID: Int64? {
        switch self {
        case .instance: return nil
        case .group(let id), .project(let id): return id
        }
    }

    var levelName: String {
        switch self {
        case .instance: return "instance"
        case .group: return "group"
        case .project: return "project"
        }
    }
}

/// The current time in milliseconds.
