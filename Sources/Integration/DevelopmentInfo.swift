/// What a forge event puts in the Jira issue's Development panel (Jira Software Cloud's development information:
/// repositories with their commits, branches and pull requests), as pure functions of the event and the
/// integration's key rules. The schema and its limits are Atlassian's
/// (`jira-software-cloud.openapi.json`, `POST /rest/devinfo/0.10/bulk`).
///
/// Sequence numbers (`updateSequenceId`): Jira keeps an entity's data only when a submission carries a
/// greater number than the one it has, so each comes from the forge's own time:
/// - a commit: its author time in milliseconds (a commit never changes, so a redelivery sends the same number);
/// - a branch: the author time of its head commit;
/// - a merge or pull request: its `updated_at` in milliseconds, times 4, plus its state's rank (open 0,
///   declined 1, merged 2), so that a merge in the same second as the last update still wins, and an older
///   update delivered after the merge loses.
public enum DevelopmentInfo {
    /// A change to one repository's development information.
    public enum Change: Sendable, Equatable {
        /// Entities to store (replacing those with a smaller sequence number).
        case store(Repository)
        /// A deleted branch, with the head it had (`before` of the push that deleted it).
        case deleteBranch(repositoryID: String, branchID: String, lastCommit: String)
    }

    public struct Author: Sendable, Equatable {
        public var name: String
        public var email: String?

        public init(name: String, email: String?) {
            self.name = name
            self.email = email
        }
    }

    public struct Commit: Sendable, Equatable {
        public var id: String
        public var issueKeys: [String]
        public var updateSequenceId: Int64
        public var message: String
        public var author: Author
        public var fileCount: Int
        public var url: String
        public var authorTimestamp: String
        public var displayId: String
    }

    public struct Branch: Sendable, Equatable {
        public var id: String
        public var issueKeys: [String]
        public var updateSequenceId: Int64
        public var name: String
        public var lastCommit: Commit
        public var createPullRequestUrl: String
        public var url: String
    }

    public struct PullRequest: Sendable, Equatable {
        /// Atlassian's statuses. A draft is `OPEN` (the schema has no draft status); its title says so.
        public enum Status: String, Sendable { case open = "OPEN", merged = "MERGED", declined = "DECLINED" }

        public var id: String
        public var issueKeys: [String]
        public var updateSequenceId: Int64
        public var status: Status
        public var title: String
        public var author: Author
        public var commentCount: Int
        public var sourceBranch: String
        public var sourceBranchUrl: String
        public var destinationBranch: String
        public var lastUpdate: String
        public var url: String
        public var displayId: String
        public var reviewers: [String]
    }

    public struct Repository: Sendable, Equatable {
        public var id: String
        public var name: String
        public var url: String
        public var updateSequenceId: Int64
        public var commits: [Commit] = []
        public var branches: [Branch] = []
        public var pullRequests: [PullRequest] = []

        public var isEmpty: Bool { commits.isEmpty && branches.isEmpty && pullRequests.isEmpty }
        public var entityCount: Int { commits.count + branches.count + pullRequests.count }
    }

    /// Atlassian's limits (the schema's `maxLength` and `maxItems`).
    public enum Limits {
        public static let message = 1024
        public static let title = 1024
        public static let branchName = 512
        public static let sourceBranch = 255
        public static let displayId = 255
        public static let name = 255
        public static let url = 2000
        public static let entitiesPerTypeAndRepository = 400
        public static let entitiesPerRequest = 1000
        public static let repositoriesPerRequest = 100
        /// Issue keys of one development information entity.
        public static let issueKeys = 100
    }

    /// The repository's stable id in Jira: the forge and its own project id (`gitlab-42`, `github-1296269`).
    public static func repositoryID(_ project: ForgeProject) -> String { "\(project.forge.rawValue)-\(project.id)" }

    /// The changes `event` makes, by `extractor`'s key rules. A push gives its commits that mention a key and
    /// its branch when the branch's name or head commit mentions one; a push that deletes a branch deletes
    /// it; a merge or pull request gives itself when its title, description or source branch mentions a key.
    public static func changes(_ event: ForgeEvent, extractor: ReferenceExtractor) -> [Change] {
        switch event {
        case .push(let push): return changes(push, extractor: extractor)
        case .mergeRequest(let mr): return changes(mr, extractor: extractor)
        case .pipeline, .deployment: return []
        }
    }

    static func emptyRepository(_ project: ForgeProject) -> Repository {
        Repository(
            id: repositoryID(project), name: Texts.cut(project.pathWithNamespace, to: Limits.name), url: project.webURL, updateSequenceId: 0)
    }

    static func changes(_ push: PushEvent, extractor: ReferenceExtractor) -> [Change] {
        guard let branch = push.branch else { return [] }
        let project = push.project
        if push.deletesBranch {
            return [.deleteBranch(repositoryID: repositoryID(project), branchID: Texts.cut(branch, to: Limits.branchName), lastCommit: push.before)]
        }
        var repository = emptyRepository(project)
        var byID: [String: Commit] = [:]
        for forgeCommit in push.commits {
            let keys = capped(extractor.allKeys(forgeCommit.message))
            let commit = self.commit(forgeCommit, keys: keys, project: project)
            byID[forgeCommit.id] = commit
            if !keys.isEmpty { repository.commits.append(commit) }
        }
        // The branch: its name or its head commit names a key.
        let head = push.commits.last(where: { $0.id == push.after }) ?? push.commits.last
        let branchKeys = capped(ordered(extractor.allKeys(branch) + (head.map { extractor.allKeys($0.message) } ?? [])))
        if let head, !branchKeys.isEmpty, var last = byID[head.id] {
            // The schema wants the branch's last commit to name keys too: the branch's, when its message names none.
            if last.issueKeys.isEmpty { last.issueKeys = branchKeys }
            let name = Texts.cut(branch, to: Limits.branchName)
            repository.branches.append(
                Branch(
                    id: name, issueKeys: branchKeys, updateSequenceId: last.updateSequenceId, name: name, lastCommit: last,
                    createPullRequestUrl: createChangeURL(project, branch: branch),
                    url: project.forge.branchURL(project: project.webURL, branch: branch)))
        }
        if repository.commits.count > Limits.entitiesPerTypeAndRepository {
            repository.commits.removeFirst(repository.commits.count - Limits.entitiesPerTypeAndRepository)
        }
        guard !repository.isEmpty else { return [] }
        repository.updateSequenceId = (repository.commits.map(\.updateSequenceId) + repository.branches.map(\.updateSequenceId)).max() ?? 0
        return [.store(repository)]
    }

    static func changes(_ mr: MergeRequestEvent, extractor: ReferenceExtractor) -> [Change] {
        let project = mr.project
        let keys = capped(ordered(extractor.allKeys(mr.title + "\n\n" + mr.description) + extractor.allKeys(mr.sourceBranch)))
        guard !keys.isEmpty else { return [] }
        let details =
            mr.details
            ?? ChangeDetails(
                state: mr.action == .merge ? .merged : mr.action == .close ? .closed : .open, draft: false, updatedAt: nil, author: nil,
                commentCount: 0, reviewers: [])
        let status: PullRequest.Status
        switch details.state {
        case .merged: status = .merged
        case .closed: status = .declined
        case .open: status = .open
        }
        let rank: Int64 = status == .merged ? 2 : status == .declined ? 1 : 0
        let updated = details.updatedAt.flatMap { JiraTimestamp($0)?.millis } ?? 0
        let sequence = max(0, updated) &* 4 &+ rank
        let number = mr.iid
        let title = details.draft && !mr.title.lowercased().hasPrefix("draft") ? "Draft: " + mr.title : mr.title
        var repository = emptyRepository(project)
        repository.pullRequests.append(
            PullRequest(
                id: String(number), issueKeys: keys, updateSequenceId: sequence, status: status, title: Texts.cut(title, to: Limits.title),
                author: Author(name: details.author ?? (mr.user.name.isEmpty ? mr.user.username : mr.user.name), email: nil),
                commentCount: details.commentCount, sourceBranch: Texts.cut(mr.sourceBranch, to: Limits.sourceBranch),
                sourceBranchUrl: project.forge.branchURL(project: project.webURL, branch: mr.sourceBranch),
                destinationBranch: Texts.cut(mr.targetBranch, to: Limits.sourceBranch),
                lastUpdate: details.updatedAt.flatMap { JiraTimestamp($0)?.millis }.map { JiraTimestamp(millis: $0).utcText }
                    ?? JiraTimestamp(millis: 0).utcText,
                url: mr.url, displayId: project.forge == .gitlab ? "!\(number)" : "#\(number)", reviewers: details.reviewers))
        repository.updateSequenceId = sequence
        return [.store(repository)]
    }

    static func commit(_ c: ForgeCommit, keys: [String], project: ForgeProject) -> Commit {
        let millis = c.timestamp.flatMap { JiraTimestamp($0)?.millis }
        return Commit(
            id: c.id, issueKeys: keys, updateSequenceId: max(1, millis ?? 1), message: Texts.cut(c.message, to: Limits.message),
            author: Author(name: c.authorName, email: c.authorEmail), fileCount: c.fileCount ?? 0,
            url: project.forge.commitURL(project: project.webURL, sha: c.id),
            authorTimestamp: millis.map { JiraTimestamp(millis: $0).utcText } ?? JiraTimestamp(millis: 0).utcText,
            displayId: String(c.id.prefix(7)))
    }

    /// The forge's page that starts a merge or pull request from `branch`.
    static func createChangeURL(_ project: ForgeProject, branch: String) -> String {
        let segment = Texts.pathSegment(branch)
        switch project.forge {
        case .gitlab: return "\(project.webURL)/-/merge_requests/new?merge_request%5Bsource_branch%5D=\(segment)"
        case .github: return "\(project.webURL)/compare/\(segment)?expand=1"
        case .gitea: return "\(project.webURL)/compare/\(Texts.pathSegment(project.defaultBranch))...\(segment)"
        }
    }

    /// At most `Limits.issueKeys` keys per entity, in the schema's key pattern (`^\w{1,255}-\d{1,255}$`).
    static func capped(_ keys: [String]) -> [String] { Array(keys.prefix(Limits.issueKeys)) }

    static func ordered(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }
}

extension DevelopmentInfo.Repository {
    /// The repository as `POST .../devinfo/.../bulk` takes it in `repositories`.
    public var json: JSONValue {
        func author(_ a: DevelopmentInfo.Author) -> JSONValue {
            var doc: [String: JSONValue] = ["name": .string(a.name)]
            if let email = a.email, !email.isEmpty { doc["email"] = .string(email) }
            return .object(doc)
        }
        func keys(_ k: [String]) -> JSONValue { .array(k.map(JSONValue.string)) }
        func commit(_ c: DevelopmentInfo.Commit) -> JSONValue {
            .object([
                "id": .string(c.id), "issueKeys": keys(c.issueKeys), "updateSequenceId": .number(Double(c.updateSequenceId)),
                "hash": .string(c.id), "message": .string(c.message), "author": author(c.author), "fileCount": .number(Double(c.fileCount)),
                "url": .string(c.url), "authorTimestamp": .string(c.authorTimestamp), "displayId": .string(c.displayId),
            ])
        }
        var doc: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "url": .string(url), "updateSequenceId": .number(Double(updateSequenceId)),
        ]
        if !commits.isEmpty { doc["commits"] = .array(commits.map(commit)) }
        if !branches.isEmpty {
            doc["branches"] = .array(
                branches.map { b in
                    .object([
                        "id": .string(b.id), "issueKeys": keys(b.issueKeys), "updateSequenceId": .number(Double(b.updateSequenceId)),
                        "name": .string(b.name), "lastCommit": commit(b.lastCommit), "createPullRequestUrl": .string(b.createPullRequestUrl),
                        "url": .string(b.url),
                    ])
                })
        }
        if !pullRequests.isEmpty {
            doc["pullRequests"] = .array(
                pullRequests.map { p in
                    .object([
                        "id": .string(p.id), "issueKeys": keys(p.issueKeys), "updateSequenceId": .number(Double(p.updateSequenceId)),
                        "status": .string(p.status.rawValue), "title": .string(p.title), "author": author(p.author),
                        "commentCount": .number(Double(p.commentCount)), "sourceBranch": .string(p.sourceBranch),
                        "sourceBranchUrl": .string(p.sourceBranchUrl), "destinationBranch": .string(p.destinationBranch),
                        "lastUpdate": .string(p.lastUpdate), "url": .string(p.url), "displayId": .string(p.displayId),
                        "reviewers": .array(p.reviewers.map { .object(["name": .string($0)]) }),
                    ])
                })
        }
        return .object(doc)
    }
}

extension DevelopmentInfo {
    /// Two renderings of one repository (`Repository.json`) as one, each entity at its greater sequence number:
    /// what a burst of pushes to one repository sends in one request. Nil when the result would pass
    /// Atlassian's limits (400 entities of a type, 1,000 in all) or the repositories differ.
    public static func merge(_ first: JSONValue, _ second: JSONValue) -> JSONValue? {
        guard var doc = first.object, let other = second.object, let id = doc["id"]?.string, other["id"]?.string == id else { return nil }
        func sequence(_ v: JSONValue?) -> Double { v?["updateSequenceId"]?.number ?? 0 }
        var total = 0
        for type in ["commits", "branches", "pullRequests"] {
            var byID: [String: JSONValue] = [:]
            var order: [String] = []
            for entity in (doc[type]?.array ?? []) + (other[type]?.array ?? []) {
                guard let entityID = entity["id"]?.string else { continue }
                if let old = byID[entityID] {
                    if sequence(entity) > sequence(old) { byID[entityID] = entity }
                } else {
                    byID[entityID] = entity
                    order.append(entityID)
                }
            }
            guard order.count <= Limits.entitiesPerTypeAndRepository else { return nil }
            total += order.count
            if !order.isEmpty { doc[type] = .array(order.map { byID[$0]! }) }
        }
        guard total <= Limits.entitiesPerRequest else { return nil }
        doc["updateSequenceId"] = .number(max(sequence(first), sequence(second)))
        if let name = other["name"] { doc["name"] = name }
        if let url = other["url"] { doc["url"] = url }
        return .object(doc)
    }

    /// The entities Atlassian refused in a bulk answer (`failedDevinfoEntities`), as `id: message` lines.
    public static func failures(_ answer: JSONValue) -> [String] {
        var out: [String] = []
        for (repository, value) in (answer["failedDevinfoEntities"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
            for message in value["errorMessages"]?.array ?? [] {
                if let text = message["message"]?.string { out.append("\(repository): \(text)") }
            }
            for type in ["commits", "branches", "pullRequests"] {
                for entity in value[type]?.array ?? [] {
                    let id = entity["id"]?.string ?? "?"
                    for message in entity["errorMessages"]?.array ?? [] {
                        if let text = message["message"]?.string { out.append("\(id): \(text)") }
                    }
                }
            }
        }
        return out
    }
}
