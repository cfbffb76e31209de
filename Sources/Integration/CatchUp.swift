/// Catch-up: what the forge saw while jira-bridge was down, taken in as if its webhooks had arrived.
///
/// - GitHub keeps every webhook delivery for 3 days (`GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries`):
///   those that did not get a 2xx answer since the last event jira-bridge took in are read in full and taken in,
///   under their delivery id (`X-GitHub-Delivery`, the intake's redelivery key).
/// - GitLab keeps a hook's events for 7 days (`GET /projects/:id/hooks/:hook_id/events`): those whose answer was
///   not a 2xx are taken in, under their `Idempotency-Key` (or `X-Gitlab-Event-UUID`).
/// - Gitea and Forgejo keep no deliveries: the default branch's commits and the pull requests updated since the
///   last event are taken in as pushes of one commit (`catch-up:commit:<sha>`) and pull request events
///   (`catch-up:pr:<number>:<updated_at>`).
///
/// Each event is taken in once, however often catch-up runs: the intake's redelivery rule refuses a key it has
/// seen. It runs as a chain of deliveries, one page of the forge's list each, like a backfill.
public enum CatchUp {
    /// How long each forge keeps what catch-up reads (GitHub's deliveries, GitLab's hook events); Gitea's lists
    /// are read no further back than GitLab's.
    public static func retentionMillis(_ forge: Forge) -> Int64 { (forge == .github ? 3 : 7) * 86_400_000 }

    /// How far before the latest event taken in a catch-up starts: the forge's clock may be behind this machine's.
    public static let clockMargin: Int64 = 600_000

    /// Pages read at most in one catch-up (100 items each; Gitea 50).
    public static let maxPages = 50

    public static func pageSize(_ forge: Forge) -> Int { forge == .gitea ? 50 : 100 }

    /// The queue's issue key of a project's catch-up.
    public static func issueKey(_ repositoryID: String) -> String { "catch-up " + repositoryID }

    /// A GitHub delivery worth reading in full: not answered with a 2xx.
    public struct GitHubDelivery: Sendable, Equatable {
        public var id: Int64
        public var guid: String
        public var event: String
    }

    /// The deliveries of one page (newest first) that were not answered with a 2xx, delivered at or after
    /// `since`, and whether the page went back past `since` (the end).
    public static func githubMissed(_ page: JSONValue, since: Int64) -> (missed: [GitHubDelivery], reachedSince: Bool) {
        var missed: [GitHubDelivery] = []
        var reached = false
        for item in page.array ?? [] {
            guard let id = item["id"]?.integer, let guid = item["guid"]?.string, !guid.isEmpty, guid.utf8.count <= 100,
                let event = item["event"]?.string
            else { continue }
            if let at = item["delivered_at"]?.string.flatMap({ JiraTimestamp($0)?.millis }), at < since {
                reached = true
                continue
            }
            let status = item["status_code"]?.integer ?? 0
            if !(200..<300).contains(status) { missed.append(GitHubDelivery(id: id, guid: guid, event: event)) }
        }
        return (missed, reached)
    }

    /// A GitLab hook event worth taking in: its kind (`X-Gitlab-Event`), redelivery key and payload.
    public struct GitLabEvent: Sendable, Equatable {
        public var kind: String
        public var key: String?
        public var payload: JSONValue
    }

    /// The events of one page whose answer was not a 2xx (GitLab writes the status as a string, or `internal
    /// error` when it could not connect).
    public static func gitlabMissed(_ page: JSONValue) -> [GitLabEvent] {
        (page.array ?? []).compactMap { item -> GitLabEvent? in
            let status = item["response_status"]?.string ?? item["response_status"]?.integer.map(String.init) ?? ""
            if let code = Int(status), (200..<300).contains(code) { return nil }
            guard let headers = item["request_headers"]?.object, let payload = item["request_data"], payload.object != nil else { return nil }
            func header(_ name: String) -> String? {
                headers.first { $0.key.lowercased() == name.lowercased() }?.value.string.flatMap { $0.isEmpty || $0.utf8.count > 200 ? nil : $0 }
            }
            guard let kind = header("X-Gitlab-Event") else { return nil }
            return GitLabEvent(kind: kind, key: header("Idempotency-Key") ?? header("X-Gitlab-Event-UUID"), payload: payload)
        }
    }

    /// The cursor of the next page in GitHub's `Link` header (`<...&cursor=v1_123>; rel="next"`), if any.
    public static func nextCursor(link: String?) -> String? {
        guard let link, link.utf8.count <= 4096 else { return nil }
        for part in link.split(separator: ",") where part.contains(#"rel="next""#) {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
            let url = part[part.index(after: open)..<close]
            guard let query = url.split(separator: "?", maxSplits: 1).dropFirst().first else { continue }
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == "cursor", !kv[1].isEmpty, kv[1].utf8.count <= 200 { return String(kv[1]) }
            }
        }
        return nil
    }
}

/// One page of a catch-up, as a delivery carries it.
public struct CatchUpWork: Sendable, Equatable {
    public enum Phase: String, Sendable, CaseIterable {
        /// GitHub's webhook deliveries.
        case deliveries
        /// GitLab's hook events.
        case events
        /// Gitea's commits of the default branch, then its pull requests.
        case commits
        case pulls
    }

    /// Which catch-up this page belongs to (its start time in milliseconds).
    public var run: Int64
    public var repositoryID: String
    /// Nothing older than this is taken (milliseconds since 1970).
    public var since: Int64
    public var phase: Phase
    /// The page to read (from 1); GitHub pages by `cursor` instead.
    public var page: Int
    public var cursor: String?
    /// Events taken in so far by this catch-up.
    public var taken: Int

    public init(run: Int64, repositoryID: String, since: Int64, phase: Phase, page: Int, cursor: String?, taken: Int) {
        self.run = run
        self.repositoryID = repositoryID
        self.since = since
        self.phase = phase
        self.page = page
        self.cursor = cursor
        self.taken = taken
    }

    /// The first page for a project of `forge`.
    public static func start(forge: Forge, run: Int64, repositoryID: String, since: Int64) -> CatchUpWork {
        let phase: Phase = forge == .github ? .deliveries : forge == .gitlab ? .events : .commits
        return CatchUpWork(run: run, repositoryID: repositoryID, since: since, phase: phase, page: 1, cursor: nil, taken: 0)
    }

    /// The page after this one, which took in `taken` events: the next page while there is one (and fewer than
    /// `CatchUp.maxPages` were read), Gitea's pull requests after its commits, then nothing.
    public func next(more: Bool, cursor: String? = nil, taken: Int) -> CatchUpWork? {
        let total = self.taken + taken
        if more && page < CatchUp.maxPages {
            return CatchUpWork(run: run, repositoryID: repositoryID, since: since, phase: phase, page: page + 1, cursor: cursor, taken: total)
        }
        guard phase == .commits else { return nil }
        return CatchUpWork(run: run, repositoryID: repositoryID, since: since, phase: .pulls, page: 1, cursor: nil, taken: total)
    }

    public func planned() -> PlannedDelivery {
        PlannedDelivery(
            action: .catchUp, issueKey: CatchUp.issueKey(repositoryID), dedupeKey: "catch_up|\(run)|\(phase.rawValue)|\(page)",
            work: .catchUp(self))
    }

    /// `webhook deliveries, page 2`.
    public var summary: String {
        let what: String
        switch phase {
        case .deliveries: what = "webhook deliveries"
        case .events: what = "hook events"
        case .commits: what = "commits"
        case .pulls: what = "pull requests"
        }
        return "\(what), page \(page)"
    }
}
