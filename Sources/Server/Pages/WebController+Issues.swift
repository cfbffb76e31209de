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

    static let sorts: [(String, String)] = [
        ("created_desc", "Created date"), ("created_asc", "Created date, oldest first"),
        ("updated_desc", "Last updated"), ("updated_asc", "Last updated, oldest first"),
    ]

    struct IssuesView: ViewModel {
        struct StateChoice: ViewModel { var opened: Bool; var closed: Bool; var all: Bool }
        struct Option: ViewModel { var value: String; var label: String; var selected: Bool }
        struct ProjectChoice: ViewModel { var key: String; var selected: Bool }
        struct PageLink: ViewModel { var number: Int; var current: Bool; var href: String }
        var project: ProjectView
        var search: String
        var labels: String
        var state: StateChoice
        var sorts: [Option]
        var hasProjectChoice = false
        var projectChoices: [ProjectChoice] = []
        var issues: [IssueRow] = []
        var hasIssues = false
        var pages: [PageLink] = []
        var nextHref: String?
        var firstHref: String?
        var totalText: String?
        var error: String?
    }

    /// One Jira issue as the list and the detail page show it.
    struct IssueRow: ViewModel {
        struct Label: ViewModel { var name: String }
        var projectID: String
        var key: String
        var title: String
        var status: String
        var closed: Bool
        var labels: [Label]
        var author: String
        var authorURL: String
        var assignee: String
        var created: String
        var createdShort: String
        var updated: String
        var updatedShort: String
        var closedAt: String
        var closedShort: String
        var webURL: String

        /// From GitLab's issue entity (`JiraIssueEntities`).
        init(_ e: JSONValue, projectID: String) {
            let closedAt = e["closed_at"]?.string
            self.projectID = projectID
            key = e["references"]?["relative"]?.string ?? ""
            title = e["title"]?.string ?? ""
            status = e["status"]?.string ?? ""
            closed = closedAt != nil
            labels = (e["labels"]?.array ?? []).map { Label(name: $0["name"]?.string ?? "") }
            author = e["author"]?["name"]?.string ?? ""
            authorURL = e["author"]?["web_url"]?.string ?? ""
            assignee = e["assignees"]?.array?.first?["name"]?.string ?? ""
            created = e["created_at"]?.string ?? ""
            createdShort = WebController.short(e["created_at"]?.string)
            updated = e["updated_at"]?.string ?? ""
            updatedShort = WebController.short(e["updated_at"]?.string)
            self.closedAt = closedAt ?? ""
            closedShort = WebController.short(closedAt)
            webURL = e["web_url"]?.string ?? ""
        }
    }

    struct IssueView: ViewModel {
        struct Comment: ViewModel { var author: String; var bodyHTML: String; var created: String; var createdShort: String }
        var issue: IssueRow
        var state: String
        var descriptionHTML: String
        var dueDate: String
        var comments: [Comment]

        /// The page's own values first, then the issue's.
        func child(named name: String) -> Any? {
            if let own = Mirror(reflecting: self).children.first(where: { $0.label == name }) { return ViewValue.present(own.value) }
            return issue.child(named: name)
        }
    }

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
        var view = IssuesView(
            project: ProjectView(project), search: q.get("search") ?? "", labels: listRequest.query.labels.joined(separator: ", "),
            state: .init(opened: state == "opened", closed: state == "closed", all: state != "opened" && state != "closed"),
            sorts: Self.sorts.map { .init(value: $0.0, label: $0.1, selected: $0.0 == sort) })
        let settings: JiraSettings
        do { settings = try await issues.settings(for: project) } catch { throw Self.webError(error) }
        if settings.projectKeys.count > 1 {
            view.hasProjectChoice = true
            view.projectChoices = settings.projectKeys.map { .init(key: $0, selected: $0 == listRequest.project) }
        }
        do {
            let page = try await issues.list(project, listRequest, logger: context.logger)
            view.issues = page.issues.map { IssueRow($0, projectID: project.address) }
            view.hasIssues = !view.issues.isEmpty
            var base = URLComponents()
            base.queryItems = q.pairs.filter { !["page", "next_page_token"].contains($0.0) }.map { URLQueryItem(name: $0.0, value: $0.1) }
            func href(_ extra: [URLQueryItem]) -> String {
                var c = base
                c.queryItems = (c.queryItems ?? []) + extra
                return "?" + (c.percentEncodedQuery ?? "")
            }
            if page.deployment == .cloud {
                // Cloud has no page numbers or total: a cursor to the next page.
                if let token = page.nextPageToken, !page.isLast { view.nextHref = href([URLQueryItem(name: "next_page_token", value: token)]) }
                if listRequest.nextPageToken != nil { view.firstHref = href([]) }
            } else {
                let total = page.total ?? 0
                let count = max(1, (total + page.perPage - 1) / page.perPage)
                let first = max(1, min(page.page - 4, count - 8))
                let last = min(count, first + 8)
                if count > 1 {
                    view.pages = (first...last).map { n in
                        .init(number: n, current: n == page.page, href: href([URLQueryItem(name: "page", value: String(n))]))
                    }
                }
                view.totalText = "\(total) issues"
            }
        } catch {
            view.error = Self.webError(error).message
        }
        return render("issues", view, context, breadcrumbs: [.home, .project(project)])
    }

    func issuePage(_ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .reporter, project: project) else { throw WebError.forbidden }
        let key = try context.parameters.require("key")
        let entity: JSONValue
        do { entity = try await issues.detail(project, key: key, logger: context.logger) } catch { throw Self.webError(error) }
        let view = IssueView(
            issue: IssueRow(entity, projectID: project.address), state: entity["state"]?.string ?? "",
            descriptionHTML: entity["description_html"]?.string ?? "", dueDate: entity["due_date"]?.string ?? "",
            comments: (entity["comments"]?.array ?? []).map { c in
                .init(
                    author: c["author"]?["name"]?.string ?? "", bodyHTML: c["body_html"]?.string ?? "",
                    created: c["created_at"]?.string ?? "", createdShort: Self.short(c["created_at"]?.string))
            })
        return render(
            "issue", view, context,
            breadcrumbs: [
                .home, .project(project),
                Crumb(label: "Jira issues", href: "/projects/\(project.address)/integrations/jira/issues"),
            ])
    }

    /// A URL from reports or webhooks, for an `href`: only absolute http(s) ones; anything else (a
    /// `javascript:` link in a hostile report) is shown as text instead.
    static func linkable(_ url: String?) -> String {
        guard let url, let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased(),
            scheme == "http" || scheme == "https", HTMLSanitizer.isSafeURL(url)
        else { return "" }
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
        case .notConfigured: return WebError(status: .badRequest, heading: "Jira is not configured", message: Texts.notConfigured)
        case .issuesDisabled:
            return WebError(
                status: .notFound, heading: "Jira issues are off",
                message: "Viewing Jira issues is not enabled for this project (Settings › Integrations › Jira › View Jira issues).")
        case .notFound: return .notFound("The Jira issue")
        case .jira(let e): return WebError(status: .badGateway, heading: "Jira did not answer", message: e.userMessage)
        }
    }
}
