import Foundation
import Integration
import JiraClient
import Logging
import Store
import Synchronization

/// The Jira issues of a project (GitLab's Jira issues list and detail, gitlab-jira-behavior.md (e)), for
/// the API and the pages.
struct JiraIssuesService: Sendable {
    let store: any IntegrationStore
    let jira: JiraHTTPClient
    let publicURL: String
    let cache: JiraIssuesCache

    /// GitLab's fixed field list, with `statuscategorychangedate` spelled as Jira spells it (GitLab's
    /// misspelling silently drops it).
    static let fields = [
        "assignee", "created", "creator", "id", "issuetype", "key", "labels", "priority", "project", "reporter",
        "resolutiondate", "status", "statuscategorychangedate", "summary", "updated", "description",
    ]

    /// The filters and the page of one list request.
    struct ListRequest: Sendable, Hashable {
        var query = JiraIssueQuery()
        /// `project`: one Jira project key asked for.
        var project: String?
        var page = 1
        var perPage = 100
        var nextPageToken: String?

        init() {}

        /// The query parameters of the list, checked: bad numbers are a 400 naming the parameter.
        init(_ q: QueryForm) throws(ServiceFailure) {
            var r = ListRequest()
            // Jira's own search refuses a startAt past its window; 100,000 pages of 100 is far beyond it.
            let page = try q.pageRequest(defaultPerPage: 100)
            r.page = min(page.page, 100_000)
            r.perPage = page.perPage
            r.nextPageToken = q.get("next_page_token").flatMap { $0.isEmpty ? nil : $0 }
            func all(_ name: String) -> [String] { q.getAll(name) }
            var labels = all("labels[]")
            if let joined = q.get("labels"), !joined.isEmpty {
                labels += joined.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            }
            r.query.labels = labels.filter { !$0.isEmpty }
            r.query.state = q.get("state")
            r.query.search = q.get("search")
            r.query.status = q.get("status")
            r.query.reporter = q.get("author_username")
            r.query.assignee = q.get("assignee_username")
            r.query.sort = q.get("sort")
            r.query.issueIDs = all("issue_ids[]")
            for raw in all("vulnerability_ids[]") {
                guard let id = Int(raw.trimmingWhitespace()), id >= 0 else { throw ServiceFailure.badParameter("vulnerability_ids is invalid") }
                r.query.vulnerabilityIDs.append(id)
            }
            r.project = q.get("project")
            for (name, value) in [
                ("search", r.query.search), ("status", r.query.status), ("author_username", r.query.reporter),
                ("assignee_username", r.query.assignee), ("project", r.project),
            ] where (value?.count ?? 0) > 1_000 {
                throw ServiceFailure.badParameter("\(name) is too long (maximum is 1000 characters)")
            }
            if r.query.labels.count > 100 { throw ServiceFailure.badParameter("labels has too many entries (maximum is 100)") }
            self = r
        }
    }

    /// One page of the list: the entities, and how to get the next page.
    struct ListPage: Sendable {
        var issues: [JSONValue]
        var deployment: JiraDeploymentType
        var page: Int
        var perPage: Int
        var total: Int?
        var isLast: Bool
        var nextPageToken: String?
    }

    enum Failure: Error {
        /// GitLab's "Jira service not configured." (no active integration).
        case notConfigured
        /// The integration does not have Jira issues enabled.
        case issuesDisabled
        case notFound
        case jira(JiraError)
    }

    /// The integration in effect, if it is active and shows Jira issues.
    func settings(for project: Project) async throws -> JiraSettings {
        guard let record = try await store.integration(at: .project(project.id)), record.settings.active else {
            throw Failure.notConfigured
        }
        guard record.settings.issuesEnabled else { throw Failure.issuesDisabled }
        return record.settings
    }

    func list(_ project: Project, _ request: ListRequest, logger: Logger) async throws -> ListPage {
        let settings = try await self.settings(for: project)
        let deployment = settings.deploymentType
        var query = request.query
        let keys = settings.projectKeys
        if let asked = request.project, !asked.isEmpty {
            // A project outside the integration's keys gives an empty list, as in GitLab.
            if !keys.isEmpty && !keys.contains(asked) {
                return ListPage(
                    issues: [], deployment: deployment, page: request.page, perPage: request.perPage,
                    total: deployment == .cloud ? nil : 0, isLast: true, nextPageToken: nil)
            }
            query.projectKeys = [asked]
        } else {
            query.projectKeys = keys
        }
        let cacheKey = JiraIssuesCache.Key(settings: CacheIdentity(settings), project: project.id, request: request, jql: query.jql)
        if let cached = cache.get(cacheKey) { return cached }

        let connection: JiraConnection
        do { connection = try JiraConnection(settings: settings) } catch { throw Failure.jira(error) }
        let page: SearchPage
        do {
            if deployment == .cloud {
                page = try await jira.searchCloud(
                    connection, jql: query.jql, nextPageToken: request.nextPageToken,
                    maxResults: request.perPage, fields: Self.fields, logger: logger)
            } else {
                page = try await jira.searchServer(
                    connection, jql: query.jql, startAt: (request.page - 1) * request.perPage,
                    maxResults: request.perPage, fields: Self.fields, logger: logger)
            }
        } catch {
            throw Failure.jira(error)
        }
        let mapper = JiraIssueEntities(settings: settings, projectID: project.forgeID, projectAddress: project.address, publicURL: publicURL)
        let result = ListPage(
            issues: page.issues.map { mapper.listEntity($0) }, deployment: deployment, page: request.page,
            perPage: request.perPage, total: deployment == .cloud ? nil : page.total, isLast: page.isLast,
            nextPageToken: deployment == .cloud ? page.nextPageToken : nil)
        cache.put(cacheKey, result)
        return result
    }

    /// The detail of `key`: 404 when its project is outside the integration's project keys.
    func detail(_ project: Project, key: String, logger: Logger) async throws -> JSONValue {
        let settings = try await self.settings(for: project)
        guard let dash = key.lastIndex(of: "-"), dash > key.startIndex, key[key.index(after: dash)...].allSatisfy(\.isASCIIDigitValue),
            key.index(after: dash) < key.endIndex
        else {
            throw Failure.notFound
        }
        let projectKey = String(key[..<dash])
        if !settings.projectKeys.isEmpty && !settings.projectKeys.contains(projectKey) { throw Failure.notFound }
        let connection: JiraConnection
        do { connection = try JiraConnection(settings: settings) } catch { throw Failure.jira(error) }
        do {
            let issue = try await jira.issue(connection, key: key, expand: ["renderedFields"], logger: logger)
            return JiraIssueEntities(settings: settings, projectID: project.forgeID, projectAddress: project.address, publicURL: publicURL)
                .detailEntity(issue.raw)
        } catch {
            if error.status == 404 { throw Failure.notFound }
            throw Failure.jira(error)
        }
    }
}

/// What of the settings changes a list's answer: a changed URL, password or key list is a new cache entry.
struct CacheIdentity: Hashable, Sendable {
    var url: String
    var apiURL: String
    var username: String
    var passwordDigest: Int
    var deployment: String

    init(_ s: JiraSettings) {
        url = s.url ?? ""
        apiURL = s.apiURL ?? ""
        username = s.username ?? ""
        var hasher = Hasher()
        hasher.combine(s.password ?? "")
        passwordDigest = hasher.finalize()
        deployment = s.deploymentType.rawValue
    }
}

/// Recent list pages, for 30 seconds: a page refresh, the back button or a second reader within that
/// time costs no Jira request, while a change made in Jira shows up after half a minute at most. The
/// key holds the integration's connection and the full query, so a changed setting never serves a stale
/// page. At most 500 pages are kept; the oldest go first.
final class JiraIssuesCache: Sendable {
    struct Key: Hashable, Sendable {
        var settings: CacheIdentity
        var project: Int64
        var request: JiraIssuesService.ListRequest
        var jql: String
    }

    static let lifetime: Duration = .seconds(30)
    static let capacity = 500

    private struct Entry {
        var page: JiraIssuesService.ListPage
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let clock = ContinuousClock()

    func get(_ key: Key) -> JiraIssuesService.ListPage? {
        let now = clock.now
        return entries.withLock { all in
            guard let entry = all[key] else { return nil }
            if entry.expires <= now { all[key] = nil; return nil }
            return entry.page
        }
    }

    func put(_ key: Key, _ page: JiraIssuesService.ListPage) {
        let now = clock.now
        entries.withLock { all in
            if all.count >= Self.capacity {
                all = all.filter { $0.value.expires > now }
                if all.count >= Self.capacity, let oldest = all.min(by: { $0.value.expires < $1.value.expires }) {
                    all[oldest.key] = nil
                }
            }
            all[key] = Entry(page: page, expires: now + Self.lifetime)
        }
    }
}

private extension Character {
    var isASCIIDigitValue: Bool { isASCII && isNumber }
}
