import Integration
import Testing

/// Atlassian's rate-limit reasons, the adaptive per-site limit, and the pause on rejected credentials: the core's rules.
@Suite("Rate limits and rejected credentials")
struct RateLimitsTests {
    @Test("each RateLimit-Reason holds what it names: the per-issue write limit one issue, burst, quota and none the site")
    func scopes() {
        #expect(RateLimits.scope(status: 429, reason: "jira-per-issue-on-write", askedToWait: true) == .issue)
        #expect(RateLimits.scope(status: 429, reason: "jira-burst-based", askedToWait: true) == .site)
        #expect(RateLimits.scope(status: 429, reason: "jira-quota-tenant-based", askedToWait: false) == .site)
        #expect(RateLimits.scope(status: 429, reason: nil, askedToWait: false) == .site)
        // A 503 is a rate limit only when it asks for a wait, as Atlassian's do.
        #expect(RateLimits.scope(status: 503, reason: nil, askedToWait: true) == .site)
        #expect(RateLimits.scope(status: 503, reason: nil, askedToWait: false) == nil)
        for status in [200, 400, 401, 403, 404, 500, 502] {
            #expect(RateLimits.scope(status: status, reason: "jira-burst-based", askedToWait: true) == nil)
        }
    }

    @Test("a reason is kept only when it looks like Atlassian's token; anything else is 'unnamed'")
    func reasonNames() {
        #expect(RateLimits.reasonName(" Jira-Burst-Based ") == "jira-burst-based")
        #expect(RateLimits.reasonName("jira-quota-tenant-based") == "jira-quota-tenant-based")
        #expect(RateLimits.reasonName(nil) == "unnamed")
        #expect(RateLimits.reasonName("") == "unnamed")
        #expect(RateLimits.reasonName("<script>alert(1)</script>") == "unnamed")
        #expect(RateLimits.reasonName("a\r\nX-Injected: 1") == "unnamed")
        #expect(RateLimits.reasonName(String(repeating: "a", count: 25_000_000)) == "unnamed")
    }

    @Test("the wait reads with its reason and what it holds")
    func describe() {
        let site = RateLimitHold(site: "https://jira.example.com", issueKey: nil, until: 31_000, reason: "jira-burst-based")
        #expect(RateLimits.describe(site, now: 1_000) == "rate limited (jira-burst-based): the Jira site waits 30 s")
        let issue = RateLimitHold(site: "https://jira.example.com", issueKey: "PROJ-7", until: 1_500, reason: "jira-per-issue-on-write")
        #expect(RateLimits.describe(issue, now: 1_000) == "rate limited (jira-per-issue-on-write): issue PROJ-7 waits 1 s")
        #expect(issue.scope == .issue && site.scope == .site)
    }

    @Test("the per-site limit halves on a 429 (once per second of refusals), never below 1, and grows back slowly to the ceiling")
    func adaptive() {
        var limit = AdaptiveLimit(ceiling: 8)
        #expect(limit.current == 8)
        limit.rateLimited(now: 10_000)
        #expect(limit.current == 4)
        limit.rateLimited(now: 10_400)  // the same burst of refusals: cut once
        #expect(limit.current == 4)
        limit.rateLimited(now: 11_000)
        limit.rateLimited(now: 12_000)
        limit.rateLimited(now: 13_000)
        #expect(limit.current == 1)
        // One more slot after max(10, 5 per slot) good answers in a row.
        for _ in 0..<9 { limit.succeeded() }
        #expect(limit.current == 1)
        limit.succeeded()
        #expect(limit.current == 2)
        for _ in 0..<200 { limit.succeeded() }
        #expect(limit.current == 8, "back at the ceiling and no further")
        // A 429 in between starts the count again.
        limit.rateLimited(now: 20_000)
        #expect(limit.current == 4)
        for _ in 0..<19 { limit.succeeded() }
        limit.rateLimited(now: 20_500)
        for _ in 0..<19 { limit.succeeded() }
        #expect(limit.current == 4)
        #expect(AdaptiveLimit(ceiling: 0).current == 1)
        var early = AdaptiveLimit(ceiling: 4)
        early.rateLimited(now: .min)
        early.rateLimited(now: .max)
        #expect(early.current == 1, "extreme clocks neither trap nor skip a cut")
    }

    @Test("a 401 pauses instead of failing; a 403 stays a failure of that one delivery")
    func credentials() {
        let policy = RetryPolicy()
        #expect(
            DeliveryDecisions.failure(.credentialsRejected, error: "401", attempts: 1, createdAt: 0, now: 1, policy: policy, random: 0)
                == .paused(error: "401"))
        // Even past the deadline it pauses: the sweep makes it dead, so a rejection is never mistaken for a timeout.
        #expect(
            DeliveryDecisions.failure(.credentialsRejected, error: "401", attempts: 9, createdAt: 0, now: 100_000_000, policy: policy, random: 0)
                == .paused(error: "401"))
        #expect(
            DeliveryDecisions.failure(.permanent, error: "403", attempts: 1, createdAt: 0, now: 1, policy: policy, random: 0) == .failed(error: "403")
        )
        // Rejected credentials that were replaced while it ran: it runs again at once, with the new ones.
        #expect(
            DeliveryDecisions.failure(
                .credentialsRejected, error: "401", attempts: 1, createdAt: 0, now: 7, policy: policy, random: 0,
                credentialsReplacedSince: true) == .retry(at: 7, error: "401"))
        let recorded = DeliveryOutcome.paused(error: "401").recorded(now: 5)
        #expect(recorded.status == .paused && recorded.error == "401" && DeliveryOutcome.paused(error: "x").name == "paused")
    }
}
