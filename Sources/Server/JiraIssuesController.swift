import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Store

/// `GET /api/v4/projects/:id/integrations/jira/issues` and `.../issues/:key`.
struct JiraIssuesController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    let issues: JiraIssuesService
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.get("/api/v4/projects/:id/integrations/jira/issues") { request, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            let listRequest = try Self.listRequest(QueryForm(request))
            let page: JiraIssuesService.ListPage
            do { page = try await issues.list(project, listRequest, logger: context.logger) } catch { throw Self.apiError(error) }
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Per-Page")!] = String(page.perPage)
            headers[HTTPField.Name("X-Is-Last")!] = page.isLast ? "true" : "false"
            if page.deployment == .cloud {
                if let token = page.nextPageToken { headers[HTTPField.Name("X-Next-Page-Token")!] = token }
            } else {
                headers[HTTPField.Name("X-Page")!] = String(page.page)
                headers[HTTPField.Name("X-Total")!] = String(page.total ?? 0)
                if !page.isLast { headers[HTTPField.Name("X-Next-Page")!] = String(page.page + 1) }
            }
            return try JSONBody.response(.array(page.issues), headers: headers)
        }
        router.get("/api/v4/projects/:id/integrations/jira/issues/:key") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            let key = try context.parameters.require("key")
            do {
                return try JSONBody.response(try await issues.detail(project, key: key, logger: context.logger))
            } catch {
                throw Self.apiError(error)
            }
        }
    }

    /// The query parameters of the list, checked: bad numbers are a 400 naming the parameter.
    static func listRequest(_ q: QueryForm) throws -> JiraIssuesService.ListRequest {
        var r = JiraIssuesService.ListRequest()
        // Jira's own search refuses a startAt past its window; 100,000 pages of 100 is far beyond it.
        let page = try q.pageRequest(defaultPerPage: 100)
        r.page = min(page.page, 100_000)
        r.perPage = page.perPage
        r.nextPageToken = q.get("next_page_token").flatMap { $0.isEmpty ? nil : $0 }
        func all(_ name: String) -> [String] { q.getAll(name) }
        var labels = all("labels[]")
        if let joined = q.get("labels"), !joined.isEmpty { labels += joined.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        r.query.labels = labels.filter { !$0.isEmpty }
        r.query.state = q.get("state")
        r.query.search = q.get("search")
        r.query.status = q.get("status")
        r.query.reporter = q.get("author_username")
        r.query.assignee = q.get("assignee_username")
        r.query.sort = q.get("sort")
        r.query.issueIDs = all("issue_ids[]")
        for raw in all("vulnerability_ids[]") {
            guard let id = Int(raw.trimmingWhitespace()), id >= 0 else { throw APIError.badParameter("vulnerability_ids is invalid") }
            r.query.vulnerabilityIDs.append(id)
        }
        r.project = q.get("project")
        for (name, value) in [("search", r.query.search), ("status", r.query.status), ("author_username", r.query.reporter),
                              ("assignee_username", r.query.assignee), ("project", r.project)] where (value?.count ?? 0) > 1_000 {
            throw APIError.badParameter("\(name) is too long (maximum is 1000 characters)")
        }
        if r.query.labels.count > 100 { throw APIError.badParameter("labels has too many entries (maximum is 100)") }
        return r
    }

    /// GitLab's messages: 400 "Jira service not configured.", 404 for a disabled list or an unknown issue,
    /// 502 with the user-facing text for Jira's failures.
    static func apiError(_ error: any Error) -> any Error {
        guard let failure = error as? JiraIssuesService.Failure else { return error }
        switch failure {
        case .notConfigured: return APIError(.badRequest, message: "Jira service not configured.")
        case .issuesDisabled: return APIError(.notFound, message: "404 Jira issues are not enabled for this project")
        case .notFound: return APIError(.notFound, message: "404 Issue Not Found")
        case .jira(let e): return APIError(.badGateway, message: e.userMessage)
        }
    }
}
