/// Jira Cloud's rate limits (Atlassian's "Rate limiting" page): a refusal names what it limits in
/// `RateLimit-Reason`, and the wait is held for that and no more: one issue for the per-issue write limit,
/// the whole site for the burst and quota limits (and for a limit that names no reason).
public enum RateLimitScope: String, Sendable, Equatable {
    case issue
    case site
}

/// A wait Jira asked for, as the queue keeps it: nothing more of `site` (or of its issue `issueKey`) is
/// claimed before `until`.
public struct RateLimitHold: Sendable, Equatable {
    public var site: String
    /// The issue it holds; nil for the whole site.
    public var issueKey: String?
    public var until: Millis
    /// Jira's `RateLimit-Reason`, or "unnamed" when it gave none.
    public var reason: String

    public init(site: String, issueKey: String?, until: Millis, reason: String) {
        self.site = site
        self.issueKey = issueKey
        self.until = until
        self.reason = reason
    }

    public var scope: RateLimitScope { issueKey == nil ? .site : .issue }
}

public enum RateLimits {
    /// Atlassian's reasons: `jira-per-issue-on-write` limits writes to one issue; `jira-burst-based` (per endpoint
    /// and method) and `jira-quota-tenant-based` (the hourly points of the site) limit the site.
    public static let perIssueOnWrite = "jira-per-issue-on-write"
    public static let burst = "jira-burst-based"
    public static let tenantQuota = "jira-quota-tenant-based"

    /// What a refusal holds back: a 429 always; a 503 when it asks for a wait (`Retry-After`, which Atlassian
    /// sends on some); anything else is no rate limit (nil).
    public static func scope(status: Int, reason: String?, askedToWait: Bool) -> RateLimitScope? {
        guard status == 429 || (status == 503 && askedToWait) else { return nil }
        return reason == perIssueOnWrite ? .issue : .site
    }

    /// A reason as it is kept and shown: Jira's token when it looks like one (letters, digits, `-`, `_`, `.`,
    /// at most 64), else "unnamed", so a hostile header never reaches a log line or a page as it came.
    public static func reasonName(_ header: String?) -> String {
        guard let header else { return "unnamed" }
        // A header of megabytes is no reason: only its first bytes are looked at.
        guard header.utf8.count <= 200 else { return "unnamed" }
        let text = header.utf8.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
        guard !text.isEmpty, text.count <= 64, text.allSatisfy(isTokenByte) else { return "unnamed" }
        return String(decoding: text, as: UTF8.self).lowercased()
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        b == 45 || b == 46 || b == 95 || (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b)
    }

    /// How the wait reads in the delivery log: "rate limited (jira-burst-based): the site waits 30 s".
    public static func describe(_ hold: RateLimitHold, now: Millis) -> String {
        let seconds = max(0, (hold.until - now + 999) / 1000)
        let what = hold.issueKey.map { "issue \($0)" } ?? "the Jira site"
        return "rate limited (\(hold.reason)): \(what) waits \(seconds) s"
    }
}

/// The number of deliveries run at once against one Jira site, adapting to its answers the way TCP's
/// congestion window does: halved when Jira answers 429 (at most once a second, so one burst of refusals
/// cuts once), never below 1, and one more after a run of good answers (five per slot, at least ten), up to
/// the configured limit.
public struct AdaptiveLimit: Sendable, Equatable {
    public let ceiling: Int
    public private(set) var current: Int
    private var goodInARow = 0
    private var lastCut: Millis? = nil

    public init(ceiling: Int) {
        self.ceiling = max(1, ceiling)
        self.current = max(1, ceiling)
    }

    public mutating func rateLimited(now: Millis) {
        goodInARow = 0
        if let lastCut, now >= lastCut {
            let (gap, overflow) = now.subtractingReportingOverflow(lastCut)
            if !overflow && gap < 1000 { return }
        }
        lastCut = now
        current = max(1, current / 2)
    }

    public mutating func succeeded() {
        guard current < ceiling else { goodInARow = 0; return }
        goodInARow += 1
        if goodInARow >= max(10, current * 5) {
            current += 1
            goodInARow = 0
        }
    }
}
