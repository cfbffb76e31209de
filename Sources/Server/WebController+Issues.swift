import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The Jira issues list and detail pages.
extension WebController {
    // MARK: Jira issues

    static let sorts: [(String, String)] = [("created_desc", "Created date"), ("created_asc", "Created date, oldest first"),
                                            ("updated_desc", "Last updated"), ("updated_asc", "Last updated, oldest first")]

    func issuesPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .reporter, project: project) else { throw WebError.forbidden }
        let q = QueryForm(request)
        var listRequest: JiraIssuesService.ListRequest
        do { listRequest = try JiraIssuesService.ListRequest(q) } catch { throw WebError(error) }
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
}
