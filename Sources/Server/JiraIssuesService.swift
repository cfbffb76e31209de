import Foundation
import Integration
import JiraClient
import Logging
import Store
import Synchronization

/// The Jira issues of a project (GitLab's Jira issues list and detail, gitlab-jira-behavior.md (e)), for
/// the API and the pages.
struct JiraIssuesService: Sendable {
    let store: any BridgeStore
    let jira: JiraHTTPClient
    let publicURL: String
    let cache: JiraIssuesCache

    /// GitLab's fixed field list, with `statuscategorychangedate` spelled as Jira spells it (GitLab's
    /// misspelling silently drops it).
    static let fields = ["assignee", "created", "creator", "id", "issuetype", "key", "labels", "priority", "project", "reporter",
                         "resolutiondate", "status", "statuscategorychangedate", "summary", "updated", "description"]

    /// The filters and the page of one list request.
    struct ListRequest: Sendable, Hashable {
        var query = JiraIssueQuery()
        /// `project`: one Jira project key asked for.
        var project: String?
        var page = 1
        var perPage = 100
        var nextPageToken: String?
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
                return ListPage(issues: [], deployment: deployment, page: request.page, perPage: request.perPage,
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
                page = try await jira.searchCloud(connection, jql: query.jql, nextPageToken: request.nextPageToken,
                                                  maxResults: request.perPage, fields: Self.fields, logger: logger)
            } else {
                page = try await jira.searchServer(connection, jql: query.jql, startAt: (request.page - 1) * request.perPage,
                                                   maxResults: request.perPage, fields: Self.fields, logger: logger)
            }
        } catch {
            throw Failure.jira(error)
        }
        let mapper = JiraIssueMapper(settings: settings, projectID: project.id, publicURL: publicURL)
        let result = ListPage(issues: page.issues.map { mapper.listEntity($0) }, deployment: deployment, page: request.page,
                              perPage: request.perPage, total: deployment == .cloud ? nil : page.total, isLast: page.isLast,
                              nextPageToken: deployment == .cloud ? page.nextPageToken : nil)
        cache.put(cacheKey, result)
        return result
    }

    /// The detail of `key`: 404 when its project is outside the integration's project keys.
    func detail(_ project: Project, key: String, logger: Logger) async throws -> JSONValue {
        let settings = try await self.settings(for: project)
        guard let dash = key.lastIndex(of: "-"), dash > key.startIndex, key[key.index(after: dash)...].allSatisfy(\.isASCIIDigitValue),
              key.index(after: dash) < key.endIndex else {
            throw Failure.notFound
        }
        let projectKey = String(key[..<dash])
        if !settings.projectKeys.isEmpty && !settings.projectKeys.contains(projectKey) { throw Failure.notFound }
        let connection: JiraConnection
        do { connection = try JiraConnection(settings: settings) } catch { throw Failure.jira(error) }
        do {
            let issue = try await jira.issue(connection, key: key, expand: ["renderedFields"], logger: logger)
            return JiraIssueMapper(settings: settings, projectID: project.id, publicURL: publicURL).detailEntity(issue.raw)
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

/// GitLab's Jira issue entities, from Jira's issue documents.
struct JiraIssueMapper {
    let settings: JiraSettings
    let projectID: Int64
    let publicURL: String

    /// The Jira web URL without trailing slashes.
    var webBase: String {
        var base = settings.url ?? ""
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    func listEntity(_ issue: JSONValue) -> JSONValue {
        let fields = issue["fields"] ?? .null
        let key = issue["key"]?.string ?? ""
        let labels: [JSONValue] = (fields["labels"]?.array ?? []).compactMap(\.string).map { name in
            .object(["id": .string(name), "title": .string(name), "name": .string(name), "color": .string("#0052CC"), "text_color": .string("#FFFFFF")])
        }
        var assignees: [JSONValue] = []
        if let assignee = fields["assignee"], !assignee.isNull { assignees.append(user(assignee)) }
        var doc: [String: JSONValue] = [:]
        doc["project_id"] = .number(Double(projectID))
        doc["title"] = fields["summary"] ?? .null
        doc["created_at"] = Self.utc(fields["created"]?.string)
        doc["updated_at"] = Self.utc(fields["updated"]?.string)
        doc["closed_at"] = Self.utc(fields["resolutiondate"]?.string)
        doc["status"] = fields["status"]?["name"] ?? .null
        doc["labels"] = .array(labels)
        var author = JSONValue.null
        if let reporter = fields["reporter"], !reporter.isNull { author = user(reporter) }
        doc["author"] = author
        doc["assignees"] = .array(assignees)
        doc["web_url"] = .string("\(webBase)/browse/\(key)")
        doc["gitlab_web_url"] = .string("\(publicURL)/projects/\(projectID)/integrations/jira/issues/\(key)")
        doc["references"] = .object(["relative": .string(key)])
        doc["external_tracker"] = .string("jira")
        return .object(doc)
    }

    func detailEntity(_ issue: JSONValue) -> JSONValue {
        guard case .object(var doc) = listEntity(issue) else { return .null }
        let fields = issue["fields"] ?? .null
        let rendered = issue["renderedFields"] ?? .null
        let links = HTMLSanitizer.Links(base: webBase, refusedOrigin: publicURL)
        doc["description_html"] = rendered["description"]?.string.map { .string(HTMLSanitizer.sanitize($0, links: links)) } ?? .null
        doc["state"] = .string(fields["resolutiondate"].map { $0.isNull ? "opened" : "closed" } ?? "opened")
        doc["due_date"] = fields["duedate"] ?? .null
        let renderedComments = rendered["comment"]?["comments"]?.array ?? []
        var renderedByID: [String: String] = [:]
        for c in renderedComments {
            if let id = c["id"]?.idString, let body = c["body"]?.string { renderedByID[id] = body }
        }
        let comments: [JSONValue] = (fields["comment"]?["comments"]?.array ?? []).map { c in
            let id = c["id"]?.idString ?? ""
            let html = renderedByID[id] ?? HTMLSanitizer.escape(c["body"]?.string ?? "")
            return .object([
                "id": .string(id),
                "body_html": .string(HTMLSanitizer.sanitize(html, links: links)),
                "created_at": Self.utc(c["created"]?.string),
                "updated_at": Self.utc(c["updated"]?.string),
                "author": c["author"].map(user) ?? .null,
            ])
        }
        doc["comments"] = .array(comments)
        return .object(doc)
    }

    /// `{name, web_url, avatar_url}`: a Cloud user links to `/people/<accountId>`, a Server user to
    /// `/secure/ViewProfile.jspa?name=<name>`.
    func user(_ u: JSONValue) -> JSONValue {
        let webURL: String
        if let accountID = u["accountId"]?.string, !accountID.isEmpty {
            webURL = "\(webBase)/people/\(accountID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? accountID)"
        } else {
            let name = u["name"]?.string ?? ""
            webURL = "\(webBase)/secure/ViewProfile.jspa?name=\(name.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? name)"
        }
        return .object([
            "name": u["displayName"] ?? .null,
            "web_url": .string(webURL),
            "avatar_url": u["avatarUrls"]?["48x48"] ?? .null,
        ])
    }

    /// Jira's `2024-01-31T12:00:00.000+0100` as GitLab's UTC `2024-01-31T11:00:00.000Z`.
    static func utc(_ text: String?) -> JSONValue {
        guard let text, let date = parseJiraDate(text) else { return .null }
        return .string(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date))
    }

    static func parseJiraDate(_ text: String) -> Date? {
        let u = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var v = 0
            for b in u[from..<(from + count)] {
                guard b >= 48 && b <= 57 else { return nil }
                v = v * 10 + Int(b - 48)
            }
            return v
        }
        guard u.count >= 19, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var i = 19
        var nanos = 0
        if i < u.count, u[i] == 46 {  // fraction
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48 && u[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int(u[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 9 { nanos *= 10; digits += 1 }
        }
        var offset = 0
        if i < u.count, u[i] == 43 || u[i] == 45 {  // +hhmm, +hh:mm
            let sign = u[i] == 45 ? -1 : 1
            guard let h = number(i + 1, 2) else { return nil }
            let minuteStart = i + 3 < u.count && u[i + 3] == 58 ? i + 4 : i + 3
            let m = number(minuteStart, 2) ?? 0
            offset = sign * (h * 3600 + m * 60)
        }
        var components = DateComponents()
        components.year = year; components.month = month; components.day = day
        components.hour = hour; components.minute = minute; components.second = second; components.nanosecond = nanos
        guard let zone = TimeZone(secondsFromGMT: offset) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: components)
    }
}

private extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()
}
