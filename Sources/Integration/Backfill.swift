/// A backfill: the recent history of a repository sent to Jira's Development panel when it is connected (the
/// last 400 merge or pull requests and the last 400 branches, with their head commits), as GitLab's Jira app
/// does it, with `operationType: BACKFILL`.
///
/// It runs as a chain of deliveries, one page of the forge's list each: a page is read from the forge, what
/// names a key is sent to Jira in one request, and the next page's delivery is inserted with this one's outcome
/// (one transaction). A crash resumes at the page that was running; the ids already sent travel in the work, so
/// a page that shifted (a merge request updated meanwhile moves to the top) sends nothing twice.
public enum Backfill {
    /// What GitLab's app sends: the last 400 of each.
    public static let limit = 400

    /// Items per page of the forge's list: GitLab and GitHub take 100, Gitea at most its `MAX_RESPONSE_ITEMS`
    /// (50 by default).
    public static func pageSize(_ forge: Forge) -> Int { forge == .gitea ? 50 : 100 }

    /// The queue's issue key of a repository's backfill: one page at a time.
    public static func issueKey(_ repositoryID: String) -> String { "backfill " + repositoryID }

    /// A branch read from the forge's list, with its head commit when the forge gave it.
    public struct BranchHead: Sendable, Equatable {
        public var name: String
        public var head: ForgeCommit?

        public init(name: String, head: ForgeCommit?) {
            self.name = name
            self.head = head
        }
    }

    /// One page's development information: the merge or pull requests and the branches (with their head commits)
    /// that name a key and are not in `sent`. Returns the repository (nil when nothing names a key) and the ids
    /// it carries (`mr:<number>`, `branch:<name>`).
    public static func repository(
        project: ForgeProject, mergeRequests: [MergeRequestEvent], branches: [BranchHead], sent: Set<String>, extractor: ReferenceExtractor
    ) -> (repository: DevelopmentInfo.Repository?, ids: [String]) {
        var repository = DevelopmentInfo.emptyRepository(project)
        var ids: [String] = []
        var seen = sent
        for mr in mergeRequests where seen.insert("mr:\(mr.iid)").inserted {
            for case .store(let r) in DevelopmentInfo.changes(mr, extractor: extractor) {
                repository.pullRequests += r.pullRequests
                ids.append("mr:\(mr.iid)")
            }
        }
        for branch in branches where seen.insert("branch:" + branch.name).inserted {
            guard let head = branch.head else { continue }
            let headKeys = DevelopmentInfo.capped(extractor.allKeys(head.message))
            let keys = DevelopmentInfo.capped(DevelopmentInfo.ordered(extractor.allKeys(branch.name) + headKeys))
            guard !keys.isEmpty else { continue }
            let commit = DevelopmentInfo.commit(head, keys: headKeys.isEmpty ? keys : headKeys, project: project)
            if !headKeys.isEmpty, !repository.commits.contains(where: { $0.id == commit.id }) { repository.commits.append(commit) }
            let name = Texts.cut(branch.name, to: DevelopmentInfo.Limits.branchName)
            repository.branches.append(
                DevelopmentInfo.Branch(
                    id: name, issueKeys: keys, updateSequenceId: commit.updateSequenceId, name: name, lastCommit: commit,
                    createPullRequestUrl: DevelopmentInfo.createChangeURL(project, branch: branch.name),
                    url: project.forge.branchURL(project: project.webURL, branch: branch.name)))
            ids.append("branch:" + branch.name)
        }
        guard !repository.isEmpty else { return (nil, ids) }
        repository.updateSequenceId =
            (repository.commits.map(\.updateSequenceId) + repository.branches.map(\.updateSequenceId)
            + repository.pullRequests.map(\.updateSequenceId)).max() ?? 0
        return (repository, ids)
    }

    /// The request body: one repository, `operationType: BACKFILL` (Atlassian's higher rate limit for indexing),
    /// and no smart commits run again for history.
    public static func body(_ repository: DevelopmentInfo.Repository) -> JSONValue {
        .object(["repositories": .array([repository.json]), "preventTransitions": .bool(true), "operationType": .string("BACKFILL")])
    }
}

/// One page of a backfill, as a delivery carries it.
public struct BackfillWork: Sendable, Equatable {
    public enum Phase: String, Sendable, CaseIterable {
        case mergeRequests = "merge_requests"
        case branches
    }

    /// Which backfill this page belongs to (its start time in milliseconds): two backfills never share pages.
    public var run: Int64
    public var repositoryID: String
    public var phase: Phase
    /// The forge's page to read (from 1).
    public var page: Int
    /// How many of this phase's items were read before this page.
    public var read: Int
    /// The ids sent so far (`mr:<number>`, `branch:<name>`), over both phases.
    public var sent: [String]

    public init(run: Int64, repositoryID: String, phase: Phase, page: Int, read: Int, sent: [String]) {
        self.run = run
        self.repositoryID = repositoryID
        self.phase = phase
        self.page = page
        self.read = read
        self.sent = sent
    }

    /// The first page of a new backfill.
    public static func start(run: Int64, repositoryID: String) -> BackfillWork {
        BackfillWork(run: run, repositoryID: repositoryID, phase: .mergeRequests, page: 1, read: 0, sent: [])
    }

    /// How many items this page may still read: at most a page, and no more than `Backfill.limit` in the phase.
    public func wanted(pageSize: Int) -> Int { max(0, min(pageSize, Backfill.limit - read)) }

    /// The page after this one, which read `count` new items and sent `ids`: the phase's next page while the forge
    /// had a full page and the limit is not reached, then the branches, then nothing.
    public func next(count: Int, full: Bool, ids: [String]) -> BackfillWork? {
        let read = self.read + count
        let sent = self.sent + ids
        if full && read < Backfill.limit && page < 10_000 {
            return BackfillWork(run: run, repositoryID: repositoryID, phase: phase, page: page + 1, read: read, sent: sent)
        }
        guard phase == .mergeRequests else { return nil }
        return BackfillWork(run: run, repositoryID: repositoryID, phase: .branches, page: 1, read: 0, sent: sent)
    }

    /// The delivery: one queue per repository (`backfill gitlab-42`); the dedupe key names the run, phase and
    /// page, so a page is inserted once however often the one before it completes.
    public func planned() -> PlannedDelivery {
        PlannedDelivery(
            action: .backfill, issueKey: Backfill.issueKey(repositoryID), dedupeKey: "backfill|\(run)|\(phase.rawValue)|\(page)",
            work: .backfill(self))
    }

    /// What it does, for the delivery log: `merge requests, page 2`.
    public var summary: String { "\(phase == .mergeRequests ? "merge requests" : "branches"), page \(page)" }
}
