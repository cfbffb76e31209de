/// How an attempt ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case succeeded
    /// Succeeded, and Jira's answer says something worth keeping (what it stored, the keys it does not know):
    /// the delivery log shows it as the delivery's answer.
    case accepted(note: String)
    case skipped(reason: String)
    case retry(at: Millis, error: String)
    case failed(error: String)
    case dead(error: String)
    /// Jira rejected the credentials (401): the delivery waits, with the others that use them, until new
    /// credentials are saved or a Test settings succeeds (`DeliveryStatus.paused`).
    case paused(error: String)

    /// The error or reason it records, if any.
    public var error: String? {
        switch self {
        case .succeeded: return nil
        case .accepted(let text), .skipped(let text), .retry(_, let text), .failed(let text), .dead(let text), .paused(let text): return text
        }
    }

    /// Whether the work is done in Jira.
    public var isSuccess: Bool {
        switch self {
        case .succeeded, .accepted: return true
        default: return false
        }
    }

    /// The name the delivery log and the metrics use.
    public var name: String {
        switch self {
        case .succeeded, .accepted: return "succeeded"
        case .skipped: return "skipped"
        case .retry: return "retry"
        case .failed: return "failed"
        case .dead: return "dead"
        case .paused: return "paused"
        }
    }
}

/// Where a delivery stands, as the delivery log shows it.
public enum DeliveryStatus: String, Sendable {
    /// Waiting for its first attempt or for a retry (`attempts` tells which).
    case pending
    case running
    case succeeded
    /// Jira refused it (400, 403, 404): not retried until someone asks.
    case failed
    /// Retried until it ran out of time.
    case dead
    /// Nothing to do: the work was already there in Jira (or the issue already resolved).
    case skipped
    /// Jira rejected the credentials it was sent with: it waits for new credentials (or a Test settings that
    /// succeeds) and then runs again by itself; past the retry deadline it becomes dead.
    case paused
}

extension DeliveryStatus {
    /// What "Retry" requeues, for the API, the pages, the command line and the store alike.
    public static let retryable: [DeliveryStatus] = [.failed, .dead, .paused]
    /// What "Retry all failed" requeues: a paused delivery runs again by itself once its credentials work.
    public static let retriedByRetryAll: [DeliveryStatus] = [.failed, .dead]

    public var isRetryable: Bool { Self.retryable.contains(self) }

    /// The statuses as a SQL list (`'failed', 'dead'`): the store's queries use the same sets.
    public static func sqlList(_ statuses: [DeliveryStatus]) -> String {
        statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }

    /// Why a delivery in this status was not retried, in the words every edge shows.
    public var notRetryableReason: String {
        "Only failed, dead or paused deliveries can be retried; this one is \(rawValue)."
    }
}

extension DeliveryOutcome {
    /// How an outcome is recorded on its delivery: the status, when it may run next, and the error or
    /// reason the log shows.
    public func recorded(now: Millis) -> (status: DeliveryStatus, nextRunAt: Millis, error: String?) {
        switch self {
        case .succeeded: return (.succeeded, now, nil)
        case .accepted(let note): return (.succeeded, now, note)
        case .skipped(let reason): return (.skipped, now, reason)
        case .retry(let at, let error): return (.pending, at, error)
        case .failed(let error): return (.failed, now, error)
        case .dead(let error): return (.dead, now, error)
        case .paused(let error): return (.paused, now, error)
        }
    }
}

/// A remote link as Jira shows it on an issue (what the decisions need of it).
public struct ExistingRemoteLink: Sendable, Equatable {
    public var id: String
    public var globalID: String?
    public var url: String?
    public var title: String?
    public var resolved: Bool

    public init(id: String, globalID: String?, url: String?, title: String?, resolved: Bool) {
        self.id = id
        self.globalID = globalID
        self.url = url
        self.title = title
        self.resolved = resolved
    }
}

/// A transition Jira offers on an issue: its id, its name and the category key of its target status (`done`).
public struct OfferedTransition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var targetCategoryKey: String?

    public init(id: String, name: String = "", targetCategoryKey: String?) {
        self.id = id
        self.name = name
        self.targetCategoryKey = targetCategoryKey
    }
}

/// The decisions of a delivery, as pure functions of what Jira answered: each returns what to send next
/// (or how the delivery ends). The runner in the server only reads, calls these, and writes what they say.
public enum DeliveryDecisions {
    // MARK: Comments

    public enum CommentStep: Sendable, Equatable {
        case skip(reason: String)
        case post(body: String)
    }

    /// GitLab's `comment_exists?`: an existing comment that contains the text means it is already there.
    public static func comment(_ body: String, existing: [String]) -> CommentStep {
        if existing.contains(where: { $0.contains(body) }) { return .skip(reason: "The comment is already on the issue.") }
        return .post(body: body)
    }

    // MARK: Remote links

    public enum LinkStep: Sendable, Equatable {
        case skip(reason: String)
        /// Replace the link Jira has under another global id (found by its URL).
        case update(linkID: String)
        /// Create it, or update it in place: Jira upserts by global id.
        case upsert
    }

    /// Creates or updates the link, but never sets a resolved link back to unresolved.
    public static func remoteLink(_ spec: RemoteLinkSpec, existing: [ExistingRemoteLink]) -> LinkStep {
        guard let found = existing.first(where: { $0.globalID == spec.globalId }) ?? existing.first(where: { $0.url == spec.url }) else {
            return .upsert
        }
        if found.resolved && !spec.resolved {
            return .skip(reason: "The link is already resolved; it is never set back to unresolved.")
        }
        if found.resolved == spec.resolved && found.title == spec.title && found.globalID == spec.globalId {
            return .skip(reason: "The link is already on the issue.")
        }
        if found.globalID != spec.globalId { return .update(linkID: found.id) }
        return .upsert
    }

    // MARK: Transitions

    public enum TransitionStep: Sendable, Equatable {
        case skip(reason: String)
        case fail(error: String)
        /// Apply these transition ids in order; `advancing` says whether progress is saved after each one
        /// (a list from the settings, continued by a retry), false for the automatic transition.
        case apply(ids: [String], advancing: Bool)
        /// Nothing to apply (automatic, and the issue shows a resolution already): go on to the check.
        case check
    }

    /// GitLab's `close_issue`: skip resolved issues, else the next transition to apply. The automatic one is the
    /// first transition into a status of the done category. A list goes one step at a time, read against what the
    /// issue offers after the step before: an id is applied as written (a refusal is reported with what the issue
    /// could take); a name is the offered transition of that name (without case); a name the issue does not offer
    /// fails with the names it could take, and so does a name that two offered transitions share.
    public static func transition(
        _ spec: TransitionSpec, issueKey: String, resolved: Bool, offered: [OfferedTransition], statusCategory: String? = nil
    ) -> TransitionStep {
        // A smart commit's `#reopen` is meant for a resolved issue.
        if resolved && spec.applied == 0 && !spec.smart { return .skip(reason: "The issue is already resolved.") }
        if spec.automatic {
            if resolved { return .check }
            guard let done = offered.first(where: { $0.targetCategoryKey == "done" }) else {
                return .fail(error: "No transition into a status of the done category is available for \(issueKey).")
            }
            return .apply(ids: [done.id], advancing: false)
        }
        guard spec.applied >= 0, spec.applied < spec.ids.count else { return .check }
        let written = spec.ids[spec.applied]
        if spec.smart {
            switch SmartCommits.transition(written, offered: offered) {
            case .success(let t): return .apply(ids: [t.id], advancing: true)
            case .failure(let error): return .fail(error: "\(issueKey): " + error.message + ".")
            }
        }
        let step = "step \(spec.applied + 1) of \(spec.ids.count)"
        switch TransitionList.Step(written) {
        case .id(let id):
            // As GitLab: an id is sent as written (Jira's refusal is reported with what the issue could take).
            if let back = stepBack(spec, issueKey: issueKey, offered.first { $0.id == id }, statusCategory) { return back }
            return .apply(ids: [id], advancing: true)
        case .name(let name):
            let matching = offered.filter { $0.name.lowercased() == name.lowercased() }
            switch matching.count {
            case 1:
                if let back = stepBack(spec, issueKey: issueKey, matching[0], statusCategory) { return back }
                return .apply(ids: [matching[0].id], advancing: true)
            case 0: return .fail(error: "\(issueKey) cannot take a transition named \"\(name)\" (\(step)); it can take \(names(offered)).")
            default:
                return .fail(
                    error:
                        "\"\(name)\" (\(step)) names \(matching.count) transitions of \(issueKey) (ids \(matching.map(\.id).joined(separator: ", "))): write the id instead."
                )
            }
        }
    }

    /// An opening transition never moves an issue back: one into an earlier status category than the issue's
    /// (an issue in review, done or in progress is past "To Do"; a done one is past "In Progress") skips.
    static func stepBack(_ spec: TransitionSpec, issueKey: String, _ t: OfferedTransition?, _ current: String?) -> TransitionStep? {
        let rank = ["new": 0, "indeterminate": 1, "done": 2]
        guard spec.onOpen, let target = t?.targetCategoryKey.flatMap({ rank[$0] }), let now = current.flatMap({ rank[$0] }), target < now else {
            return nil
        }
        return .skip(reason: "\(issueKey) is past \(t?.name ?? "that step") already (its status is further along): not moved back.")
    }

    /// The names Jira offers, for a message: `Start Progress (11), Done (31)`, or `none`.
    public static func names(_ offered: [OfferedTransition]) -> String {
        offered.isEmpty ? "none" : offered.prefix(30).map { "\($0.name) (\($0.id))" }.joined(separator: ", ")
    }

    /// After the transitions: once Jira shows a resolution, comment "Issue solved with ..." and resolve the
    /// link; an issue still without one gets neither (GitLab does the same).
    public static func afterTransitions(
        _ spec: TransitionSpec, issueKey: String, resolvedNow: Bool
    ) -> (outcome: DeliveryOutcome, followUps: [PlannedDelivery]) {
        guard resolvedNow, !spec.onOpen else { return (.succeeded, []) }
        return (.succeeded, spec.solvedDeliveries(issueKey: issueKey))
    }

    // MARK: Failures

    /// How a failed attempt ends, by the retry policy: `now` and the delivery's creation give its age. A
    /// rejection of credentials that were replaced while the attempt ran is no rejection of the new ones: it
    /// runs again at once.
    public static func failure(
        _ failure: RetryPolicy.Failure, error: String, attempts: Int, createdAt: Millis, now: Millis,
        policy: RetryPolicy, random: Double, credentialsReplacedSince: Bool = false
    ) -> DeliveryOutcome {
        let age = Double(now - createdAt) / 1000
        switch policy.decide(failure, attempts: attempts, ageSeconds: age, random: random) {
        case .retry(let seconds): return .retry(at: now + Millis(seconds * 1000), error: error)
        case .fail: return .failed(error: error)
        case .dead: return .dead(error: error)
        case .pause: return credentialsReplacedSince ? .retry(at: now, error: error) : .paused(error: error)
        }
    }
}
