import Integration
import Store

/// GitLab's integration entity for the Jira integration. The password is left out entirely.
enum IntegrationJSON {
    /// `rejection`: the rejection in force of the credentials it uses, shown as `credentials_rejected_since`
    /// (null when Jira has not rejected them).
    static func render(_ record: IntegrationRecord, includeProperties: Bool = true, rejection: CredentialHold? = nil) -> JSONValue {
        let s = record.settings
        var doc: [String: JSONValue] = [
            "credentials_rejected_since": rejection.map { .string(isoTimestamp($0.since)) } ?? .null,
            "id": .number(Double(record.id)),
            "title": .string("Jira issues"),
            "slug": .string("jira"),
            "created_at": .string(isoTimestamp(record.createdAt)),
            "updated_at": .string(isoTimestamp(record.updatedAt)),
            "active": .bool(s.active),
            "commit_events": .bool(s.commitEvents),
            "push_events": .bool(true),
            "issues_events": .bool(false),
            "alert_events": .bool(false),
            "confidential_issues_events": .bool(false),
            "merge_requests_events": .bool(s.mergeRequestsEvents),
            "tag_push_events": .bool(false),
            "deployment_events": .bool(false),
            "note_events": .bool(false),
            "confidential_note_events": .bool(false),
            "pipeline_events": .bool(false),
            "wiki_page_events": .bool(false),
            "job_events": .bool(false),
            "comment_on_event_enabled": .bool(s.commentOnEventEnabled),
            "inherited": .bool(record.inheritFromID != nil),
            "vulnerability_events": .bool(false),
        ]
        if includeProperties { doc["properties"] = properties(s) }
        return .object(doc)
    }

    /// Every setting but the password and the OAuth client secret (never returned in any form).
    static func properties(_ s: JiraSettings) -> JSONValue {
        func str(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return .object([
            "url": str(s.url),
            "api_url": str(s.apiURL),
            "username": str(s.username),
            "jira_auth_type": .number(Double(s.authType)),
            "jira_issue_prefix": .string(s.issuePrefix),
            "jira_issue_regex": .string(s.issueRegex),
            "jira_issue_transition_automatic": .bool(s.transitionAutomatic),
            "jira_issue_transition_id": .string(s.transitionID),
            "issues_enabled": .bool(s.issuesEnabled),
            "project_keys": .array(s.projectKeys.map { .string($0) }),
            "project_key": str(s.projectKey),
            "vulnerabilities_enabled": .bool(s.vulnerabilitiesEnabled),
            "vulnerabilities_issuetype": str(s.vulnerabilitiesIssueType),
            "customize_jira_issue_enabled": .bool(s.customizeJiraIssueEnabled),
            "vulnerabilities_extra_fields": ExtraFields.parse(s.vulnerabilitiesExtraFields).map { .object($0) } ?? .null,
            "deployment_type": .string(s.deploymentType.rawValue),
            "development_panel_enabled": .bool(s.developmentPanelEnabled),
            "builds_enabled": .bool(s.buildsEnabled),
            "deployments_enabled": .bool(s.deploymentsEnabled),
            "jira_check_enabled": .bool(s.jiraCheckEnabled),
            "jira_exists_check_enabled": .bool(s.jiraExistsCheckEnabled),
            "jira_assignee_check_enabled": .bool(s.jiraAssigneeCheckEnabled),
            "jira_status_check_enabled": .bool(s.jiraStatusCheckEnabled),
            "jira_allowed_statuses_as_string": .string(s.jiraAllowedStatuses),
            "prevent_merge_without_jira_issue": .bool(s.preventMergeWithoutJiraIssue),
            "merge_request_opened_transition": .string(s.mergeRequestOpenedTransition),
            "closing_branches": .string(s.closingBranches),
            "smart_commits_enabled": .bool(s.smartCommitsEnabled),
            "jira_oauth_client_id": str(s.oauthClientID),
        ])
    }
}

/// The project and group entities.
enum EntityJSON {
    static func project(_ p: Project, group: Group?) -> JSONValue {
        var namespace: JSONValue = .null
        if let group {
            namespace = .object([
                "id": .number(Double(group.id)), "full_path": .string(group.forgePath), "name": .string(group.name), "kind": .string("group"),
            ])
        }
        return .object([
            "id": .number(Double(p.forgeID)),
            "forge": .string(p.forge.rawValue),
            "name": .string(p.name),
            "path": .string(String(p.forgePath.split(separator: "/").last ?? "")),
            "path_with_namespace": .string(p.forgePath),
            "web_url": .string(p.webURL),
            "default_branch": .string(p.defaultBranch),
            "namespace": namespace,
            "webhook_secret_set": .bool(p.hasWebhookSecret),
            "forge_api_url": .string(
                p.forgeAPIURL ?? ForgeAPIAccess.defaultURL(forge: p.forge, forgeBaseURL: p.forgeBaseURL)),
            "forge_api_token_set": .bool(p.hasForgeAPIToken),
            "forge_hook_id": p.forgeHookID.map { .number(Double($0)) } ?? .null,
            "created_at": .string(isoTimestamp(p.createdAt)),
        ])
    }

    static func group(_ g: Group) -> JSONValue {
        .object([
            "id": .number(Double(g.id)),
            "name": .string(g.name),
            "forge": .string(g.forge.rawValue),
            "path": .string(String(g.forgePath.split(separator: "/").last ?? "")),
            "full_path": .string(g.forgePath),
            "parent_id": g.parentID.map { .number(Double($0)) } ?? .null,
            "webhook_secret_set": .bool(g.hasWebhookSecret),
            "forge_api_url": g.forgeAPIURL.map { .string($0) } ?? .null,
            "forge_api_token_set": .bool(g.hasForgeAPIToken),
            "created_at": .string(isoTimestamp(g.createdAt)),
        ])
    }

    static func token(_ t: APIToken, secret: String? = nil) -> JSONValue {
        var doc: [String: JSONValue] = [
            "id": .number(Double(t.id)),
            "name": .string(t.name),
            "role": .string(t.role.rawValue),
            "scope": .string(t.scope.kind),
            "expires_at": t.expiresAt.map { .string(isoTimestamp($0)) } ?? .null,
            "created_at": .string(isoTimestamp(t.createdAt)),
        ]
        switch t.scope {
        case .project(let id):
            // The forge's own id, and the forge when it is not GitLab (`Forge.identity`).
            let (forge, forgeID) = Forge.identity(storageID: id) ?? (.gitlab, id)
            doc["project_id"] = .number(Double(forgeID))
            if forge != .gitlab { doc["project_forge"] = .string(forge.rawValue) }
        case .group(let id): doc["group_id"] = .number(Double(id))
        case .instance: break
        }
        if let secret { doc["token"] = .string(secret) }
        return .object(doc)
    }
}
