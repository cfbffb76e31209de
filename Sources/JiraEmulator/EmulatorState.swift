import Foundation

/// The emulator's whole state: users, projects, issues, workflow, faults and the request record.
public actor EmulatorState {
    public nonisolated let deployment: EmulatedDeployment
    public private(set) var users: [EmulatedUser]
    public private(set) var projects: [String: EmulatedProject] = [:]
    public private(set) var issues: [String: EmulatedIssue] = [:]
    public let issueTypes: [EmulatedIssueType]
    public let statuses: [EmulatedStatus]
    public let transitions: [EmulatedTransition]
    /// Whether a transition into the done category sets a resolution (real workflows may not).
    public var resolutionOnDone = true
    private var faults: [EmulatedFault] = []
    public private(set) var rateLimits: [EmulatedRateLimit] = []
    private var rateLimitCounters = RateLimitCounters()
    public private(set) var requests: [RecordedRequest] = []
    /// REST requests being answered now, and the most there ever were at once (what a client's concurrency
    /// limit must keep low, over every process of it).
    public private(set) var inFlight = 0
    public private(set) var maxInFlight = 0
    private var nextIssueID = 10000
    private var nextCommentID = 20000
    private var nextLinkID = 30000
    private var nextProjectID = 10100
    private let recordFile: URL?

    public init(deployment: EmulatedDeployment, recordFile: URL? = nil) {
        self.deployment = deployment
        self.recordFile = recordFile
        self.users = [
            EmulatedUser(
                name: "jira-bot", email: "jira-bot@example.com", displayName: "Jira Bot",
                accountId: "5b10a2844c20165700ede21g", password: "secret-token", personalAccessToken: "pat-secret"),
            EmulatedUser(
                name: "alice", email: "alice@example.com", displayName: "Alice Adams",
                accountId: "5b10ac8d82e05b22cc7d4ef5", password: "alice-pass"),
        ]
        var serviceAccount = EmulatedUser(
            name: "jira-bridge-sa", email: "jira-bridge-sa@serviceaccount.atlassian.com",
            displayName: "jira-bridge service account", accountId: "712020:5e3c7a1b-0f4d-4e2a-9a77-3d1f0c2b8e61",
            password: "")
        serviceAccount.serviceAccountToken = "sa-scoped-token"
        self.users.append(serviceAccount)
        self.issueTypes = [
            EmulatedIssueType(
                id: "10001", name: "Bug", description: "A problem which impairs or prevents the functions of the product.", subtask: false),
            EmulatedIssueType(id: "10002", name: "Task", description: "A task that needs to be done.", subtask: false),
            EmulatedIssueType(id: "10003", name: "Story", description: "A user story.", subtask: false),
            EmulatedIssueType(id: "10004", name: "Sub-task", description: "The sub-task of the issue", subtask: true),
        ]
        self.statuses = [
            EmulatedStatus(id: "1", name: "To Do", categoryKey: "new", categoryID: 2, categoryName: "To Do"),
            EmulatedStatus(id: "3", name: "In Progress", categoryKey: "indeterminate", categoryID: 4, categoryName: "In Progress"),
            EmulatedStatus(id: "10001", name: "Done", categoryKey: "done", categoryID: 3, categoryName: "Done"),
            EmulatedStatus(id: "10100", name: "In Review", categoryKey: "indeterminate", categoryID: 4, categoryName: "In Progress"),
        ]
        self.transitions = [
            EmulatedTransition(id: "11", name: "To Do", toStatusID: "1"),
            EmulatedTransition(id: "21", name: "In Progress", toStatusID: "3"),
            EmulatedTransition(id: "31", name: "Done", toStatusID: "10001"),
        ]
    }

    // MARK: Seeding

    public func reset() {
        projects = [:]
        issues = [:]
        faults = []
        requests = []
        resolutionOnDone = true
        rateLimits = []
        rateLimitCounters = RateLimitCounters()
    }

    /// Enforces a rate limit from now on (`EmulatedRateLimit`), besides those set before.
    public func addRateLimit(_ limit: EmulatedRateLimit) { rateLimits.append(limit) }

    public func clearRateLimits() {
        rateLimits = []
        rateLimitCounters = RateLimitCounters()
    }

    /// Counts a REST request against the rate limits: the limit that refuses it, if any, and the headers to send.
    func takeRateLimit(method: String, path: String) -> (refusedBy: EmulatedRateLimit?, headers: [String: String]) {
        guard !rateLimits.isEmpty else { return (nil, [:]) }
        return rateLimitCounters.take(rateLimits, method: method, path: path, now: Int64(Date().timeIntervalSince1970 * 1000))
    }

    @discardableResult
    public func addProject(key: String, name: String? = nil, requiredFields: [String] = [], workflow: String = "default") -> EmulatedProject {
        nextProjectID += 1
        var p = EmulatedProject(id: String(nextProjectID), key: key, name: name ?? key, requiredFields: requiredFields)
        p.workflow = workflow == "review" ? "review" : "default"
        projects[key] = p
        return p
    }

    @discardableResult
    public func addIssue(
        projectKey: String, summary: String, description: String? = nil, labels: [String] = [],
        statusName: String = "To Do", reporter: String? = "alice", assignee: String? = nil,
        issueTypeID: String = "10001", created: Date = Date(), renderedDescription: String? = nil
    ) -> EmulatedIssue {
        if projects[projectKey] == nil { addProject(key: projectKey) }
        let number = issues.values.filter { $0.projectKey == projectKey }.count + 1
        nextIssueID += 1
        let status = statuses.first { $0.name == statusName } ?? statuses[0]
        let done = status.categoryKey == "done"
        let issue = EmulatedIssue(
            id: String(nextIssueID), key: "\(projectKey)-\(number)", projectKey: projectKey, summary: summary,
            description: description, issueTypeID: issueTypeID, statusID: status.id,
            resolution: done ? "Done" : nil, resolutionDate: done ? created : nil, labels: labels,
            reporter: reporter, assignee: assignee, created: created, updated: created,
            renderedDescription: renderedDescription)
        issues[issue.key] = issue
        return issue
    }

    public func setResolutionOnDone(_ value: Bool) { resolutionOnDone = value }

    public func addUser(_ user: EmulatedUser) { users.append(user) }

    /// Rotates a user's password or API token: the old one stops working.
    public func setPassword(user name: String, to password: String) {
        for i in users.indices where users[i].name == name {
            users[i].password = password
            users[i].requestsUntilExpiry = nil
        }
    }

    /// The user's credentials expire after `requests` more authenticated requests (0: at once), as an Atlassian
    /// API token does on its expiry date; a new password or token (`setPassword`) works again.
    public func expireCredentials(user name: String, afterRequests requests: Int) {
        for i in users.indices where users[i].name == name { users[i].requestsUntilExpiry = max(0, requests) }
    }

    public func addFault(_ fault: EmulatedFault) { faults.append(fault) }

    public func clearFaults() { faults = [] }

    public func issue(_ key: String) -> EmulatedIssue? { issues[key] ?? issues.values.first { $0.id == key } }

    /// Moves an issue to the status named `name` (as a user's edit in Jira would), for the tests.
    public func setStatus(issue key: String, to name: String) {
        guard let status = statuses.first(where: { $0.name == name }) else { return }
        issues[key]?.statusID = status.id
    }

    // MARK: Requests and faults

    /// Takes the first fault matching this request, counting it down.
    func takeFault(method: String, path: String) -> EmulatedFault? {
        guard
            let i = faults.firstIndex(where: { f in
                (f.method == nil || f.method == method) && (f.pathContains == nil || path.contains(f.pathContains!))
            })
        else { return nil }
        if faults[i].after > 0 {
            // Lets this many matching requests through first.
            faults[i].after -= 1
            return nil
        }
        let fault = faults[i]
        faults[i].times -= 1
        if faults[i].times <= 0 { faults.remove(at: i) }
        return fault
    }

    func enter() {
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    func leave() { inFlight -= 1 }

    func resetConcurrency() { maxInFlight = inFlight }

    func record(_ request: RecordedRequest) {
        requests.append(request)
        guard let recordFile, var line = try? JSONEncoder().encode(request) else { return }
        line.append(0x0A)
        if let handle = try? FileHandle(forWritingTo: recordFile) {
            handle.seekToEndOfFile()
            handle.write(line)
            try? handle.close()
        } else {
            try? line.write(to: recordFile)
        }
    }

    public func clearRequests() { requests = [] }

    // MARK: Authentication

    /// The cloud id of the emulated Cloud site: Atlassian's gateway serves it at `/ex/jira/<cloud id>/...`.
    public nonisolated let cloudID = "4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19"
    /// Atlassian's gateway for OAuth credentials: tokens and development information (`DevelopmentAPI.swift`).
    public nonisolated let development = EmulatedDevelopment()
    /// The forges' APIs jira-bridge talks back to (`ForgeAPI.swift`).
    public nonisolated let forges = EmulatedForges()

    /// The user the `Authorization` header names, `.anonymous` without one, `.refused` when wrong. Through the
    /// gateway (`gateway`), a service account's scoped token is accepted as `Bearer`, as Atlassian's is.
    func authenticate(_ header: String?, gateway: Bool = false) -> Authentication {
        let found = identify(header, gateway: gateway)
        guard case .user(let user) = found, let i = users.firstIndex(where: { $0.name == user.name }),
            let left = users[i].requestsUntilExpiry
        else { return found }
        if left <= 0 { return .refused }  // expired
        users[i].requestsUntilExpiry = left - 1
        return found
    }

    private func identify(_ header: String?, gateway: Bool) -> Authentication {
        guard let header, !header.isEmpty else { return .anonymous }
        if header.hasPrefix("Bearer "), gateway {
            let token = String(header.dropFirst(7))
            return users.first { $0.serviceAccountToken != nil && $0.serviceAccountToken == token }.map { .user($0) } ?? .refused
        }
        if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            let login = String(text[..<colon])
            let secret = String(text[text.index(after: colon)...])
            let match = users.first { u in
                !u.password.isEmpty && (deployment == .cloud ? u.email == login : (u.name == login || u.email == login)) && u.password == secret
            }
            return match.map { .user($0) } ?? .refused
        }
        if header.hasPrefix("Bearer "), deployment == .server {
            let token = String(header.dropFirst(7))
            return users.first { $0.personalAccessToken == token }.map { .user($0) } ?? .refused
        }
        return .refused
    }

    enum Authentication {
        case anonymous
        case user(EmulatedUser)
        case refused
    }

    // MARK: Mutations used by the REST handlers

    @discardableResult
    public func addComment(issueKey: String, body: String, author: String) -> EmulatedComment? {
        guard var issue = issue(issueKey) else { return nil }
        nextCommentID += 1
        let c = EmulatedComment(id: String(nextCommentID), body: body, author: author, created: Date())
        issue.comments.append(c)
        issue.updated = Date()
        issues[issue.key] = issue
        return c
    }

    /// Logs work; nil when the issue is unknown, a worklog with id "" when the duration is not one Jira reads
    /// (`1w 2d 4h 30m`, decimals allowed).
    func addWorklog(issueKey: String, timeSpent: String, comment: String, author: String) -> EmulatedWorklog? {
        guard var issue = issue(issueKey) else { return nil }
        let units: [Character: Double] = ["w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60]
        var seconds = 0.0
        let tokens = timeSpent.split(whereSeparator: \.isWhitespace)
        for token in tokens {
            guard let unit = token.last, let size = units[unit], let n = Double(token.dropLast()), n >= 0, n.isFinite else {
                return EmulatedWorklog(id: "", timeSpent: timeSpent, timeSpentSeconds: 0, comment: comment, author: author)
            }
            seconds += n * size
        }
        guard !tokens.isEmpty, seconds >= 60 else {
            return EmulatedWorklog(id: "", timeSpent: timeSpent, timeSpentSeconds: 0, comment: comment, author: author)
        }
        nextCommentID += 1
        let w = EmulatedWorklog(id: String(nextCommentID), timeSpent: timeSpent, timeSpentSeconds: Int(seconds), comment: comment, author: author)
        issue.worklogs.append(w)
        issue.updated = Date()
        issues[issue.key] = issue
        return w
    }

    /// Creates the link, or replaces the one with the same `globalId`. Returns its id and whether it is new.
    func upsertRemoteLink(issueKey: String, globalId: String?, relationship: String?, object: Data) -> (Int, Bool)? {
        guard var issue = issue(issueKey) else { return nil }
        if let globalId, let i = issue.remoteLinks.firstIndex(where: { $0.globalId == globalId }) {
            issue.remoteLinks[i].objectJSON = object
            issue.remoteLinks[i].relationship = relationship
            issues[issue.key] = issue
            return (issue.remoteLinks[i].id, false)
        }
        nextLinkID += 1
        issue.remoteLinks.append(EmulatedRemoteLink(id: nextLinkID, globalId: globalId, relationship: relationship, objectJSON: object))
        issues[issue.key] = issue
        return (nextLinkID, true)
    }

    func updateRemoteLink(issueKey: String, linkID: Int, globalId: String?, relationship: String?, object: Data) -> Bool {
        guard var issue = issue(issueKey), let i = issue.remoteLinks.firstIndex(where: { $0.id == linkID }) else { return false }
        issue.remoteLinks[i].objectJSON = object
        issue.remoteLinks[i].relationship = relationship
        if let globalId { issue.remoteLinks[i].globalId = globalId }
        issues[issue.key] = issue
        return true
    }

    /// The `review` workflow: one way forward through review, and a resolution screen.
    static let reviewWorkflow = [
        EmulatedTransition(id: "11", name: "Start Progress", toStatusID: "3", from: ["1"]),
        EmulatedTransition(id: "21", name: "Send to Review", toStatusID: "10100", from: ["3"]),
        EmulatedTransition(id: "31", name: "Approve", toStatusID: "10001", from: ["10100"]),
        EmulatedTransition(id: "41", name: "Reopen", toStatusID: "1", from: ["10001"]),
        // A second Reopen, back to In Progress: the name alone is ambiguous from Done.
        EmulatedTransition(id: "42", name: "Reopen", toStatusID: "3", from: ["10001"]),
        EmulatedTransition(id: "51", name: "Resolve Issue", toStatusID: "10001", from: ["3"], requiredFields: ["resolution"]),
    ]

    public enum TransitionAnswer: Sendable, Equatable {
        case done
        case notAvailable
        /// The screen's required fields that the request did not give.
        case missing([String])
    }

    /// Applies a transition with the fields of its screen; nil when the issue is unknown.
    func transition(issueKey: String, transitionID: String, fields: [String: String] = [:]) -> TransitionAnswer? {
        guard var issue = issue(issueKey) else { return nil }
        guard let t = availableTransitions(for: issue).first(where: { $0.id == transitionID }),
            let status = statuses.first(where: { $0.id == t.toStatusID })
        else { return .notAvailable }
        let missing = t.requiredFields.filter { fields[$0] == nil }
        guard missing.isEmpty else { return .missing(missing) }
        issue.statusID = status.id
        if status.categoryKey == "done" {
            if resolutionOnDone {
                issue.resolution = "Done"
                issue.resolutionDate = Date()
            }
        } else {
            issue.resolution = nil
            issue.resolutionDate = nil
        }
        if let resolution = fields["resolution"] { issue.resolution = resolution }
        issue.updated = Date()
        issues[issue.key] = issue
        return .done
    }

    func availableTransitions(for issue: EmulatedIssue) -> [EmulatedTransition] {
        let workflow = projects[issue.projectKey]?.workflow == "review" ? Self.reviewWorkflow : transitions
        return workflow.filter { t in t.toStatusID != issue.statusID && (t.from.map { $0.contains(issue.statusID) } ?? true) }
    }

    /// Creates an issue from a `fields` document; returns Jira's field errors when required ones are missing.
    func createIssue(fields: [String: Any], reporter: String) -> Result<EmulatedIssue, CreateIssueFailure> {
        let projectRef = fields["project"] as? [String: Any]
        let projectID = projectRef?["id"].map { "\($0)" }
        let projectKey = projectRef?["key"] as? String
        guard let project = projects.values.first(where: { $0.id == projectID || $0.key == projectKey }) else {
            return .failure(CreateIssueFailure(errors: ["project": "valid project is required"]))
        }
        var errors: [String: String] = [:]
        let typeID = (fields["issuetype"] as? [String: Any])?["id"].map { "\($0)" }
        if typeID == nil || !issueTypes.contains(where: { $0.id == typeID }) { errors["issuetype"] = "valid issue type is required" }
        let summary = fields["summary"] as? String ?? ""
        if summary.isEmpty { errors["summary"] = "You must specify a summary of the issue." }
        if summary.count > 255 { errors["summary"] = "You must specify a summary of the issue that is less than 255 characters." }
        for required in project.requiredFields where fields[required] == nil {
            errors[required] = "\(required.prefix(1).uppercased() + required.dropFirst()) is required."
        }
        if !errors.isEmpty { return .failure(CreateIssueFailure(errors: errors)) }
        var extras = fields
        for k in ["project", "issuetype", "summary", "description"] { extras.removeValue(forKey: k) }
        var issue = addIssue(
            projectKey: project.key, summary: summary, description: fields["description"] as? String,
            reporter: reporter, issueTypeID: typeID!)
        if !extras.isEmpty, let data = try? JSONSerialization.data(withJSONObject: extras, options: [.sortedKeys]) {
            issue.extraFields = data
            issues[issue.key] = issue
        }
        return .success(issue)
    }

    struct CreateIssueFailure: Error {
        var errors: [String: String]
    }

    // MARK: Search

    func search(jql: String) throws(JQLError) -> [EmulatedIssue] {
        let query = try JQLQuery.parse(jql)
        let matching = issues.values.filter { query.matches($0, statuses: statuses, users: users) }
        return query.sorted(matching)
    }
}
