import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The Jira settings form at project, group and instance level: show, save, Test settings, issue types, reset.
extension WebController {
    // MARK: Settings form

    /// The level a settings page is about, once the signed-in user may manage it.
    func settingsLevel(_ route: IntegrationRoute, _ context: BridgeRequestContext) async throws -> (IntegrationLevel, String, String) {
        let identity = try context.requireIdentity()
        switch route {
        case .project:
            let project = try await lookup.project(context)
            guard try await access.allows(identity, .maintainer, project: project) else { throw WebError.forbidden }
            return (
                .project(project.id), "project \(project.forge == .gitlab ? "" : project.forge.displayName + " ")\(project.forgePath)",
                "/projects/\(project.address)/settings/integrations/jira"
            )
        case .group:
            let group = try await lookup.group(context)
            guard try await access.allows(identity, .maintainer, group: group) else { throw WebError.forbidden }
            return (
                .group(group.id), "group \(group.forge == .gitlab ? "" : group.forge.displayName + " ")\(group.forgePath)",
                "/groups/\(group.id)/settings/integrations/jira"
            )
        case .instance:
            guard identity == .instanceAdmin else { throw WebError.forbidden }
            return (.instance, "instance default", "/admin/integrations/jira")
        }
    }

    struct FormState {
        var settings: JiraSettings
        var inherited: Bool
        var errors: [String: String] = [:]
        var issueTypes: [JiraIssueType]? = nil
        var issueTypesStatus = ""
        var testResult: SettingsView.TestResult? = nil
        /// The transitions loaded for the picker, the issue they were read from, and what loading said.
        var transitionChoices: [JiraTransition] = []
        var transitionsIssue = ""
        var transitionsStatus = ""
    }

    struct SettingsView: ViewModel {
        /// The form's fields as the template shows them.
        struct Form: ViewModel {
            var active: Bool, url: String, apiURL: String, authBasic: Bool, authPAT: Bool, authServiceAccount: Bool, username: String,
                hasPassword: Bool
            var commitEvents: Bool, mergeRequestsEvents: Bool, comments: Bool
            var transitionsEnabled: Bool, transitionAuto: Bool, transitionCustom: Bool, transitionID: String
            var issueRegex: String, issuePrefix: String, issuesEnabled: Bool, projectKeys: String
            var vulnerabilitiesEnabled: Bool, projectKey: String, customize: Bool, extraFields: String
            var developmentPanel: Bool, builds: Bool, deployments: Bool, oauthClientID: String, hasOAuthSecret: Bool
            var jiraCheck: Bool, existsCheck: Bool, assigneeCheck: Bool, statusCheck: Bool, allowedStatuses: String, preventMerge: Bool
            var closingBranches: String, openedTransition: String, smartCommits: Bool

            init(_ s: JiraSettings) {
                let transitionsEnabled = s.transitionAutomatic || !s.transitionID.isEmpty
                active = s.active; url = s.url ?? ""; apiURL = s.apiURL ?? ""; authBasic = s.authType == 0; authPAT = s.authType == 1
                authServiceAccount = s.authType == JiraAuthType.serviceAccount.rawValue
                username = s.username ?? ""; hasPassword = (s.password ?? "").isEmpty == false
                commitEvents = s.commitEvents; mergeRequestsEvents = s.mergeRequestsEvents; comments = s.commentOnEventEnabled
                self.transitionsEnabled = transitionsEnabled; transitionAuto = s.transitionAutomatic || s.transitionID.isEmpty
                transitionCustom = !s.transitionAutomatic && !s.transitionID.isEmpty; transitionID = s.transitionID
                issueRegex = s.issueRegex; issuePrefix = s.issuePrefix; issuesEnabled = s.issuesEnabled
                projectKeys = s.projectKeys.joined(separator: ", "); vulnerabilitiesEnabled = s.vulnerabilitiesEnabled
                projectKey = s.projectKey ?? ""; customize = s.customizeJiraIssueEnabled; extraFields = s.vulnerabilitiesExtraFields
                developmentPanel = s.developmentPanelEnabled; builds = s.buildsEnabled; deployments = s.deploymentsEnabled
                oauthClientID = s.oauthClientID ?? ""; hasOAuthSecret = (s.oauthClientSecret ?? "").isEmpty == false
                jiraCheck = s.jiraCheckEnabled; existsCheck = s.jiraExistsCheckEnabled; assigneeCheck = s.jiraAssigneeCheckEnabled
                statusCheck = s.jiraStatusCheckEnabled; allowedStatuses = s.jiraAllowedStatuses.replacingOccurrences(of: ",", with: ", ")
                preventMerge = s.preventMergeWithoutJiraIssue
                closingBranches = s.closingBranches; openedTransition = s.mergeRequestOpenedTransition; smartCommits = s.smartCommitsEnabled
            }
        }
        struct IssueType: ViewModel { var id: String; var name: String; var selected: Bool }
        struct TransitionChoice: ViewModel { var id: String; var name: String; var to: String }
        struct TestResult: ViewModel { var success: Bool; var message: String; var detail: String }
        struct Override: ViewModel { var id: String; var path: String }

        var scopeName: String
        var scopeHelp: String
        var f: Form
        var errors: [String: String]
        var formAction: String
        var testAction: String
        var typesAction: String
        var transitionsAction: String
        var transitionChoices: [TransitionChoice] = []
        var hasTransitionChoices = false
        var transitionsIssue = ""
        var transitionsStatus = ""
        var resetAction: String
        var showProjectSections: Bool
        var hasTest: Bool
        var issueTypes: [IssueType]
        var issueTypesStatus: String
        var inherited: Bool
        var canInherit = false
        var defaultName: String?
        var testResult: TestResult?
        var hasReset = false
        var showOverrides = false
        var overrides: [Override] = []
        var hasOverrides = false
        var overridesTotal = 0
        var overridesPrev: Int?
        var overridesNext: Int?
        var rejection: RejectionNotice?
    }

    func settingsPage(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, _) = try await settingsLevel(route, context)
        let record = try await store.integration(at: level)
        var flash: Flash? = nil
        switch request.uri.queryParameters.get("saved") {
        case "active": flash = .ok("Jira settings saved and active.")
        case "inactive": flash = .ok("Jira settings saved, but not active.")
        default: break
        }
        if request.uri.queryParameters.get("reset") == "1" { flash = .ok("This integration, and inheriting projects were reset.") }
        let state = FormState(settings: record?.settings ?? JiraSettings(), inherited: record?.inheritFromID != nil)
        return try await renderSettings(route, state, context, flash: flash, overridesPage: QueryForm(request).webPage(perPage: 20))
    }

    func renderSettings(
        _ route: IntegrationRoute, _ state: FormState, _ context: BridgeRequestContext, status: HTTPResponse.Status = .ok,
        flash: Flash? = nil, overridesPage: PageRequest = PageRequest(page: 1, perPage: 20)
    ) async throws -> Response {
        let (level, scopeName, path) = try await settingsLevel(route, context)
        let s = state.settings
        var types = (state.issueTypes ?? []).map { SettingsView.IssueType(id: $0.id, name: $0.name, selected: $0.id == s.vulnerabilitiesIssueType) }
        if let current = s.vulnerabilitiesIssueType, !current.isEmpty, !types.contains(where: { $0.id == current }) {
            types.insert(.init(id: current, name: "Issue type \(current) (refresh to load names)", selected: true), at: 0)
        }
        let scopeHelp: String
        switch route {
        case .project: scopeHelp = "Settings › Integrations › Jira for this project."
        case .group: scopeHelp = "The default for every project and subgroup of this group that uses default settings."
        case .instance: scopeHelp = "The default for every project and group that uses default settings, unless a group default is nearer."
        }
        var view = SettingsView(
            scopeName: scopeName, scopeHelp: scopeHelp, f: SettingsView.Form(s), errors: state.errors, formAction: path,
            testAction: route == .instance ? "" : path + "/test", typesAction: route == .instance ? "" : path + "/issue_types",
            transitionsAction: route == .instance ? "" : path + "/transitions",
            resetAction: route == .project ? "" : path + "/reset", showProjectSections: route != .instance, hasTest: route != .instance,
            issueTypes: types, issueTypesStatus: state.issueTypesStatus, inherited: state.inherited, testResult: state.testResult)
        view.transitionChoices = state.transitionChoices.map { .init(id: $0.id, name: $0.name, to: $0.targetName ?? "") }
        view.hasTransitionChoices = !state.transitionChoices.isEmpty
        view.transitionsIssue = state.transitionsIssue
        view.transitionsStatus = state.transitionsStatus
        if route != .instance, let source = try await store.nearestDefault(for: level) {
            view.canInherit = true
            switch source.level {
            case .group(let gid): view.defaultName = "from group " + ((try await store.group(id: gid))?.forgePath ?? "\(gid)")
            default: view.defaultName = "from the instance"
            }
        }
        // Reset removes a default: only a group or the instance that has one.
        let stored = try await store.integration(at: level)
        view.hasReset = route != .project && stored != nil && stored?.inheritFromID == nil
        view.rejection = try await rejectionNotice(stored, paused: nil, settingsPath: path)
        if route != .project {
            let (items, total) = try await store.overrides(of: level, limit: overridesPage.perPage, offset: overridesPage.offset)
            view.showOverrides = stored != nil
            view.overrides = items.map { .init(id: $0.project.address, path: $0.project.forgePath) }
            view.hasOverrides = !items.isEmpty
            view.overridesTotal = total
            if overridesPage.page > 1 { view.overridesPrev = overridesPage.page - 1 }
            if overridesPage.hasNext(total: total) { view.overridesNext = overridesPage.page + 1 }
        }
        var crumbs: [Crumb] = [.home]
        if case .project(let id) = level, let project = try await store.project(id: id) { crumbs.append(.project(project)) }
        return render("settings", view, context, status: status, breadcrumbs: crumbs, flash: flash)
    }

    /// The form's fields as the API's parameters. Unchecked boxes are not sent by browsers: they are false.
    static func apiParameters(_ form: [String: ParameterValue], route: IntegrationRoute) -> [String: ParameterValue] {
        func flag(_ name: String) -> Bool { form.string(name) == "true" }
        var p: [String: ParameterValue] = [:]
        if route != .instance, let inherit = form.string("use_inherited_settings") { p["use_inherited_settings"] = .bool(inherit == "true") }
        p["active"] = .bool(flag("active"))
        for name in ["commit_events", "merge_requests_events", "comment_on_event_enabled"] { p[name] = .bool(flag(name)) }
        let transitions = flag("transitions_enabled")
        let mode = form.string("transition_mode") ?? "auto"
        p["jira_issue_transition_automatic"] = .bool(transitions && mode != "custom")
        p["jira_issue_transition_id"] = .string(transitions && mode == "custom" ? (form.string("jira_issue_transition_id") ?? "") : "")
        for name in [
            "url", "api_url", "username", "password", "jira_issue_regex", "jira_issue_prefix", "jira_auth_type", "jira_oauth_client_id",
            "jira_oauth_client_secret", "jira_allowed_statuses_as_string", "closing_branches", "merge_request_opened_transition",
        ] {
            if let v = form.string(name) { p[name] = .string(v) }
        }
        for name in [
            "development_panel_enabled", "builds_enabled", "deployments_enabled", "jira_check_enabled", "jira_exists_check_enabled",
            "jira_assignee_check_enabled", "jira_status_check_enabled", "prevent_merge_without_jira_issue", "smart_commits_enabled",
        ] { p[name] = .bool(flag(name)) }
        if route != .instance {
            p["issues_enabled"] = .bool(flag("issues_enabled"))
            p["project_keys"] = .string(form.string("project_keys") ?? "")
            p["vulnerabilities_enabled"] = .bool(flag("vulnerabilities_enabled"))
            p["project_key"] = .string(form.string("project_key") ?? "")
            p["vulnerabilities_issuetype"] = .string(form.string("vulnerabilities_issuetype") ?? "")
            p["customize_jira_issue_enabled"] = .bool(flag("customize_jira_issue_enabled"))
            p["vulnerabilities_extra_fields"] = .string(form.string("vulnerabilities_extra_fields") ?? "")
        }
        return p
    }

    /// The values as typed, for showing the form again (the password is never shown).
    func typedState(_ level: IntegrationLevel, _ params: [String: ParameterValue], inherited: Bool) async throws -> FormState {
        var settings = try await store.integration(at: level)?.settings ?? JiraSettings()
        if let update = try? SettingsUpdate(parameters: params) { settings = update.applied(to: settings) }
        return FormState(settings: settings, inherited: inherited)
    }

    func saveSettings(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, path) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        let params = Self.apiParameters(form, route: route)
        do {
            let record = try await service.update(at: level, parameters: params, logger: context.logger)
            return redirect(path + "?saved=" + (record.settings.active ? "active" : "inactive"))
        } catch let failure as ServiceFailure {
            var state = try await typedState(level, params, inherited: params["use_inherited_settings"] == .bool(true))
            let flash: Flash
            switch failure {
            case .invalid(let errors):
                for entry in errors.byField { state.errors[entry.field] = entry.messages.joined(separator: ", ") }
                flash = .error("The Jira settings were not saved. Check the fields marked below.")
            case .notFound(.defaultIntegration):
                flash = .error("There is no default to use: save custom settings, or set a group or instance default first.")
            case .badParameter(let text):
                flash = .error(text)
            default:
                throw failure
            }
            return try await renderSettings(route, state, context, status: .unprocessableContent, flash: flash)
        }
    }

    func testSettings(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, _) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        var params = Self.apiParameters(form, route: route)
        params["use_inherited_settings"] = nil
        let result = try await service.test(at: level, parameters: params, logger: context.logger)
        if Self.wantsJSON(request) { return try JSONBody.response(result) }
        var state = try await typedState(level, params, inherited: false)
        let success = result["success"] == .bool(true)
        state.testResult = .init(
            success: success, message: success ? "Connection successful." : (result["message"]?.string ?? "Connection failed."),
            detail: result["service_response"]?.string ?? "")
        return try await renderSettings(route, state, context)
    }

    func refreshIssueTypes(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, _) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        var params = Self.apiParameters(form, route: route)
        params["use_inherited_settings"] = nil
        var state = try await typedState(level, params, inherited: false)
        var message: String? = nil
        do {
            let connection = try JiraConnection(settings: state.settings)
            state.issueTypes = try await service.issueTypes(state.settings, connection: connection, logger: context.logger)
            state.issueTypesStatus = "\(state.issueTypes?.count ?? 0) issue types loaded from Jira."
        } catch let error as JiraError {
            message = error.userMessage
        } catch {
            message = "The issue types could not be loaded: enter the Web URL and credentials first."
        }
        if Self.wantsJSON(request) {
            if let message { return try JSONBody.response(.object(["message": .string(message)]), status: .badGateway) }
            return try JSONBody.response(.array((state.issueTypes ?? []).map(IntegrationService.issueTypeJSON)))
        }
        if let message { state.issueTypesStatus = message }
        return try await renderSettings(route, state, context)
    }

    /// "Load transitions": the transitions a Jira issue offers now (its workflow's, from its status), read with
    /// the typed connection settings, offered as choices for both transition fields. With the page's script it
    /// answers JSON in place; without, the form comes back with the list beside the fields, values as typed.
    func loadTransitions(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, _) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        var params = Self.apiParameters(form, route: route)
        params["use_inherited_settings"] = nil
        var state = try await typedState(level, params, inherited: false)
        let key = (form.string("transitions_issue") ?? "").trimmingWhitespace().uppercased()
        state.transitionsIssue = String(key.prefix(255))
        var message: String? = nil
        if !BranchName.isIssueKey(key) {
            message = "Enter the key of a Jira issue (PROJ-1): its workflow's transitions are loaded."
        } else {
            do {
                let connection = try JiraConnection(settings: state.settings)
                state.transitionChoices = try await service.jira.transitions(connection, issue: key, logger: context.logger)
                state.transitionsStatus = "\(state.transitionChoices.count) transitions \(key) offers now."
            } catch let error as JiraError {
                message = error.status == 404 ? "Jira knows no issue \(key) for these credentials." : error.userMessage
            } catch {
                message = "The transitions could not be loaded: enter the Web URL and credentials first."
            }
        }
        if Self.wantsJSON(request) {
            if let message { return try JSONBody.response(.object(["message": .string(message)]), status: .badGateway) }
            return try JSONBody.response(
                .array(
                    state.transitionChoices.map {
                        .object(["id": .string($0.id), "name": .string($0.name), "to": $0.targetName.map(JSONValue.string) ?? .null])
                    }))
        }
        if let message { state.transitionsStatus = message }
        return try await renderSettings(route, state, context)
    }

    func reset(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, path) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        guard form.string("confirm") == "yes" else {
            let record = try await store.integration(at: level)
            return try await renderSettings(
                route, FormState(settings: record?.settings ?? JiraSettings(), inherited: record?.inheritFromID != nil),
                context, status: .unprocessableContent, flash: .error("Tick the confirmation to reset."))
        }
        _ = try await store.deleteIntegration(at: level)
        return redirect(path + "?reset=1")
    }
}
