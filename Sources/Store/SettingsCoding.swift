import Foundation
import Integration

/// The non-secret settings as stored in the `properties` JSON column. The password is kept apart,
/// encrypted, and never enters this document.
struct StoredSettings: Codable {
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
    }

    func settings(active: Bool, password: String?, deploymentType: JiraDeploymentType) -> JiraSettings {
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
        s.deploymentType = deploymentType
        return s
    }

    static func encode(_ s: JiraSettings) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(StoredSettings(s)), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> StoredSettings {
        try JSONDecoder().decode(StoredSettings.self, from: Data(text.utf8))
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
