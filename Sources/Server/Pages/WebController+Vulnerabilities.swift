import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The vulnerabilities pages and "Create Jira issue".
extension WebController {
    // MARK: Vulnerabilities

    static let severities = ["critical", "high", "medium", "low", "info", "unknown"]

    struct VulnerabilitiesView: ViewModel {
        struct StateChoice: ViewModel { var detected: Bool; var resolved: Bool; var all: Bool }
        struct Option: ViewModel { var value: String; var selected: Bool }
        var project: ProjectView
        var vulnerabilities: [VulnerabilityView]
        var hasVulnerabilities: Bool
        var total: Int
        var canCreate: Bool
        var canManage: Bool
        var severities: [Option]
        var state: StateChoice
        var prev: String?
        var next: String?
    }

    /// One vulnerability: a row of the list, and the detail page.
    struct VulnerabilityView: ViewModel {
        struct Identifier: ViewModel { var name: String; var url: String }
        struct Link: ViewModel { var label: String; var url: String }
        var id: Int64
        var projectID: String
        var title: String
        var severity: String
        var state: String
        var resolved: Bool
        var location: String
        var locationURL: String?
        var scanner: String
        var reportType: String
        var canCreate: Bool
        var description: String
        var solution: String
        var identifiers: [Identifier]
        var links: [Link]
        var hasLinks: Bool
        var issueKey: String?
        var issueURL: String?
    }

    func vulnerabilitiesPage(
        _ request: Request, _ context: BridgeRequestContext, flash: Flash? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
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
        let rows = items.map { v in vulnerabilityView(project, v, canCreate: canCreate) }
        func pageHref(_ n: Int) -> String {
            var c = URLComponents()
            c.queryItems = [
                URLQueryItem(name: "severity", value: severity), URLQueryItem(name: "state", value: state),
                URLQueryItem(name: "page", value: String(n)),
            ]
            return "?" + (c.percentEncodedQuery ?? "")
        }
        let view = VulnerabilitiesView(
            project: ProjectView(project), vulnerabilities: rows, hasVulnerabilities: !rows.isEmpty, total: total, canCreate: canCreate,
            canManage: canManage, severities: Self.severities.map { .init(value: $0, selected: $0 == severity) },
            state: .init(detected: state == "detected", resolved: state == "resolved", all: state != "detected" && state != "resolved"),
            prev: page.page > 1 ? pageHref(page.page - 1) : nil, next: page.hasNext(total: total) ? pageHref(page.page + 1) : nil)
        var shown = flash
        if shown == nil, let created = q.get("created") { shown = .ok("Jira issue \(created) created.") }
        if shown == nil, let existing = q.get("existing") { shown = .ok("This vulnerability already has the Jira issue \(existing).") }
        return render("vulnerabilities", view, context, status: status, breadcrumbs: [.home, .project(project)], flash: shown)
    }

    func vulnerabilityView(_ project: Project, _ v: VulnerabilityRecord, canCreate: Bool) -> VulnerabilityView {
        let f = v.finding
        let l = f.location
        let location: String
        if let file = l.file {
            location = l.startLine.map { "\(file):\($0)" } ?? file
        } else if let image = l.image {
            location = [image, l.packageName].compactMap { $0 }.joined(separator: " ")
        } else if let host = l.hostname {
            location = host + (l.path ?? "")
        } else {
            location = l.packageName ?? ""
        }
        var locationURL: String? = nil
        if let file = l.file, let url = vulnerabilities.blobURL(project, v, file: file) {
            locationURL = Self.linkable(url + (l.startLine.map { "#L\($0)" } ?? ""))
        }
        return VulnerabilityView(
            id: v.id, projectID: project.address, title: f.title, severity: f.severity, state: v.state, resolved: v.state == "resolved",
            location: location, locationURL: locationURL, scanner: f.scanner.name, reportType: f.reportType, canCreate: canCreate,
            description: f.description ?? "", solution: f.solution ?? "",
            identifiers: f.identifiers.map { .init(name: $0.name, url: Self.linkable($0.url)) },
            links: f.links.map { .init(label: $0.name ?? $0.url, url: Self.linkable($0.url)) }, hasLinks: !f.links.isEmpty,
            issueKey: v.issueLink?.issueKey, issueURL: v.issueLink?.webURL)
    }

    func vulnerabilityPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        guard let id = Int64(try context.parameters.require("vid")), let v = try await store.vulnerability(projectID: project.id, id: id) else {
            throw WebError.notFound("The vulnerability")
        }
        var canCreate = false
        if try await access.allows(identity, .maintainer, project: project) {
            canCreate = (try? await vulnerabilities.creatingSettings(project)) != nil
        }
        return render(
            "vulnerability", vulnerabilityView(project, v, canCreate: canCreate), context,
            breadcrumbs: [.home, .project(project), Crumb(label: "Vulnerabilities", href: "/projects/\(project.address)/security/vulnerabilities")])
    }

    func createJiraIssue(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        guard let id = Int64(try context.parameters.require("vid")), let v = try await store.vulnerability(projectID: project.id, id: id) else {
            throw WebError.notFound("The vulnerability")
        }
        let back = "/projects/\(project.address)/security/vulnerabilities"
        do {
            switch try await vulnerabilities.createIssue(project, v, logger: context.logger) {
            case .created(let link): return redirect(back + "?created=" + link.issueKey)
            case .existing(let link): return redirect(back + "?existing=" + link.issueKey)
            case .customize(let url): return redirect(url)
            }
        } catch let failure as VulnerabilityService.Failure {
            let status: HTTPResponse.Status
            switch failure {
            case .notConfigured: status = .badRequest
            case .busy: status = .conflict
            case .unknownExtraField, .jiraRefused: status = .unprocessableContent
            case .jira: status = .badGateway
            }
            return try await vulnerabilitiesPage(request, context, flash: .error(failure.message), status: status)
        }
    }
}
