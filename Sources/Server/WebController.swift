import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The web pages: sign-in, projects and groups, the Jira settings form at each level, the Jira issues
/// list and detail, and the delivery log. Server-rendered; a little script only improves Test settings
/// and the issue type refresh, which also work without it.
struct WebController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    let service: IntegrationService
    let issues: JiraIssuesService
    let vulnerabilities: VulnerabilityService
    let pages: WebPages
    let adminToken: String
    let secureCookies: Bool
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxies`).
    var trustedProxies: [IPNetwork] = []
    let throttle = SignInThrottle()
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.get("/-/assets/:name") { _, context in
            guard let response = pages.asset(try context.parameters.require("name")) else { throw APIError.notFound }
            return response
        }
        // Browsers ask for it whatever the page says.
        router.get("/favicon.ico") { _, _ in
            guard let response = pages.asset("favicon.svg") else { throw APIError.notFound }
            return response
        }
        router.get("/") { request, context in
            try await page(request, context, signInRequired: false) {
                guard let identity = context.webIdentity else { return signInPage(request, next: request.uri.queryParameters.get("next")) }
                return try await home(identity, context)
            }
        }
        router.post("/sign_in") { request, context in try await signIn(request, context) }
        router.post("/sign_out") { request, context in
            try await page(request, context) {
                _ = try await WebForm.read(request, context: context)
                if let session = context.webSession { try await store.deleteSession(idHash: session.idHash) }
                return redirect("/", cookies: [WebSessionMiddleware.setCookie(WebSessionMiddleware.cookieName, "", maxAge: 0, secure: secureCookies)])
            }
        }
        router.get("/projects/:id") { request, context in
            try await page(request, context) { try await projectPage(context) }
        }
        for route in IntegrationRoute.allCases {
            let path = Self.settingsPath(route)
            router.get(RouterPath(path)) { request, context in
                try await page(request, context) { try await settingsPage(route, request, context) }
            }
            router.post(RouterPath(path)) { request, context in
                try await page(request, context) { try await saveSettings(route, request, context) }
            }
            if route != .instance {
                router.post(RouterPath(path + "/test")) { request, context in
                    try await page(request, context) { try await testSettings(route, request, context) }
                }
                router.post(RouterPath(path + "/issue_types")) { request, context in
                    try await page(request, context) { try await refreshIssueTypes(route, request, context) }
                }
            }
            if route != .project {
                router.post(RouterPath(path + "/reset")) { request, context in
                    try await page(request, context) { try await reset(route, request, context) }
                }
            }
        }
        router.get("/projects/:id/integrations/jira/issues") { request, context in
            try await page(request, context) { try await issuesPage(request, context) }
        }
        router.get("/projects/:id/integrations/jira/issues/:key") { request, context in
            try await page(request, context) { try await issuePage(context) }
        }
        router.get("/projects/:id/integrations/jira/deliveries") { request, context in
            try await page(request, context) { try await deliveriesPage(request, context) }
        }
        router.post("/projects/:id/integrations/jira/deliveries/:delivery_id/retry") { request, context in
            try await page(request, context) { try await retryDelivery(request, context) }
        }
        router.get("/projects/:id/security/vulnerabilities") { request, context in
            try await page(request, context) { try await vulnerabilitiesPage(request, context) }
        }
        router.get("/projects/:id/-/security/vulnerabilities/:vid") { request, context in
            try await page(request, context) { try await vulnerabilityPage(request, context) }
        }
        router.post("/projects/:id/security/vulnerabilities/:vid/jira_issue") { request, context in
            try await page(request, context) { try await createJiraIssue(request, context) }
        }
    }

    static func settingsPath(_ route: IntegrationRoute) -> String {
        switch route {
        case .project: return "/projects/:id/settings/integrations/jira"
        case .group: return "/groups/:id/settings/integrations/jira"
        case .instance: return "/admin/integrations/jira"
        }
    }

    // MARK: Plumbing

    /// Runs a page handler: signed-out visitors go to the sign-in page, refusals become error pages.
    func page(_ request: Request, _ context: BridgeRequestContext, signInRequired: Bool = true,
              _ body: () async throws -> Response) async throws -> Response {
        if signInRequired && context.webIdentity == nil {
            if request.method == .get {
                let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                return redirect("/?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"))
            }
            return errorPage(WebError(status: .forbidden, heading: "Signed out", message: "Your session has ended. Sign in again."), context)
        }
        do {
            return try await body()
        } catch let error as WebError {
            return errorPage(error, context)
        } catch let error as APIError {
            let message = error.body["message"]?.string ?? error.body["error"]?.string ?? "The request failed."
            switch error.status {
            case .unauthorized, .forbidden: return errorPage(.forbidden, context)
            case .notFound: return errorPage(WebError(status: .notFound, heading: "Not found", message: message), context)
            default: return errorPage(WebError(status: error.status, heading: "Request failed", message: message), context)
            }
        } catch {
            context.logger.error("page failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            return errorPage(WebError(status: .internalServerError, heading: "Something went wrong",
                                      message: "The page could not be shown. The server log has the details."), context)
        }
    }

    func render(_ template: String, _ values: [String: Any], _ context: BridgeRequestContext, status: HTTPResponse.Status = .ok,
                breadcrumbs: [(String, String)] = [], flash: (kind: String, text: String)? = nil) -> Response {
        var all = values
        all["signedIn"] = context.webIdentity != nil
        all["isAdmin"] = context.webIdentity == .instanceAdmin
        all["who"] = context.webUser ?? ""
        all["csrf"] = context.webSession?.csrfToken ?? ""
        all["hasBreadcrumbs"] = !breadcrumbs.isEmpty
        all["breadcrumbs"] = breadcrumbs.map { ["label": $0.0, "href": $0.1] }
        if let flash { all["flash"] = ["kind": flash.kind, "text": flash.text] }
        return pages.render(template, all, status: status)
    }

    func errorPage(_ error: WebError, _ context: BridgeRequestContext) -> Response {
        render("error", ["heading": error.heading, "message": error.message], context, status: error.status)
    }

    func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// Whether the request came from the page's script (it asks for JSON).
    static func wantsJSON(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").contains("application/json")
    }

    // MARK: Sign-in

    func signInPage(_ request: Request, next: String?, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        // Sign-in CSRF: the form carries the value of a cookie set with it (double submit).
        let token = TokenSecret.generate()
        var headers: HTTPFields = [:]
        headers.append(HTTPField(name: .setCookie, value: WebSessionMiddleware.setCookie(WebSessionMiddleware.signInCookieName, token,
                                                                                        maxAge: 3600, secure: secureCookies)))
        var values: [String: Any] = ["signinCSRF": token, "next": Self.safeNext(next) ?? ""]
        if let error { values["error"] = error }
        values["signedIn"] = false
        return pages.render("signin", values, status: status, headers: headers)
    }

    /// Only local paths are followed after sign-in. Browsers drop tabs and newlines from URLs and read
    /// a backslash as a slash, so `/\t/evil.com` and `/\\evil.com` mean `//evil.com`: the check is made on
    /// what the browser would read, and that is what is returned.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.utf8.count <= 2048 else { return nil }
        var cleaned = ""
        for scalar in next.unicodeScalars {
            switch scalar {
            case "\t", "\n", "\r": continue
            case "\\": cleaned.unicodeScalars.append("/")
            default:
                // Other control characters have no place in a path.
                if scalar.value < 0x20 || scalar.value == 0x7f { return nil }
                cleaned.unicodeScalars.append(scalar)
            }
        }
        guard cleaned.hasPrefix("/"), !cleaned.hasPrefix("//") else { return nil }
        return cleaned
    }

    func signIn(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let params = try await RequestParameters.read(request, context: context)
        let next = Self.safeNext(params.string("next"))
        guard let cookie = WebSessionMiddleware.cookie(request, WebSessionMiddleware.signInCookieName),
              let presented = params.string("_csrf"), TokenSecret.constantTimeEquals(cookie, presented) else {
            return signInPage(request, next: next, error: "The sign-in form expired. Try again.", status: .forbidden)
        }
        let address = context.clientAddress(request, trusting: trustedProxies)
        let token = (params.string("token") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var isAdmin = false
        var tokenID: Int64? = nil
        // A valid token always signs in, throttled address or not: the throttle slows guessing (and keeps
        // the log quiet), it must never lock out the people behind a shared address.
        if let found = try await TokenIdentities(store: store, adminToken: adminToken).identity(presented: token) {
            isAdmin = found.identity == .instanceAdmin
            tokenID = found.identity.tokenID
        } else if let wait = throttle.retryAfter(address) {
            var response = signInPage(request, next: next, error: "Too many failed sign-ins from your address. Try again in \(wait) seconds.",
                                      status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        } else {
            throttle.failed(address)
            context.logger.notice("web sign-in refused", metadata: ["client": "\(address)"])
            return signInPage(request, next: next, error: "That token is not valid.", status: .unauthorized)
        }
        let value = TokenSecret.generate()
        let now = currentMillis()
        try await store.createSession(WebSession(idHash: TokenSecret.hash(value), tokenID: tokenID, isAdmin: isAdmin,
                                                 csrfToken: TokenSecret.generate(), createdAt: now,
                                                 expiresAt: now + WebSessionMiddleware.lifetimeMillis))
        return redirect(next ?? "/", cookies: [
            WebSessionMiddleware.setCookie(WebSessionMiddleware.cookieName, value, maxAge: Int(WebSessionMiddleware.lifetimeMillis / 1000),
                                           secure: secureCookies),
            WebSessionMiddleware.setCookie(WebSessionMiddleware.signInCookieName, "", maxAge: 0, secure: secureCookies),
        ])
    }

    // MARK: Home and project

    func home(_ identity: Identity, _ context: BridgeRequestContext) async throws -> Response {
        var projects: [[String: Any]] = []
        for p in try await store.projects() where try await access.allows(identity, .reporter, project: p) {
            let record = try await store.integration(at: .project(p.id))
            projects.append(["id": p.id, "path": p.pathWithNamespace, "active": record?.settings.active ?? false,
                             "inherited": record?.inheritFromID != nil])
        }
        var groups: [[String: Any]] = []
        for g in try await store.groups() where try await access.allows(identity, .maintainer, group: g) {
            let record = try await store.integration(at: .group(g.id))
            groups.append(["id": g.id, "path": g.fullPath, "custom": record != nil && record?.inheritFromID == nil,
                           "inherited": record?.inheritFromID != nil])
        }
        return render("home", ["projects": projects, "hasProjects": !projects.isEmpty, "groups": groups, "hasGroups": !groups.isEmpty], context)
    }

    func projectPage(_ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let record = try await store.integration(at: .project(project.id))
        var values: [String: Any] = ["project": projectValues(project)]
        if let record {
            let s = record.settings
            var summary: [String: Any] = [
                "active": s.active, "url": Self.linkable(s.url), "deployment": s.deploymentType == .cloud ? "Jira Cloud" : s.deploymentType == .server ? "Jira Server / Data Center" : "Jira",
                "projectKeys": s.projectKeys.joined(separator: ", "), "comments": s.commentOnEventEnabled,
                "transitions": s.transitionAutomatic ? "move to Done" : s.transitionIDs.isEmpty ? "" : "transition IDs \(s.transitionID)",
                "vulnerabilities": s.vulnerabilitiesEnabled,
            ]
            if record.inheritFromID != nil, let def = try await store.nearestDefault(for: .project(project.id)) {
                switch def.level {
                case .group(let gid): summary["inheritedFrom"] = "group " + ((try await store.group(id: gid))?.fullPath ?? "\(gid)")
                default: summary["inheritedFrom"] = "the instance"
                }
            }
            values["integration"] = summary
        }
        if let s = record?.settings, s.active, let url = s.url {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            // The seed's last step: the project shows a Jira link that opens the Jira project.
            values["jiraURL"] = Self.linkable(s.projectKeys.first.map { "\(base)/browse/\($0)" } ?? base)
            values["issuesEnabled"] = s.issuesEnabled
        }
        let counts = try await store.deliveryCounts(projectID: project.id)
        values["deliveries"] = ["succeeded": counts["succeeded"] ?? 0, "waiting": (counts["pending"] ?? 0) + (counts["running"] ?? 0),
                                "failed": (counts["failed"] ?? 0) + (counts["dead"] ?? 0), "skipped": counts["skipped"] ?? 0]
        values["hasFailures"] = ((counts["failed"] ?? 0) + (counts["dead"] ?? 0)) > 0
        var detected = VulnerabilityFilter()
        detected.states = ["detected"]
        values["openVulnerabilities"] = try await store.vulnerabilities(projectID: project.id, filter: detected, limit: 1, offset: 0).total
        values["canManage"] = try await access.allows(identity, .maintainer, project: project)
        return render("project", values, context, breadcrumbs: [("Projects and groups", "/")])
    }

    func projectValues(_ p: Project) -> [String: Any] {
        ["id": p.id, "name": p.name, "path": p.pathWithNamespace, "webURL": Self.linkable(p.webURL)]
    }

    // MARK: Settings form

    /// The level a settings page is about, once the signed-in user may manage it.
    func settingsLevel(_ route: IntegrationRoute, _ context: BridgeRequestContext) async throws -> (IntegrationLevel, String, String) {
        let identity = try context.requireIdentity()
        switch route {
        case .project:
            let project = try await lookup.project(context)
            guard try await access.allows(identity, .maintainer, project: project) else { throw WebError.forbidden }
            return (.project(project.id), "project \(project.pathWithNamespace)", "/projects/\(project.id)/settings/integrations/jira")
        case .group:
            let group = try await lookup.group(context)
            guard try await access.allows(identity, .maintainer, group: group) else { throw WebError.forbidden }
            return (.group(group.id), "group \(group.fullPath)", "/groups/\(group.id)/settings/integrations/jira")
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
        var testResult: [String: Any]? = nil
    }

    func settingsPage(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, _) = try await settingsLevel(route, context)
        let record = try await store.integration(at: level)
        var flash: (String, String)? = nil
        switch request.uri.queryParameters.get("saved") {
        case "active": flash = ("ok", "Jira settings saved and active.")
        case "inactive": flash = ("ok", "Jira settings saved, but not active.")
        default: break
        }
        if request.uri.queryParameters.get("reset") == "1" { flash = ("ok", "This integration, and inheriting projects were reset.") }
        let state = FormState(settings: record?.settings ?? JiraSettings(), inherited: record?.inheritFromID != nil)
        return try await renderSettings(route, state, context, flash: flash, overridesPage: QueryForm(request).webPage(perPage: 20))
    }

    func renderSettings(_ route: IntegrationRoute, _ state: FormState, _ context: BridgeRequestContext, status: HTTPResponse.Status = .ok,
                        flash: (String, String)? = nil, overridesPage: PageRequest = PageRequest(page: 1, perPage: 20)) async throws -> Response {
        let (level, scopeName, path) = try await settingsLevel(route, context)
        let s = state.settings
        let transitionsEnabled = s.transitionAutomatic || !s.transitionID.isEmpty
        let form: [String: Any] = [
            "active": s.active, "url": s.url ?? "", "apiURL": s.apiURL ?? "", "authBasic": s.authType == 0, "authPAT": s.authType == 1,
            "username": s.username ?? "", "hasPassword": (s.password ?? "").isEmpty == false,
            "commitEvents": s.commitEvents, "mergeRequestsEvents": s.mergeRequestsEvents, "comments": s.commentOnEventEnabled,
            "transitionsEnabled": transitionsEnabled, "transitionAuto": s.transitionAutomatic || s.transitionID.isEmpty,
            "transitionCustom": !s.transitionAutomatic && !s.transitionID.isEmpty, "transitionID": s.transitionID,
            "issueRegex": s.issueRegex, "issuePrefix": s.issuePrefix, "issuesEnabled": s.issuesEnabled,
            "projectKeys": s.projectKeys.joined(separator: ", "), "vulnerabilitiesEnabled": s.vulnerabilitiesEnabled,
            "projectKey": s.projectKey ?? "", "customize": s.customizeJiraIssueEnabled, "extraFields": s.vulnerabilitiesExtraFields,
        ]
        var types: [[String: Any]] = (state.issueTypes ?? []).map { ["id": $0.id, "name": $0.name, "selected": $0.id == s.vulnerabilitiesIssueType] }
        if let current = s.vulnerabilitiesIssueType, !current.isEmpty, !types.contains(where: { ($0["id"] as? String) == current }) {
            types.insert(["id": current, "name": "Issue type \(current) (refresh to load names)", "selected": true], at: 0)
        }
        var values: [String: Any] = [
            "scopeName": scopeName, "f": form, "errors": state.errors, "formAction": path,
            "testAction": route == .instance ? "" : path + "/test", "typesAction": route == .instance ? "" : path + "/issue_types",
            "resetAction": route == .project ? "" : path + "/reset", "showProjectSections": route != .instance,
            "hasTest": route != .instance,
            "issueTypes": types, "issueTypesStatus": state.issueTypesStatus, "inherited": state.inherited,
        ]
        switch route {
        case .project: values["scopeHelp"] = "Settings › Integrations › Jira for this project."
        case .group: values["scopeHelp"] = "The default for every project and subgroup of this group that uses default settings."
        case .instance: values["scopeHelp"] = "The default for every project and group that uses default settings, unless a group default is nearer."
        }
        if route != .instance, let source = try await store.nearestDefault(for: level) {
            values["canInherit"] = true
            switch source.level {
            case .group(let gid): values["defaultName"] = "from group " + ((try await store.group(id: gid))?.fullPath ?? "\(gid)")
            default: values["defaultName"] = "from the instance"
            }
        }
        if let testResult = state.testResult { values["testResult"] = testResult }
        // Reset removes a default: only a group or the instance that has one.
        let stored = try await store.integration(at: level)
        values["hasReset"] = route != .project && stored != nil && stored?.inheritFromID == nil
        if route != .project {
            let (items, total) = try await store.overrides(of: level, limit: overridesPage.perPage, offset: overridesPage.offset)
            values["showOverrides"] = stored != nil
            values["overrides"] = items.map { ["id": $0.project.id, "path": $0.project.pathWithNamespace] }
            values["hasOverrides"] = !items.isEmpty
            values["overridesTotal"] = total
            if overridesPage.page > 1 { values["overridesPrev"] = overridesPage.page - 1 }
            if overridesPage.hasNext(total: total) { values["overridesNext"] = overridesPage.page + 1 }
        }
        var crumbs: [(String, String)] = [("Projects and groups", "/")]
        if case .project(let id) = level, let project = try await store.project(id: id) {
            crumbs.append((project.pathWithNamespace, "/projects/\(id)"))
        }
        return render("settings", values, context, status: status, breadcrumbs: crumbs, flash: flash.map { (kind: $0.0, text: $0.1) })
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
        for name in ["url", "api_url", "username", "password", "jira_issue_regex", "jira_issue_prefix", "jira_auth_type"] {
            if let v = form.string(name) { p[name] = .string(v) }
        }
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
        } catch let error as APIError where error.status == .badRequest || error.status == .notFound {
            var state = try await typedState(level, params, inherited: params["use_inherited_settings"] == .bool(true))
            var flash: (String, String)? = nil
            if case .object(let fields)? = error.body["message"] {
                for (field, messages) in fields { state.errors[field] = (messages.array ?? []).compactMap(\.string).joined(separator: ", ") }
                flash = ("error", "The Jira settings were not saved. Check the fields marked below.")
            } else {
                flash = ("error", error.body["message"]?.string ?? error.body["error"]?.string ?? "The Jira settings were not saved.")
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
        state.testResult = ["success": success,
                            "message": success ? "Connection successful." : (result["message"]?.string ?? "Connection failed."),
                            "detail": result["service_response"]?.string ?? ""]
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

    func reset(_ route: IntegrationRoute, _ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let (level, _, path) = try await settingsLevel(route, context)
        let form = try await WebForm.read(request, context: context)
        guard form.string("confirm") == "yes" else {
            let record = try await store.integration(at: level)
            return try await renderSettings(route, FormState(settings: record?.settings ?? JiraSettings(), inherited: record?.inheritFromID != nil),
                                            context, status: .unprocessableContent, flash: ("error", "Tick the confirmation to reset."))
        }
        _ = try await store.deleteIntegration(at: level)
        return redirect(path + "?reset=1")
    }

    // MARK: Jira issues

    static let sorts: [(String, String)] = [("created_desc", "Created date"), ("created_asc", "Created date, oldest first"),
                                            ("updated_desc", "Last updated"), ("updated_asc", "Last updated, oldest first")]

    func issuesPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .reporter, project: project) else { throw WebError.forbidden }
        let q = QueryForm(request)
        var listRequest: JiraIssuesService.ListRequest
        do { listRequest = try JiraIssuesController.listRequest(q) } catch { throw WebError(status: .badRequest, heading: "Bad request", message: "\(error)") }
        let state = q.get("state") ?? "opened"
        listRequest.query.state = state
        listRequest.perPage = (try? q.pageRequest()).map(\.perPage) ?? 20
        let sort = q.get("sort") ?? "created_desc"
        listRequest.query.sort = sort
        var values: [String: Any] = [
            "project": projectValues(project), "search": q.get("search") ?? "", "labels": listRequest.query.labels.joined(separator: ", "),
            "state": ["opened": state == "opened", "closed": state == "closed", "all": state != "opened" && state != "closed"],
            "sorts": Self.sorts.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == sort] },
        ]
        let settings: JiraSettings
        do { settings = try await issues.settings(for: project) } catch { throw Self.webError(error) }
        if settings.projectKeys.count > 1 {
            values["hasProjectChoice"] = true
            values["projectChoices"] = settings.projectKeys.map { ["key": $0, "selected": $0 == listRequest.project] }
        }
        do {
            let page = try await issues.list(project, listRequest, logger: context.logger)
            let rows = page.issues.map { Self.issueValues($0, projectID: project.id) }
            values["issues"] = rows
            values["hasIssues"] = !rows.isEmpty
            var base = URLComponents()
            base.queryItems = q.pairs.filter { !["page", "next_page_token"].contains($0.0) }.map { URLQueryItem(name: $0.0, value: $0.1) }
            func href(_ extra: [URLQueryItem]) -> String {
                var c = base
                c.queryItems = (c.queryItems ?? []) + extra
                return "?" + (c.percentEncodedQuery ?? "")
            }
            if page.deployment == .cloud {
                // Cloud has no page numbers or total: a cursor to the next page.
                if let token = page.nextPageToken, !page.isLast { values["nextHref"] = href([URLQueryItem(name: "next_page_token", value: token)]) }
                if listRequest.nextPageToken != nil { values["firstHref"] = href([]) }
            } else {
                let total = page.total ?? 0
                let count = max(1, (total + page.perPage - 1) / page.perPage)
                let first = max(1, min(page.page - 4, count - 8))
                let last = min(count, first + 8)
                if count > 1 {
                    values["pages"] = (first...last).map { n in ["number": n, "current": n == page.page, "href": href([URLQueryItem(name: "page", value: String(n))])] as [String: Any] }
                }
                values["totalText"] = "\(total) issues"
            }
        } catch {
            values["error"] = Self.webError(error).message
        }
        return render("issues", values, context, breadcrumbs: [("Projects and groups", "/"), (project.pathWithNamespace, "/projects/\(project.id)")])
    }

    func issuePage(_ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .reporter, project: project) else { throw WebError.forbidden }
        let key = try context.parameters.require("key")
        let entity: JSONValue
        do { entity = try await issues.detail(project, key: key, logger: context.logger) } catch { throw Self.webError(error) }
        var values = Self.issueValues(entity, projectID: project.id)
        values["state"] = entity["state"]?.string ?? ""
        values["descriptionHTML"] = entity["description_html"]?.string ?? ""
        values["dueDate"] = entity["due_date"]?.string ?? ""
        values["comments"] = (entity["comments"]?.array ?? []).map { c in
            ["author": c["author"]?["name"]?.string ?? "", "bodyHTML": c["body_html"]?.string ?? "",
             "created": c["created_at"]?.string ?? "", "createdShort": Self.short(c["created_at"]?.string)] as [String: Any]
        }
        return render("issue", values, context, breadcrumbs: [("Projects and groups", "/"), (project.pathWithNamespace, "/projects/\(project.id)"),
                                                              ("Jira issues", "/projects/\(project.id)/integrations/jira/issues")])
    }

    static func issueValues(_ e: JSONValue, projectID: Int64) -> [String: Any] {
        let closedAt = e["closed_at"]?.string
        return [
            "projectID": projectID, "key": e["references"]?["relative"]?.string ?? "", "title": e["title"]?.string ?? "",
            "status": e["status"]?.string ?? "", "closed": closedAt != nil,
            "labels": (e["labels"]?.array ?? []).map { ["name": $0["name"]?.string ?? ""] },
            "author": e["author"]?["name"]?.string ?? "", "authorURL": e["author"]?["web_url"]?.string ?? "",
            "assignee": e["assignees"]?.array?.first?["name"]?.string ?? "",
            "created": e["created_at"]?.string ?? "", "createdShort": short(e["created_at"]?.string),
            "updated": e["updated_at"]?.string ?? "", "updatedShort": short(e["updated_at"]?.string),
            "closedAt": closedAt ?? "", "closedShort": short(closedAt), "webURL": e["web_url"]?.string ?? "",
        ]
    }

    /// A URL from reports or webhooks, for an `href`: only absolute http(s) ones; anything else (a
    /// `javascript:` link in a hostile report) is shown as text instead.
    static func linkable(_ url: String?) -> String {
        guard let url, let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased(),
              scheme == "http" || scheme == "https", HTMLSanitizer.isSafeURL(url) else { return "" }
        return url
    }

    /// `2024-01-31T12:00:00.000Z` as `2024-01-31 12:00`.
    static func short(_ iso: String?) -> String {
        guard let iso, iso.count >= 16 else { return iso ?? "" }
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(5))
    }

    static func webError(_ error: any Error) -> WebError {
        guard let failure = error as? JiraIssuesService.Failure else {
            return WebError(status: .internalServerError, heading: "Something went wrong", message: "The Jira issues could not be shown.")
        }
        switch failure {
        case .notConfigured: return WebError(status: .badRequest, heading: "Jira is not configured", message: "Jira service not configured.")
        case .issuesDisabled: return WebError(status: .notFound, heading: "Jira issues are off",
                                              message: "Viewing Jira issues is not enabled for this project (Settings › Integrations › Jira › View Jira issues).")
        case .notFound: return .notFound("The Jira issue")
        case .jira(let e): return WebError(status: .badGateway, heading: "Jira did not answer", message: e.userMessage)
        }
    }

    // MARK: Delivery log

    func deliveriesPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let canRetry = try await access.allows(identity, .maintainer, project: project)
        let page = QueryForm(request).webPage(perPage: 50)
        let (items, total) = try await store.deliveries(projectID: project.id, limit: page.perPage, offset: page.offset)
        let rows: [[String: Any]] = items.map { d in
            let updated = isoTimestamp(d.updatedAt)
            return ["id": d.id, "projectID": project.id, "issueKey": d.issueKey, "action": d.action.rawValue, "status": d.status.rawValue,
                    "attempts": d.attempts, "lastError": d.lastError ?? "", "updated": updated, "updatedShort": Self.short(updated),
                    "retryable": canRetry && (d.status == .failed || d.status == .dead)]
        }
        var values: [String: Any] = ["project": projectValues(project), "deliveries": rows, "hasDeliveries": !rows.isEmpty, "total": total]
        // Events that reached a limit or could not be planned: what they did not do is said here too.
        let notes = try await store.eventNotes(projectID: project.id, limit: 20, offset: 0)
        values["eventNotes"] = notes.items.map { e -> [String: Any] in
            let received = isoTimestamp(e.receivedAt)
            return ["id": e.id, "kind": e.kind, "status": e.status, "text": e.error ?? e.note ?? "", "received": received, "receivedShort": Self.short(received)]
        }
        values["hasEventNotes"] = !notes.items.isEmpty
        if page.page > 1 { values["prev"] = page.page - 1 }
        if page.hasNext(total: total) { values["next"] = page.page + 1 }
        var flash: (kind: String, text: String)? = nil
        if let retried = request.uri.queryParameters.get("retried") { flash = ("ok", "Delivery \(retried) is queued again.") }
        return render("deliveries", values, context, breadcrumbs: [("Projects and groups", "/"), (project.pathWithNamespace, "/projects/\(project.id)")],
                      flash: flash)
    }

    func retryDelivery(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        guard let id = Int64(try context.parameters.require("delivery_id")), let d = try await store.delivery(id: id), d.projectID == project.id else {
            throw WebError.notFound("The delivery")
        }
        guard try await store.retryDelivery(id: id, now: currentMillis()) != nil else {
            throw WebError(status: .badRequest, heading: "Not retried", message: "Only failed or dead deliveries can be retried; this one is \(d.status.rawValue).")
        }
        return redirect("/projects/\(project.id)/integrations/jira/deliveries?retried=\(id)")
    }

    // MARK: Vulnerabilities

    static let severities = ["critical", "high", "medium", "low", "info", "unknown"]

    func vulnerabilitiesPage(_ request: Request, _ context: BridgeRequestContext, flash: (kind: String, text: String)? = nil,
                             status: HTTPResponse.Status = .ok) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let q = QueryForm(request)
        var filter = VulnerabilityFilter()
        let severity = q.get("severity") ?? ""
        if Self.severities.contains(severity) { filter.severities = [severity] }
        let state = q.get("state") ?? "detected"
        if state == "detected" || state == "resolved" { filter.states = [state] }
        let page = q.webPage(perPage: 50)
        let (items, total) = try await store.vulnerabilities(projectID: project.id, filter: filter, limit: page.perPage, offset: page.offset)
        let canManage = try await access.allows(identity, .maintainer, project: project)
        var canCreate = false
        if canManage { canCreate = (try? await vulnerabilities.creatingSettings(project)) != nil }
        let rows = items.map { v in vulnerabilityValues(project, v, canCreate: canCreate) }
        func pageHref(_ n: Int) -> String {
            var c = URLComponents()
            c.queryItems = [URLQueryItem(name: "severity", value: severity), URLQueryItem(name: "state", value: state), URLQueryItem(name: "page", value: String(n))]
            return "?" + (c.percentEncodedQuery ?? "")
        }
        var values: [String: Any] = [
            "project": projectValues(project), "vulnerabilities": rows, "hasVulnerabilities": !rows.isEmpty, "total": total,
            "canCreate": canCreate, "canManage": canManage,
            "severities": Self.severities.map { ["value": $0, "selected": $0 == severity] },
            "state": ["detected": state == "detected", "resolved": state == "resolved", "all": state != "detected" && state != "resolved"],
        ]
        if page.page > 1 { values["prev"] = pageHref(page.page - 1) }
        if page.hasNext(total: total) { values["next"] = pageHref(page.page + 1) }
        var shown = flash
        if shown == nil, let created = q.get("created") { shown = ("ok", "Jira issue \(created) created.") }
        if shown == nil, let existing = q.get("existing") { shown = ("ok", "This vulnerability already has the Jira issue \(existing).") }
        return render("vulnerabilities", values, context, status: status,
                      breadcrumbs: [("Projects and groups", "/"), (project.pathWithNamespace, "/projects/\(project.id)")], flash: shown)
    }

    func vulnerabilityValues(_ project: Project, _ v: VulnerabilityRecord, canCreate: Bool) -> [String: Any] {
        let f = v.finding
        let l = f.location
        let location: String
        if let file = l.file { location = l.startLine.map { "\(file):\($0)" } ?? file }
        else if let image = l.image { location = [image, l.packageName].compactMap { $0 }.joined(separator: " ") }
        else if let host = l.hostname { location = host + (l.path ?? "") }
        else { location = l.packageName ?? "" }
        var values: [String: Any] = [
            "id": v.id, "projectID": project.id, "title": f.title, "severity": f.severity, "state": v.state, "resolved": v.state == "resolved",
            "location": location, "scanner": f.scanner.name, "reportType": f.reportType, "canCreate": canCreate,
            "description": f.description ?? "", "solution": f.solution ?? "",
            "identifiers": f.identifiers.map { ["name": $0.name, "url": Self.linkable($0.url)] },
            "links": f.links.map { ["label": $0.name ?? $0.url, "url": Self.linkable($0.url)] }, "hasLinks": !f.links.isEmpty,
        ]
        if let file = l.file, let url = vulnerabilities.blobURL(project, v, file: file) {
            values["locationURL"] = Self.linkable(url + (l.startLine.map { "#L\($0)" } ?? ""))
        }
        if let link = v.issueLink { values["issueKey"] = link.issueKey; values["issueURL"] = link.webURL }
        return values
    }

    func vulnerabilityPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        guard let id = Int64(try context.parameters.require("vid")), let v = try await store.vulnerability(projectID: project.id, id: id) else {
            throw WebError.notFound("The vulnerability")
        }
        var canCreate = false
        if try await access.allows(identity, .maintainer, project: project) { canCreate = (try? await vulnerabilities.creatingSettings(project)) != nil }
        return render("vulnerability", vulnerabilityValues(project, v, canCreate: canCreate), context,
                      breadcrumbs: [("Projects and groups", "/"), (project.pathWithNamespace, "/projects/\(project.id)"),
                                    ("Vulnerabilities", "/projects/\(project.id)/security/vulnerabilities")])
    }

    func createJiraIssue(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        guard let id = Int64(try context.parameters.require("vid")), let v = try await store.vulnerability(projectID: project.id, id: id) else {
            throw WebError.notFound("The vulnerability")
        }
        let back = "/projects/\(project.id)/security/vulnerabilities"
        do {
            switch try await vulnerabilities.createIssue(project, v, logger: context.logger) {
            case .created(let link): return redirect(back + "?created=" + link.issueKey)
            case .existing(let link): return redirect(back + "?existing=" + link.issueKey)
            case .customize(let url): return redirect(url)
            }
        } catch let failure as VulnerabilityService.Failure {
            let error = VulnerabilitiesController.apiError(failure)
            let message = error.body["message"]?.string ?? "The Jira issue could not be created."
            return try await vulnerabilitiesPage(request, context, flash: ("error", message), status: error.status)
        }
    }
}
