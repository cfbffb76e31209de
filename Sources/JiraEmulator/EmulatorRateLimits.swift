import Foundation

/// One of Jira Cloud's rate limits as the emulator enforces it (Atlassian's "Rate limiting" page): at most
/// `limit` requests in each window of `windowMilliseconds`, counted per issue for writes
/// (`jira-per-issue-on-write`), per method and endpoint (`jira-burst-based`), or for the whole site
/// (`jira-quota-tenant-based`). A refused request gets 429 with the headers Atlassian sends.
public struct EmulatedRateLimit: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        case perIssueOnWrite = "jira-per-issue-on-write"
        case burst = "jira-burst-based"
        case tenantQuota = "jira-quota-tenant-based"
    }

    public var reason: Reason
    public var limit: Int
    public var windowMilliseconds: Int

    public init(reason: Reason, limit: Int, windowMilliseconds: Int) {
        self.reason = reason
        self.limit = max(0, limit)
        self.windowMilliseconds = min(max(1, windowMilliseconds), 3_600_000)
    }

    /// The bucket a request counts in, or nil when this limit does not count it.
    func bucket(method: String, path: String) -> String? {
        switch reason {
        case .tenantQuota: return "quota"
        case .burst: return "burst \(method) \(Self.endpoint(path))"
        case .perIssueOnWrite:
            guard method != "GET", let key = Self.issueKey(path) else { return nil }
            return "issue \(key)"
        }
    }

    /// `/rest/api/2/issue/PROJ-1/comment` → `PROJ-1`.
    static func issueKey(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard let i = parts.firstIndex(of: "issue"), i + 1 < parts.count, parts[i + 1].contains("-") || parts[i + 1].allSatisfy(\.isNumber) else {
            return nil
        }
        return String(parts[i + 1])
    }

    /// The endpoint's template: the issue named in the path is `{issueIdOrKey}`.
    static func endpoint(_ path: String) -> String {
        guard let key = issueKey(path) else { return path }
        return path.replacingOccurrences(of: "/issue/\(key)", with: "/issue/{issueIdOrKey}")
    }
}

/// Fixed windows per bucket: the count and when the window started.
struct RateLimitCounters {
    var windows: [String: (start: Int64, count: Int)] = [:]

    /// Counts a request at `now` (ms) against every limit; answers the headers for the answer and, when a limit
    /// refuses it, that limit (its window is not counted further).
    mutating func take(
        _ limits: [EmulatedRateLimit], method: String, path: String, now: Int64
    )
        -> (refusedBy: EmulatedRateLimit?, headers: [String: String])
    {
        var headers: [String: String] = [:]
        var leastRemaining = Int.max
        for limit in limits {
            guard let bucket = limit.bucket(method: method, path: path) else { continue }
            let name = "\(limit.reason.rawValue) \(bucket)"
            var window = windows[name] ?? (now, 0)
            if now - window.start >= Int64(limit.windowMilliseconds) { window = (now, 0) }
            let resetAt = window.start + Int64(limit.windowMilliseconds)
            if window.count >= limit.limit {
                windows[name] = window
                let seconds = max(1, (resetAt - now + 999) / 1000)
                return (
                    limit,
                    [
                        "Retry-After": String(seconds),
                        "X-RateLimit-Reset": Date(timeIntervalSince1970: Double(resetAt) / 1000).formatted(.iso8601),
                        "X-RateLimit-Limit": String(limit.limit),
                        "X-RateLimit-Remaining": "0",
                        "RateLimit-Reason": limit.reason.rawValue,
                    ]
                )
            }
            window.count += 1
            windows[name] = window
            let remaining = limit.limit - window.count
            if remaining < leastRemaining {
                leastRemaining = remaining
                headers["X-RateLimit-Limit"] = String(limit.limit)
                headers["X-RateLimit-Remaining"] = String(remaining)
                headers["X-RateLimit-NearLimit"] = remaining * 5 < limit.limit ? "true" : nil
            }
        }
        if windows.count > 100_000 { windows.removeAll() }
        return (nil, headers)
    }
}
