import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// `POST .../security/reports`, `GET .../vulnerabilities[/:vid]`, `POST .../vulnerabilities/:vid/jira_issue`.
struct VulnerabilitiesController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    let service: VulnerabilityService
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.post("/api/v4/projects/:id/security/reports") { request, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: VulnerabilityService.maxReportBytes) } catch {
                throw APIError(.contentTooLarge, message: "413 Request Entity Too Large: reports are limited to 25 MB")
            }
            let doc: JSONValue
            do { doc = try JSONValue.parse(buffer.readableBytesView) } catch {
                throw APIError(.badRequest, message: "The report is not valid JSON")
            }
            let parsed: SecurityReport.Parsed
            do { parsed = try SecurityReport.parse(doc) } catch let invalid as SecurityReport.Invalid {
                throw APIError(.badRequest, message: "Invalid report: \(invalid.description)")
            }
            let q = QueryForm(request)
            let commit = (q.get("commit_sha") ?? q.get("ref")).flatMap { $0.isEmpty ? nil : $0 }
            if let commit, commit.count > 200 || commit.contains(where: \.isWhitespace) {
                throw APIError.badParameter("commit_sha is invalid")
            }
            let result = try await store.ingest(projectID: project.id, report: parsed, commit: commit, now: store.clock.now())
            var items: [JSONValue] = []
            for id in result.vulnerabilityIDs {
                if let v = try await store.vulnerability(projectID: project.id, id: id) { items.append(service.entity(v)) }
            }
            return try JSONBody.response(
                .object([
                    "format": .string(parsed.format), "report_type": .string(parsed.reportType),
                    "created": .number(Double(result.created)), "updated": .number(Double(result.updated)),
                    "resolved": .number(Double(result.resolved)), "vulnerabilities": .array(items),
                ]), status: .created)
        }
        router.get("/api/v4/projects/:id/vulnerabilities") { request, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            let (filter, page) = try Self.listParameters(QueryForm(request))
            let (items, total) = try await store.vulnerabilities(projectID: project.id, filter: filter, limit: page.perPage, offset: page.offset)
            return try JSONBody.response(.array(items.map(service.entity)), headers: Pagination.headers(page, total: total))
        }
        router.get("/api/v4/projects/:id/vulnerabilities/:vid") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            return try JSONBody.response(service.entity(try await vulnerability(project, context)))
        }
        router.post("/api/v4/projects/:id/vulnerabilities/:vid/jira_issue") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            let v = try await vulnerability(project, context)
            do {
                switch try await service.createIssue(project, v, logger: context.logger) {
                case .created(let link):
                    return try JSONBody.response(Self.linkJSON(link), status: .created)
                case .existing(let link):
                    return try JSONBody.response(Self.linkJSON(link, existing: true))
                case .customize(let url):
                    return try JSONBody.response(.object(["create_url": .string(url)]))
                }
            } catch let failure as VulnerabilityService.Failure {
                throw Self.apiError(failure)
            }
        }
    }

    func vulnerability(_ project: Project, _ context: BridgeRequestContext) async throws -> VulnerabilityRecord {
        guard let id = Int64(try context.parameters.require("vid")), let v = try await store.vulnerability(projectID: project.id, id: id) else {
            throw APIError(.notFound, message: "404 Vulnerability Not Found")
        }
        return v
    }

    static let severities = ["critical", "high", "medium", "low", "info", "unknown"]

    static func listParameters(_ q: QueryForm) throws -> (VulnerabilityFilter, PageRequest) {
        var filter = VulnerabilityFilter()
        func list(_ name: String) -> [String] {
            (q.getAll(name + "[]") + q.getAll(name).flatMap { $0.split(separator: ",").map(String.init) })
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        }
        filter.severities = list("severity")
        if let bad = filter.severities.first(where: { !severities.contains($0) }) {
            throw APIError.badParameter("severity does not have a valid value (\(bad)); use \(severities.joined(separator: ", "))")
        }
        filter.states = list("state")
        if let bad = filter.states.first(where: { !["detected", "resolved"].contains($0) }) {
            throw APIError.badParameter("state does not have a valid value (\(bad)); use detected, resolved")
        }
        filter.scanner = q.get("scanner") ?? q.get("report_type")
        return (filter, try q.pageRequest())
    }

    static func linkJSON(_ link: VulnerabilityIssueLink, existing: Bool = false) -> JSONValue {
        .object([
            "issue_key": .string(link.issueKey), "issue_id": .string(link.issueID), "web_url": .string(link.webURL), "existing": .bool(existing),
        ])
    }

    static func apiError(_ failure: VulnerabilityService.Failure) -> APIError {
        switch failure {
        case .notConfigured: return APIError(.badRequest, message: failure.message)
        case .busy: return APIError(.conflict, message: failure.message)
        case .unknownExtraField(let text):
            return APIError(.unprocessableContent, body: .object(["message": .string(text), "errors": .array([.string(text)])]))
        case .jiraRefused(let messages):
            return APIError(
                .unprocessableContent, body: .object(["message": .string(failure.message), "errors": .array(messages.map { .string($0) })]))
        case .jira: return APIError(.badGateway, message: failure.message)
        }
    }
}
