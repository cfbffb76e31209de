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
            let listRequest = try JiraIssuesService.ListRequest(QueryForm(request))
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

    /// GitLab's messages: 400 "Jira service not configured.", 404 for a disabled list or an unknown issue,
    /// 502 with the user-facing text for Jira's failures.
    static func apiError(_ error: any Error) -> any Error {
        guard let failure = error as? JiraIssuesService.Failure else { return error }
        switch failure {
        case .notConfigured: return APIError(.badRequest, message: Texts.notConfigured)
        case .issuesDisabled: return APIError(.notFound, message: "404 Jira issues are not enabled for this project")
        case .notFound: return APIError(.notFound, message: "404 Issue Not Found")
        case .jira(let e): return APIError(.badGateway, message: e.userMessage)
        }
    }
}
