/// What one forge event may create, so no webhook can make the planner or the queue grow without bound.
/// GitLab sends at most 20 commits per push; Atlassian's own apps read at most 500 keys per entity.
public enum EventLimits {
    /// Commits of one push that are processed; the rest are recorded as skipped.
    public static let commitsPerPush = 100
    /// Distinct Jira keys read from one commit or merge request.
    public static let keysPerEntity = 500
    /// Reviewers of one merge or pull request shown in the development panel.
    public static let reviewersPerChange = 50
    /// Deliveries one event can plan (100 commits with 10 keys each, and their links and comments).
    public static let deliveriesPerEvent = 2_000
    /// How often an event's planning may start without finishing (the process died on it, or it failed
    /// each time) before the event is marked failed with the reason: nothing is claimed forever.
    public static let planningAttempts = 3

    /// Whether `url` may be put into Jira and pages: an absolute http(s) URL without whitespace or control
    /// characters. `javascript:` and friends are refused.
    public static func isWebURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        guard url.utf8.count <= 2048 else { return false }
        guard JiraURL(url) != nil else { return false }
        // ASCII (nearly every URL) needs no look-up of Unicode properties: only control bytes and space are out.
        if url.utf8.allSatisfy({ $0 < 0x80 }) { return !url.utf8.contains { $0 <= 0x20 || $0 == 0x7f } }
        return !url.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || $0.properties.isWhitespace }
    }

    /// Whether `id` can be a commit id: 1 to 64 ASCII letters and digits (SHA-1 and SHA-256 are hex; some
    /// forges' test payloads are not). Nothing else, since it goes into URLs and wiki markup.
    public static func isCommitID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x41 && $0 <= 0x5a) }
    }
}
