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
                return try await home(identity, QueryForm(request), context)
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
                router.post(RouterPath(path + "/transitions")) { request, context in
                    try await page(request, context) { try await loadTransitions(route, request, context) }
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
        router.get("/projects/:id/integrations/jira/checks/:sha") { request, context in
            try await page(request, context) { try await checksPage(request, context) }
        }
        router.get("/projects/:id/integrations/jira/deliveries") { request, context in
            try await page(request, context) { try await deliveriesPage(request, context) }
        }
        router.get("/projects/:id/integrations/jira/events") { request, context in
            try await page(request, context) { try await eventsPage(request, context) }
        }
        router.get("/jira/create-branch") { request, context in
            try await page(request, context) { try await createBranchPage(request, context) }
        }
        router.post("/jira/create-branch") { request, context in
            try await page(request, context) { try await createBranchSubmit(request, context) }
        }
        router.post("/projects/:id/integrations/jira/backfill") { request, context in
            try await page(request, context) { try await startBackfill(request, context) }
        }
        router.post("/projects/:id/integrations/jira/deliveries/retry_failed") { request, context in
            try await page(request, context) { try await retryAllFailed(request, context) }
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
    func page(
        _ request: Request, _ context: BridgeRequestContext, signInRequired: Bool = true,
        _ body: () async throws -> Response
    ) async throws -> Response {
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
        } catch let failure as ServiceFailure {
            return errorPage(WebError(failure), context)
        } catch {
            context.logger.error("page failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            return errorPage(
                WebError(
                    status: .internalServerError, heading: "Something went wrong",
                    message: "The page could not be shown. The server log has the details."), context)
        }
    }

    func render<Model: ViewModel>(
        _ template: String, _ model: Model, _ context: BridgeRequestContext, status: HTTPResponse.Status = .ok,
        breadcrumbs: [Crumb] = [], flash: Flash? = nil
    ) -> Response {
        pages.render(template, RenderedPage(page: PageContext(context, breadcrumbs: breadcrumbs, flash: flash), model: model), status: status)
    }

    func errorPage(_ error: WebError, _ context: BridgeRequestContext) -> Response {
        render("error", ErrorView(heading: error.heading, message: error.message), context, status: error.status)
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

    // MARK: Home and project

    struct HomeView: ViewModel {
        struct ProjectRow: ViewModel { var id: String; var path: String; var forge: String; var active: Bool; var inherited: Bool }
        struct GroupRow: ViewModel { var id: Int64; var path: String; var forge: String; var custom: Bool; var inherited: Bool }
        var projects: [ProjectRow]
        var groups: [GroupRow]
        var hasProjects: Bool
        var hasGroups: Bool
        var projectsTotal: Int
        var groupsTotal: Int
        /// The pagers' links: each keeps the other list's page.
        var projectsPrev: String?
        var projectsNext: String?
        var groupsPrev: String?
        var groupsNext: String?
    }

    /// The projects and groups the signed-in token reaches, 50 of each a page (`page`, `groups_page`): a home page of
    /// thousands of projects is as quick as one of ten.
    func home(_ identity: Identity, _ query: QueryForm, _ context: BridgeRequestContext) async throws -> Response {
        let perPage = 50
        let projectPage = query.webPage(perPage: perPage)
        let groupPage = PageRequest(page: (try? PageRequest.wholeNumber(query.get("groups_page"), name: "groups_page")) ?? 1, perPage: perPage)
        let listedProjects =
            try await Access.reach(identity, .reporter).asyncFlatMap {
                try await store.projects(within: $0, offset: projectPage.offset, limit: perPage)
            } ?? Listed(items: [], total: 0)
        let listedGroups =
            try await Access.reach(identity, .maintainer).asyncFlatMap {
                try await store.groups(within: $0, offset: groupPage.offset, limit: perPage)
            } ?? Listed(items: [], total: 0)
        var projects: [HomeView.ProjectRow] = []
        for p in listedProjects.items {
            let record = try await store.integration(at: .project(p.id))
            projects.append(
                .init(
                    id: p.address, path: p.forgePath, forge: p.forge.displayName, active: record?.settings.active ?? false,
                    inherited: record?.inheritFromID != nil))
        }
        var groups: [HomeView.GroupRow] = []
        for g in listedGroups.items {
            let record = try await store.integration(at: .group(g.id))
            groups.append(
                .init(
                    id: g.id, path: g.forgePath, forge: g.forge.displayName, custom: record != nil && record?.inheritFromID == nil,
                    inherited: record?.inheritFromID != nil))
        }
        func link(_ p: Int, _ g: Int) -> String { "/?page=\(p)&groups_page=\(g)" }
        let view = HomeView(
            projects: projects, groups: groups, hasProjects: listedProjects.total > 0, hasGroups: listedGroups.total > 0,
            projectsTotal: listedProjects.total, groupsTotal: listedGroups.total,
            projectsPrev: projectPage.page > 1 ? link(projectPage.page - 1, groupPage.page) : nil,
            projectsNext: projectPage.hasNext(total: listedProjects.total) ? link(projectPage.page + 1, groupPage.page) : nil,
            groupsPrev: groupPage.page > 1 ? link(projectPage.page, groupPage.page - 1) : nil,
            groupsNext: groupPage.hasNext(total: listedGroups.total) ? link(projectPage.page, groupPage.page + 1) : nil)
        return render("home", view, context)
    }

    /// "Jira rejected the credentials": shown on the project, delivery log and settings pages while a rejection of
    /// the credentials in use is in force.
    struct RejectionNotice: ViewModel {
        /// Whose refusal: Jira's of the REST credentials, or Atlassian's of the Development panel's OAuth ones.
        var what: String
        var since: String
        var sinceShort: String
        var site: String
        var error: String
        /// Paused deliveries of this project (nil on group and instance pages).
        var paused: Int?
        var settingsPath: String
    }

    func rejectionNotice(_ record: IntegrationRecord?, paused: Int?, settingsPath: String) async throws -> RejectionNotice? {
        guard let record else { return nil }
        var what = "Jira rejected the credentials"
        var found = try await store.credentialHold(key: store.credentialsKey(record).key)
        if found == nil, record.settings.developmentPanelEnabled {
            found = try await store.credentialHold(key: store.oauthCredentialsKey(record).key)
            what = "Atlassian refused the Development panel's OAuth credentials"
        }
        guard let hold = found else { return nil }
        let since = isoTimestamp(hold.since)
        return RejectionNotice(
            what: what, since: since, sinceShort: Self.short(since), site: hold.site, error: hold.error ?? "", paused: paused == 0 ? nil : paused,
            settingsPath: settingsPath)
    }

    struct ProjectPageView: ViewModel {
        struct Summary: ViewModel {
            var active: Bool
            var url: String
            var deployment: String
            var projectKeys: String
            var comments: Bool
            var transitions: String
            var vulnerabilities: Bool
            var inheritedFrom: String?
            /// What is sent to Jira Cloud's Development panel, Builds and Deployments (Cloud only).
            var cloudParts: [CloudPart] = []
        }
        struct CloudPart: ViewModel {
            var name: String
            var on: Bool
            var last: String
            var lastShort: String
        }
        struct Counts: ViewModel { var succeeded: Int; var waiting: Int; var failed: Int; var skipped: Int }
        var project: ProjectView
        var integration: Summary?
        var jiraURL: String?
        var issuesEnabled: Bool
        var deliveries: Counts
        var hasFailures: Bool
        var openVulnerabilities: Int
        var canManage: Bool
        var rejection: RejectionNotice?
        /// The latest backfill, when the Development panel is on.
        var backfill: BackfillView?
    }

    struct BackfillView: ViewModel {
        var status: String
        var running: Bool
        var pages: Int
        var last: String
        var started: String
        var startedShort: String
    }

    /// The project page's Backfill button: queues one (`BackfillService`), then back to the project.
    func startBackfill(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        do {
            _ = try await BackfillService(store: store).start(project)
        } catch let failure as ServiceFailure {
            throw WebError(failure)
        }
        return redirect("/projects/\(project.address)#backfill")
    }

    func projectPage(_ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let record = try await store.integration(at: .project(project.id))
        var summary: ProjectPageView.Summary? = nil
        if let record {
            let s = record.settings
            summary = .init(
                active: s.active, url: Self.linkable(s.url),
                deployment: s.deploymentType == .cloud ? "Jira Cloud" : s.deploymentType == .server ? "Jira Server / Data Center" : "Jira",
                projectKeys: s.projectKeys.joined(separator: ", "), comments: s.commentOnEventEnabled,
                transitions: s.transitionAutomatic ? "move to Done" : s.transitionList.isEmpty ? "" : "transitions \(s.transitionID)",
                vulnerabilities: s.vulnerabilitiesEnabled)
            if s.deploymentType != .server {
                let parts: [(String, Bool, DeliveryAction)] = [
                    ("Development panel", s.developmentPanelEnabled, .developmentInfo), ("Builds", s.buildsEnabled, .build),
                    ("Deployments", s.deploymentsEnabled, .deployment),
                ]
                let last = try await store.lastSucceeded(projectID: project.id, actions: parts.map(\.2))
                summary?.cloudParts = parts.map { name, on, action in
                    let when = last[action].map(isoTimestamp) ?? ""
                    return .init(name: name, on: on, last: when, lastShort: when.isEmpty ? "" : Self.short(when))
                }
            }
            if record.inheritFromID != nil, let def = try await store.nearestDefault(for: .project(project.id)) {
                switch def.level {
                case .group(let gid): summary?.inheritedFrom = "group " + ((try await store.group(id: gid))?.forgePath ?? "\(gid)")
                default: summary?.inheritedFrom = "the instance"
                }
            }
        }
        var jiraURL: String? = nil
        var issuesEnabled = false
        if let s = record?.settings, s.active, let url = s.url {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            // The seed's last step: the project shows a Jira link that opens the Jira project.
            jiraURL = Self.linkable(s.projectKeys.first.map { "\(base)/browse/\($0)" } ?? base)
            issuesEnabled = s.issuesEnabled
        }
        let counts = try await store.deliveryCounts(projectID: project.id)
        let failed = (counts["failed"] ?? 0) + (counts["dead"] ?? 0)
        var detected = VulnerabilityFilter()
        detected.states = ["detected"]
        var backfill: BackfillView? = nil
        if let s = record?.settings, s.active, s.deploymentType != .server, s.developmentPanelEnabled {
            let state = try await BackfillService(store: store).state(project)
            let started = state.startedAt.map(isoTimestamp) ?? ""
            backfill = .init(
                status: state.status, running: state.status == "running", pages: state.pages, last: state.last ?? "", started: started,
                startedShort: started.isEmpty ? "" : Self.short(started))
        }
        let view = ProjectPageView(
            project: ProjectView(project), integration: summary, jiraURL: jiraURL, issuesEnabled: issuesEnabled,
            deliveries: .init(
                succeeded: counts["succeeded"] ?? 0, waiting: (counts["pending"] ?? 0) + (counts["running"] ?? 0), failed: failed,
                skipped: counts["skipped"] ?? 0),
            hasFailures: failed > 0,
            openVulnerabilities: try await store.vulnerabilities(projectID: project.id, filter: detected, limit: 1, offset: 0).total,
            canManage: try await access.allows(identity, .maintainer, project: project),
            rejection: try await rejectionNotice(
                record, paused: counts["paused"] ?? 0, settingsPath: "/projects/\(project.address)/settings/integrations/jira"),
            backfill: backfill)
        return render("project", view, context, breadcrumbs: [.home])
    }
}

extension Crumb {
    static let home = Crumb(label: "Projects and groups", href: "/")
    static func project(_ p: Project) -> Crumb { Crumb(label: p.forgePath, href: "/projects/\(p.address)") }
}
