/// The Jira action a delivery performs, as the delivery log names it.
public enum DeliveryAction: String, Sendable, Equatable {
    case remoteLink = "remote_link"
    case comment
    case transition
    case createIssue = "create_issue"
    /// Commits, branches and merge requests sent to the Development panel (Jira Cloud, OAuth credentials).
    case developmentInfo = "development_info"
    /// A pipeline or workflow run sent to Jira Cloud's Builds.
    case build
    /// A deployment sent to Jira Cloud's Deployments.
    case deployment
    /// A Jira issue check, set as a commit status on the forge.
    case commitStatus = "commit_status"
    /// One page of a repository's history sent to the Development panel (`Backfill`).
    case backfill
    /// One page of what the forge saw while jira-bridge was down, taken in (`CatchUp`).
    case catchUp = "catch_up"
    /// Work logged on an issue by a smart commit's `#time`.
    case worklog

    /// Whether the write can be sent again at once when its outcome is unknown (a dropped connection, an
    /// unreadable answer): a remote link is an upsert by `globalId` in Jira, so a second one changes nothing;
    /// development information, builds and deployments replace their data only on a greater sequence number, so
    /// they are the same; a commit status replaces the one of its context, so the forge shows the same.
    /// Comments, transitions and created issues could double, so they take the uncertain-write path (a wait,
    /// then a read of Jira before anything is sent again).
    public var repeatsSafely: Bool { self == .remoteLink || usesOAuthCredentials || self == .commitStatus || self == .catchUp }

    /// Whether it calls Jira at all (a catch-up only reads the forge): one that does not waits on no hold of
    /// Jira's credentials.
    public var callsJira: Bool { self != .catchUp }

    /// Whether its queue's issue key is a Jira issue (not a repository's or a commit's).
    public var namesIssue: Bool { !usesOAuthCredentials && self != .commitStatus && self != .catchUp }

    /// Whether it goes to Atlassian's gateway with the integration's OAuth credentials (Jira Cloud's Development
    /// panel, Builds and Deployments) rather than to Jira's REST API with its user's.
    public var usesOAuthCredentials: Bool { self == .developmentInfo || self == .build || self == .deployment || self == .backfill }
}

/// A remote link to write: Jira upserts it by `globalId`.
public struct RemoteLinkSpec: Sendable, Equatable {
    public var globalId: String
    public var url: String
    public var title: String
    public var resolved: Bool
    public var relationship: String
    public var iconURL: String
    /// The application Jira names beside the icon: the forge ("GitLab", "GitHub", "Gitea").
    public var iconTitle: String

    public init(
        globalId: String, url: String, title: String, resolved: Bool, relationship: String, iconURL: String,
        iconTitle: String = Forge.gitlab.displayName
    ) {
        self.iconTitle = iconTitle
        self.globalId = globalId
        self.url = url
        self.title = title
        self.resolved = resolved
        self.relationship = relationship
        self.iconURL = iconURL
    }

    /// Jira caps `globalId` at 255 characters; longer entity URLs are replaced by a stable digest.
    public static func globalID(for url: String) -> String {
        if url.utf8.count <= 255 { return url }
        return "jira-bridge:fnv128:" + StableHash.hex(url)
    }
}

/// Transitions to apply for a closing reference, and what to write once Jira shows a resolution.
public struct TransitionSpec: Sendable, Equatable {
    public var automatic: Bool
    public var ids: [String]
    /// How many of `ids` were applied by earlier attempts (a retry continues after them).
    public var applied: Int
    public var commitID: String
    public var commitURL: String
    /// Whether to post "Issue solved with ..." after the resolution (comment_on_event_enabled).
    public var comment: Bool
    public var iconURL: String
    public var iconTitle: String
    /// The transitions of a merge or pull request that was opened (`merge_request_opened_transition`): never a
    /// step back into an earlier status category, and no "solved" comment or link after.
    public var onOpen = false
    /// A smart commit's `#name`: matched as smart commits match (hyphens for spaces, or a name's first word).
    public var smart = false

    public init(
        automatic: Bool, ids: [String], applied: Int, commitID: String, commitURL: String, comment: Bool, iconURL: String,
        iconTitle: String = Forge.gitlab.displayName, onOpen: Bool = false, smart: Bool = false
    ) {
        self.onOpen = onOpen
        self.smart = smart
        self.iconTitle = iconTitle
        self.automatic = automatic
        self.ids = ids
        self.applied = applied
        self.commitID = commitID
        self.commitURL = commitURL
        self.comment = comment
        self.iconURL = iconURL
    }

    /// The follow-up deliveries once the issue shows a resolution (GitLab's `send_message` after close).
    public func solvedDeliveries(issueKey: String) -> [PlannedDelivery] {
        var out: [PlannedDelivery] = []
        if comment {
            out.append(
                PlannedDelivery(
                    action: .comment, issueKey: issueKey, dedupeKey: "solved-comment|\(commitURL)",
                    work: .comment(body: Texts.solved(commitID: commitID, commitURL: commitURL))))
        }
        out.append(
            PlannedDelivery(
                action: .remoteLink, issueKey: issueKey, dedupeKey: "resolved-link|\(commitURL)",
                work: .remoteLink(
                    RemoteLinkSpec(
                        globalId: RemoteLinkSpec.globalID(for: commitURL), url: commitURL,
                        title: Texts.solvedLinkTitle(commitID: commitID), resolved: true,
                        relationship: "mentioned on", iconURL: iconURL, iconTitle: iconTitle))))
        return out
    }
}

/// What one delivery does when it runs.
public enum DeliveryWork: Sendable, Equatable {
    /// Post a comment unless an existing one already contains it.
    case comment(body: String)
    case remoteLink(RemoteLinkSpec)
    case transition(TransitionSpec)
    /// Send one repository's development information (or delete a branch of it).
    case developmentInfo(DevelopmentInfoWork)
    /// Send a build or a deployment.
    case cloudData(CloudDataWork)
    /// Decide a Jira issue check and set it as a commit status on the forge.
    case commitStatus(CommitStatusWork)
    /// Read a page of the forge's merge requests or branches and send what names a key to the Development panel.
    case backfill(BackfillWork)
    /// Read a page of what the forge saw while jira-bridge was down, and take in what it missed.
    case catchUp(CatchUpWork)
    /// Log work (a smart commit's `#time`) unless a worklog of the same commit is there.
    case worklog(WorklogWork)
}

/// A smart commit's `#time`: the duration as written (Jira reads it with the site's time-tracking settings), a
/// comment, and the commit's address, which marks the worklog as this commit's.
public struct WorklogWork: Sendable, Equatable {
    public var timeSpent: String
    public var comment: String
    public var commitURL: String

    public init(timeSpent: String, comment: String, commitURL: String) {
        self.timeSpent = timeSpent
        self.comment = comment
        self.commitURL = commitURL
    }
}

/// A Jira issue check on a forge: the commit whose status it sets, and what it checks.
public struct CommitStatusWork: Sendable, Equatable {
    /// `JiraIssueCheck.pushContext` or `.mergeRequestContext`.
    public var context: String
    /// The commit the status is set on: a push's head, a merge or pull request's head.
    public var sha: String
    /// What was pushed or opened, in words, for the explanation page (`push to main`, `merge request !7`).
    public var subject: String
    /// A push's commits, each with its first key; empty for a merge request.
    public var commits: [JiraIssueCheck.Commit]
    /// A merge or pull request's failure, decided when it was planned (no Jira call needed); nil when it passes.
    public var mergeRequestFailure: String?

    public init(context: String, sha: String, subject: String, commits: [JiraIssueCheck.Commit], mergeRequestFailure: String?) {
        self.context = context
        self.sha = sha
        self.subject = subject
        self.commits = commits
        self.mergeRequestFailure = mergeRequestFailure
    }

    /// The delivery: one queue per commit (`commit <sha>`), so that checks of one commit run in order.
    public func planned() -> PlannedDelivery {
        var text = context + "\u{0}" + sha + "\u{0}" + (mergeRequestFailure ?? "")
        for c in commits { text += "\u{0}" + c.sha + "=" + (c.key ?? "") }
        return PlannedDelivery(
            action: .commitStatus, issueKey: "commit " + sha, dedupeKey: "commit_status|" + StableHash.hex(text), work: .commitStatus(self))
    }
}

/// A build or a deployment, as a delivery carries it.
public struct CloudDataWork: Sendable, Equatable {
    public var kind: BuildsAndDeployments.Kind
    public var repositoryID: String
    /// The build or deployment as the bulk call takes it (its JSON text).
    public var item: String

    public init(kind: BuildsAndDeployments.Kind, repositoryID: String, item: String) {
        self.kind = kind
        self.repositoryID = repositoryID
        self.item = item
    }

    /// The delivery of `item`: its issue key is the repository's (`builds gitlab-42`), so that one repository's
    /// builds run one at a time and a run takes those waiting with it (up to 100 in one request).
    public static func planned(_ kind: BuildsAndDeployments.Kind, repositoryID: String, item: JSONValue) -> PlannedDelivery {
        var writer = JSONWriter()
        writer.value(item)
        let text = writer.text
        return PlannedDelivery(
            action: kind.action, issueKey: issueKey(kind, repositoryID), dedupeKey: kind.action.rawValue + "|" + StableHash.hex(text),
            work: .cloudData(CloudDataWork(kind: kind, repositoryID: repositoryID, item: text)))
    }

    /// The queue's issue key of a repository's builds or deployments.
    public static func issueKey(_ kind: BuildsAndDeployments.Kind, _ repositoryID: String) -> String { kind.rawValue + " " + repositoryID }

    /// What it carries, for the delivery log: `{"kind", "key", "state", "display_name", "issue_keys"}`.
    public var entities: JSONValue {
        let doc = try? JSONValue.parse(item)
        return .object([
            "kind": .string(kind.rawValue), "key": .string(doc.map { BuildsAndDeployments.key(kind, $0) } ?? "?"),
            "state": doc?["state"] ?? .null, "display_name": doc?["displayName"] ?? .null,
            "environment_type": doc?["environment"]?["type"] ?? .null, "issue_keys": doc?["issueKeys"] ?? .array([]),
        ])
    }

    /// The same in words: `build Pipeline #3 (successful)`.
    public var summary: String {
        guard let doc = try? JSONValue.parse(item) else { return kind.rawValue }
        return BuildsAndDeployments.summary(kind, doc)
    }
}

/// One repository's change to the Development panel, as a delivery carries it.
public struct DevelopmentInfoWork: Sendable, Equatable {
    public var repositoryID: String
    /// The repository with its entities, as the bulk call takes it (its JSON text); nil for a deletion.
    public var repository: String?
    /// A branch to delete.
    public var deletedBranch: String?

    public init(repositoryID: String, repository: String?, deletedBranch: String?) {
        self.repositoryID = repositoryID
        self.repository = repository
        self.deletedBranch = deletedBranch
    }

    /// What it carries, for the delivery log: the commits' ids, the branches' names, the merge or pull
    /// requests' ids and statuses, or the branch it deletes.
    public var entities: JSONValue {
        guard let branch = deletedBranch else {
            return Self.entities(repositoryID: repositoryID, repository: repository.flatMap { try? JSONValue.parse($0) })
        }
        return .object([
            "repository_id": .string(repositoryID), "commits": .array([]), "branches": .array([]), "pull_requests": .array([]),
            "deleted_branch": .string(branch),
        ])
    }

    /// The entities of a repository as the bulk call takes it (`DevelopmentInfo.Repository.json`).
    public static func entities(repositoryID: String, repository doc: JSONValue?) -> JSONValue {
        func ids(_ type: String, _ field: String) -> JSONValue {
            .array((doc?[type]?.array ?? []).compactMap { $0[field]?.string }.map(JSONValue.string))
        }
        let pulls = (doc?["pullRequests"]?.array ?? []).map { p -> JSONValue in
            .object(["id": p["id"] ?? .null, "display_id": p["displayId"] ?? .null, "status": p["status"] ?? .null])
        }
        return .object([
            "repository_id": .string(repositoryID), "commits": ids("commits", "id"), "branches": ids("branches", "name"),
            "pull_requests": .array(pulls), "deleted_branch": .null,
        ])
    }

    /// The same in words: `2 commits, branch feature/login, pull request !7 (MERGED)`.
    public var summary: String { Self.summary(entities) }

    /// `entities` in words.
    public static func summary(_ e: JSONValue) -> String {
        if let branch = e["deleted_branch"]?.string { return "delete branch \(branch)" }
        var parts: [String] = []
        let commits = e["commits"]?.array?.count ?? 0
        if commits > 0 { parts.append(commits == 1 ? "1 commit" : "\(commits) commits") }
        for name in (e["branches"]?.array ?? []).compactMap(\.string) { parts.append("branch \(name)") }
        for p in e["pull_requests"]?.array ?? [] {
            let shown = p["display_id"]?.string ?? p["id"]?.string ?? "?"
            parts.append("pull request \(shown) (\(p["status"]?.string ?? "?"))")
        }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }

    /// The delivery of `change`: its issue key is the repository's (`repository gitlab-42`), so that one
    /// repository's changes run one at a time and a run can take those waiting with it. A deletion is told
    /// apart from an earlier one of the same branch by the head it deleted, or, when the forge names none
    /// (Gitea), by `eventID`.
    public static func planned(_ change: DevelopmentInfo.Change, eventID: String = "") -> PlannedDelivery {
        switch change {
        case .store(let repository):
            var writer = JSONWriter()
            writer.value(repository.json)
            let text = writer.text
            return PlannedDelivery(
                action: .developmentInfo, issueKey: issueKey(repository.id), dedupeKey: "development_info|" + StableHash.hex(text),
                work: .developmentInfo(DevelopmentInfoWork(repositoryID: repository.id, repository: text, deletedBranch: nil)))
        case .deleteBranch(let repositoryID, let branchID, let lastCommit):
            return PlannedDelivery(
                action: .developmentInfo, issueKey: issueKey(repositoryID),
                dedupeKey: "development_info|delete|" + StableHash.hex(branchID + "\u{0}" + (lastCommit.isEmpty ? "event " + eventID : lastCommit)),
                work: .developmentInfo(DevelopmentInfoWork(repositoryID: repositoryID, repository: nil, deletedBranch: branchID)))
        }
    }

    /// The queue's issue key of a repository's development information.
    public static func issueKey(_ repositoryID: String) -> String { "repository " + repositoryID }
}

/// One Jira action planned for one issue, with the key that makes it happen at most once
/// per (Jira site, issue, entity, action).
public struct PlannedDelivery: Sendable, Equatable {
    public var action: DeliveryAction
    public var issueKey: String
    /// Unique per site and issue: `comment|<entity url>`, `remote_link|<global id>`, `transition|<entity url>`.
    public var dedupeKey: String
    /// A second identity for commit comments: the same change after a rebase (new SHA) is not commented twice.
    /// The digest (`StableHash`) of the change's content and the key, not the content itself.
    public var contentKey: String?
    public var work: DeliveryWork

    public init(action: DeliveryAction, issueKey: String, dedupeKey: String, contentKey: String? = nil, work: DeliveryWork) {
        self.action = action
        self.issueKey = issueKey
        self.dedupeKey = dedupeKey
        self.contentKey = contentKey
        self.work = work
    }
}

/// A 128-bit FNV-1a digest in hex: stable across runs and platforms (Swift's Hasher is seeded per process).
/// It can be fed in parts, so a long text shared by many keys is read once.
public struct StableHash: Sendable {
    private var h1: UInt64 = 0xcbf2_9ce4_8422_2325
    private var h2: UInt64 = 0x8422_2325_cbf2_9ce4

    public init() {}

    public mutating func add(_ text: String) {
        for b in text.utf8 {
            h1 = (h1 ^ UInt64(b)) &* 0x0000_0100_0000_01B3
            h2 = (h2 ^ UInt64(b)) &* 0x0000_0100_0000_01B3 &+ 0x9E37_79B9
        }
    }

    public var hex: String {
        func hex64(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex64(h1) + hex64(h2)
    }

    public static func hex(_ text: String) -> String {
        var h = StableHash()
        h.add(text)
        return h.hex
    }
}
