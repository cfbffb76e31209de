import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// Security reports in, vulnerabilities out, and Jira issues made from them (gitlab-jira-behavior.md (f)).
struct VulnerabilityService: Sendable {
    let store: any BridgeStore
    let jira: JiraHTTPClient
    let publicURL: String

    /// Reports up to 25 MB.
    static let maxReportBytes = 25 << 20
    /// A claim on an issue creation older than this is taken over (its request died).
    static let staleClaimMillis: Int64 = 120_000

    enum Failure: Error {
        case notConfigured
        case busy
        case unknownExtraField(String)
        case jiraRefused([String])
        case jira(JiraError)

        /// What went wrong, in words for the API's message and the page's notice alike.
        var message: String {
            switch self {
            case .notConfigured: return "External provider service is not configured to create issues."
            case .busy: return "A Jira issue is being created for this vulnerability; try again in a moment."
            case .unknownExtraField(let text): return text
            case .jiraRefused(let messages): return "Jira could not create the issue: " + messages.joined(separator: " ")
            case .jira(let e): return e.userMessage
            }
        }
    }

    /// Where a vulnerability's page is: the path has GitLab's `/-/security/vulnerabilities/<id>`, so GitLab's
    /// `vulnerability_ids` JQL clause finds the Jira issues that link to it.
    func pageURL(_ v: VulnerabilityRecord) -> String { "\(publicURL)/projects/\(Forge.address(storageID: v.projectID))/-/security/vulnerabilities/\(v.id)" }

    func blobURL(_ project: Project, _ v: VulnerabilityRecord, file: String) -> String? {
        guard !project.webURL.isEmpty else { return nil }
        let ref = v.commitSHA ?? project.defaultBranch
        let path = file.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }.joined(separator: "/")
        return "\(project.webURL)/-/blob/\(ref)/\(path)"
    }

    func description(_ project: Project, _ v: VulnerabilityRecord) -> String {
        VulnerabilityIssueText.description(v.finding, id: v.id, vulnerabilityURL: pageURL(v), blobURL: { blobURL(project, v, file: $0) })
    }

    /// The settings that may create issues, or GitLab's "not configured" failure.
    func creatingSettings(_ project: Project) async throws -> JiraSettings {
        guard let s = try await store.integration(at: .project(project.id))?.settings, s.active, s.vulnerabilitiesEnabled,
              let key = s.projectKey, !key.isEmpty, let type = s.vulnerabilitiesIssueType, !type.isEmpty else {
            throw Failure.notConfigured
        }
        return s
    }

    enum Outcome {
        case created(VulnerabilityIssueLink)
        case existing(VulnerabilityIssueLink)
        case customize(String)
    }

    func createIssue(_ project: Project, _ v: VulnerabilityRecord, logger: Logger) async throws -> Outcome {
        let settings = try await creatingSettings(project)
        let connection: JiraConnection
        do { connection = try JiraConnection(settings: settings) } catch { throw Failure.jira(error) }
        let projectKey = settings.projectKey!, issueType = settings.vulnerabilitiesIssueType!
        let summary = VulnerabilityIssueText.summary(v.finding.title)
        let text = description(project, v)
        if settings.customizeJiraIssueEnabled {
            let jiraProject: JiraProject
            do { jiraProject = try await jira.project(connection, key: projectKey, logger: logger) } catch { throw Failure.jira(error) }
            return .customize(VulnerabilityIssueText.createURL(jiraURL: settings.url ?? "", projectID: jiraProject.id, issueType: issueType,
                                                              summary: summary, description: text))
        }
        for _ in 0..<2 {
            switch try await store.claimIssueCreation(vulnerabilityID: v.id, staleAfter: Self.staleClaimMillis, now: store.clock.now()) {
            case .created(let link):
                // GitLab checks that a linked issue still exists; a deleted one is forgotten and made again.
                do {
                    _ = try await jira.issue(connection, key: link.issueKey, fields: ["summary"], logger: logger)
                    return .existing(link)
                } catch {
                    if error.status != 404 { throw Failure.jira(error) }
                    try await store.removeIssueLink(vulnerabilityID: v.id)
                    continue
                }
            case .inProgress:
                // A second click while the first one is creating the issue: wait for it.
                for _ in 0..<75 {
                    try await Task.sleep(for: .milliseconds(200))
                    if let link = try await store.vulnerability(projectID: project.id, id: v.id)?.issueLink { return .existing(link) }
                }
                throw Failure.busy
            case .reclaimed:
                // An earlier attempt died after asking Jira: adopt what it may have created.
                var query = JiraIssueQuery()
                query.projectKeys = [projectKey]
                query.vulnerabilityIDs = [Int(v.id)]
                if let found = try? await jira.searchServerOrCloud(connection, settings: settings, jql: query.jql, logger: logger).first,
                   let id = found["id"]?.idString, let key = found["key"]?.string {
                    let link = VulnerabilityIssueLink(issueID: id, issueKey: key, webURL: browseURL(settings, key), createdAt: store.clock.now())
                    try await store.completeIssueCreation(vulnerabilityID: v.id, link: link, now: store.clock.now())
                    return .existing(link)
                }
                return try await create(project, v, settings, connection, summary: summary, description: text, logger: logger)
            case .claimed:
                return try await create(project, v, settings, connection, summary: summary, description: text, logger: logger)
            }
        }
        throw Failure.busy
    }

    private func create(_ project: Project, _ v: VulnerabilityRecord, _ settings: JiraSettings, _ connection: JiraConnection,
                        summary: String, description: String, logger: Logger) async throws -> Outcome {
        do {
            let projectKey = settings.projectKey!, issueType = settings.vulnerabilitiesIssueType!
            let jiraProject = try await jira.project(connection, key: projectKey, logger: logger)
            var fields: [String: JSONValue] = [
                "project": .object(["id": .string(jiraProject.id)]),
                "issuetype": .object(["id": .string(issueType)]),
                "summary": .string(summary),
                "description": .string(description),
            ]
            if let extra = ExtraFields.parse(settings.vulnerabilitiesExtraFields), !extra.isEmpty {
                // Checked against Jira's create screen first: a misspelt field id is named, not a bare 400.
                let known = Set(try await jira.createMetaFields(connection, projectKey: projectKey, issueTypeID: issueType, logger: logger).map(\.fieldID))
                if let unknown = extra.keys.sorted().first(where: { !known.contains($0) }) {
                    try await store.removeIssueLink(vulnerabilityID: v.id)
                    throw Failure.unknownExtraField("Jira's create screen for project \(projectKey) and issue type \(issueType) has no field \"\(unknown)\" (vulnerabilities_extra_fields).")
                }
                for (k, value) in extra { fields[k] = value }
            }
            let created = try await jira.createIssue(connection, fields: .object(fields), logger: logger)
            let link = VulnerabilityIssueLink(issueID: created.id, issueKey: created.key, webURL: browseURL(settings, created.key), createdAt: store.clock.now())
            try await store.completeIssueCreation(vulnerabilityID: v.id, link: link, now: store.clock.now())
            return .created(link)
        } catch let error as JiraError {
            try await store.removeIssueLink(vulnerabilityID: v.id)
            if error.status == 400 && !error.jiraMessages.isEmpty { throw Failure.jiraRefused(error.jiraMessages) }
            throw Failure.jira(error)
        } catch {
            if !(error is Failure) { try? await store.removeIssueLink(vulnerabilityID: v.id) }
            throw error
        }
    }

    func browseURL(_ s: JiraSettings, _ key: String) -> String {
        var base = s.url ?? ""
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/browse/\(key)"
    }

    // MARK: Entities

    func entity(_ v: VulnerabilityRecord) -> JSONValue {
        let f = v.finding
        let l = f.location
        var location: [String: JSONValue] = [:]
        func put(_ k: String, _ s: String?) { if let s { location[k] = .string(s) } }
        put("file", l.file); put("class", l.className); put("method", l.method); put("image", l.image)
        put("operating_system", l.operatingSystem); put("hostname", l.hostname); put("path", l.path); put("param", l.param)
        if let n = l.startLine { location["start_line"] = .number(Double(n)) }
        if let n = l.endLine { location["end_line"] = .number(Double(n)) }
        if let p = l.packageName {
            location["dependency"] = .object(["package": .object(["name": .string(p)]), "version": l.packageVersion.map { .string($0) } ?? .null])
        }
        var links: [JSONValue] = []
        if let link = v.issueLink {
            links.append(.object(["issue_key": .string(link.issueKey), "issue_id": .string(link.issueID), "web_url": .string(link.webURL),
                                  "link_type": .string("created"), "external_type": .string("jira"), "created_at": .string(isoTimestamp(link.createdAt))]))
        }
        return .object([
            "id": .number(Double(v.id)),
            "project_id": .number(Double(Forge.identity(storageID: v.projectID)?.forgeID ?? v.projectID)),
            "title": .string(f.title),
            "description": f.description.map { .string($0) } ?? .null,
            "severity": .string(f.severity),
            "state": .string(v.state),
            "report_type": .string(f.reportType),
            "scanner": .object(["id": .string(f.scanner.id), "name": .string(f.scanner.name)]),
            "location": .object(location),
            "identifiers": .array(f.identifiers.map { i in
                .object(["type": .string(i.type), "name": .string(i.name), "value": .string(i.value), "url": i.url.map { .string($0) } ?? .null])
            }),
            "links": .array(f.links.map { .object(["name": $0.name.map { .string($0) } ?? .null, "url": .string($0.url)]) }),
            "solution": f.solution.map { .string($0) } ?? .null,
            "commit_sha": v.commitSHA.map { .string($0) } ?? .null,
            "fingerprint": .string(f.fingerprint),
            "web_url": .string(pageURL(v)),
            "created_at": .string(isoTimestamp(v.createdAt)),
            "updated_at": .string(isoTimestamp(v.updatedAt)),
            "resolved_at": v.resolvedAt.map { .string(isoTimestamp($0)) } ?? .null,
            "external_issue_links": .array(links),
        ])
    }
}

extension JiraHTTPClient {
    /// A search by the integration's deployment type (Cloud: `search/jql`), first page only.
    func searchServerOrCloud(_ c: JiraConnection, settings: JiraSettings, jql: String, logger: Logger) async throws(JiraError) -> [JSONValue] {
        if settings.deploymentType == .cloud {
            return try await searchCloud(c, jql: jql, nextPageToken: nil, maxResults: 10, fields: ["summary"], logger: logger).issues
        }
        return try await searchServer(c, jql: jql, startAt: 0, maxResults: 10, fields: ["summary"], logger: logger).issues
    }
}

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
            do { doc = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) } catch {
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
            return try JSONBody.response(.object([
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
        .object(["issue_key": .string(link.issueKey), "issue_id": .string(link.issueID), "web_url": .string(link.webURL), "existing": .bool(existing)])
    }

    static func apiError(_ failure: VulnerabilityService.Failure) -> APIError {
        switch failure {
        case .notConfigured: return APIError(.badRequest, message: failure.message)
        case .busy: return APIError(.conflict, message: failure.message)
        case .unknownExtraField(let text): return APIError(.unprocessableContent, body: .object(["message": .string(text), "errors": .array([.string(text)])]))
        case .jiraRefused(let messages):
            return APIError(.unprocessableContent, body: .object(["message": .string(failure.message), "errors": .array(messages.map { .string($0) })]))
        case .jira: return APIError(.badGateway, message: failure.message)
        }
    }
}
