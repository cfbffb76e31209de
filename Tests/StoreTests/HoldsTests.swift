import Foundation
import Integration
import Testing

@testable import Store

/// The queue's holds: deliveries paused on rejected credentials and how they resume; Jira's rate-limit waits
/// per site and per issue, and the adaptive per-site limit, as the claim sees them. On SQLite and PostgreSQL.
@Suite("Holds store")
struct HoldsStoreTests {
    let log = DeliveryLogStoreTests()

    func hold(_ key: String, integration: Int64 = 7, since: Millis = 100) -> CredentialHold {
        CredentialHold(key: key, integrationID: integration, site: "a", since: since, error: "Jira answered 401")
    }

    /// Claims every due delivery (one per issue) and records `outcome` for each, with `effects`.
    func runAll(_ store: SQLStore, now: Millis, outcome: DeliveryOutcome, effects: DeliveryEffects) async throws -> Int {
        let claimed = try await store.claimDeliveries(owner: "w", limit: 10_000, perSiteLimit: 10_000, leaseMillis: 10_000, now: now)
        for d in claimed { try await store.completeDelivery(id: d.id, owner: "w", outcome: outcome, followUps: [], effects: effects, now: now) }
        return claimed.count
    }

    @Test("a pause records the hold once (its first time stays), deliveries resume in batches when it ends, and the hold goes with them")
    func pauseAndResume() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await log.insert(store, (1...2_345).map { ("a", "PROJ-\($0)", "pending", 1) })
            let effects = DeliveryEffects(credentialsRejected: hold("7:abc"))
            #expect(try await runAll(store, now: 10, outcome: .paused(error: "401"), effects: effects) == 2_345)
            var again = hold("7:abc", since: 999)
            again.error = "again"
            let later = again
            try await store.database.write { db in try await SQLStore.recordCredentialHold(db, later) }
            #expect(try await store.credentialHold(key: "7:abc")?.since == 100, "the first rejection's time stays")
            #expect(try await store.pausedDeliveries() == ["a": 2_345])
            #expect(try await store.claimDeliveries(owner: "w", limit: 10, perSiteLimit: 10, leaseMillis: 10_000, now: 20).isEmpty)
            #expect(try await store.credentialHolds(integrationIDs: [7]).count == 1)
            #expect(try await store.credentialHolds(integrationIDs: [8]).isEmpty)
            // Another integration's saved settings resume nothing of this one's.
            #expect(try await store.resumePaused(integrationID: 8, projectID: nil, now: 30) == 0)
            #expect(try await store.resumePaused(integrationID: 7, projectID: nil, now: 30) == 2_345)
            #expect(try await store.credentialHold(key: "7:abc") == nil)
            #expect(try await store.deliveryCounts(projectID: 15) == ["pending": 2_345])
            let resumed = try await store.deliveries(projectID: 15, filter: .all, limit: 1, offset: 0).items[0]
            #expect(resumed.holdKey == nil && resumed.nextRunAt == 30)
        }
    }

    @Test("a delivery Jira accepts ends its integration's holds; a project's saved settings resume its own paused deliveries")
    func acceptedAndProjectResume() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await log.insert(store, [("a", "PROJ-1", "pending", 1), ("a", "PROJ-2", "pending", 1), ("a", "PROJ-3", "pending", 1)])
            let first = try await store.claimDeliveries(owner: "w", limit: 2, perSiteLimit: 10, leaseMillis: 10_000, now: 10)
            for d in first {
                try await store.completeDelivery(
                    id: d.id, owner: "w", outcome: .paused(error: "401"), followUps: [],
                    effects: DeliveryEffects(credentialsRejected: hold("7:old")), now: 10)
            }
            // The third ran with newer credentials of the same integration, and Jira took them.
            let third = try await store.claimDeliveries(owner: "w", limit: 1, perSiteLimit: 10, leaseMillis: 10_000, now: 11)
            try await store.completeDelivery(
                id: third[0].id, owner: "w", outcome: .succeeded, followUps: [],
                effects: DeliveryEffects(credentialsAccepted: 7), now: 12)
            #expect(try await store.deliveryCounts(projectID: 15) == ["pending": 2, "succeeded": 1])
            #expect(try await store.credentialHolds().isEmpty)
            // Paused again (under another integration's credentials): the project's own save resumes them whatever they wait on.
            #expect(
                try await runAll(
                    store, now: 20, outcome: .paused(error: "401"), effects: DeliveryEffects(credentialsRejected: hold("9:x", integration: 9))) == 2)
            #expect(try await store.resumePaused(integrationID: 1, projectID: 15, now: 30) == 2)
            #expect(try await store.deliveryCounts(projectID: 15) == ["pending": 2, "succeeded": 1])
        }
    }

    @Test("the sweep finishes a resumption a stopped process left halfway, and paused deliveries past the default deadline become dead")
    func sweep() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            let day = Millis(RetryPolicy().maxAgeSeconds * 1000)
            #expect(day == 86_400_000, "the usual deadline: a day")
            let now: Millis = 10 * day
            try await log.insert(
                store,
                [
                    ("a", "PROJ-1", "pending", now - day - 1), ("a", "PROJ-2", "pending", now - day + 60_000),
                    ("a", "PROJ-3", "pending", now - 1),
                ])
            #expect(
                try await runAll(
                    store, now: now, outcome: .paused(error: "Jira answered 401"), effects: DeliveryEffects(credentialsRejected: hold("7:k"))) == 3)
            let swept = try await store.sweepPaused(deadBefore: now - day, limit: 1000, now: now)
            #expect(swept == (resumed: 0, dead: 1))
            let dead = try await store.deliveries(projectID: 15, filter: DeliveryFilter(status: .dead), limit: 10, offset: 0).items
            #expect(dead.map(\.issueKey) == ["PROJ-1"] && dead[0].lastError == "Jira answered 401 (it waited paused past the retry deadline)")
            // A process stopped after marking the hold as resuming: the next sweep requeues what is left.
            try await store.database.write { db in _ = try await SQLStore.beginResuming(db, integrationID: 7, now: now) }
            #expect(try await store.credentialHold(key: "7:k") == nil, "a hold being resumed pauses nothing more")
            #expect(try await store.sweepPaused(deadBefore: now - day, limit: 1000, now: now) == (resumed: 2, dead: 0))
            #expect(try await store.deliveryCounts(projectID: 15) == ["dead": 1, "pending": 2])
            #expect(try await store.credentialHolds().isEmpty)
        }
    }

    @Test("a rate-limit hold keeps its site (or its issue) out of the claim until it ends, and is only ever lengthened")
    func rateLimitHolds() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await log.insert(store, [("a", "PROJ-1", "pending", 1), ("a", "PROJ-2", "pending", 1), ("b", "PROJ-1", "pending", 1)])
            try await store.database.write { db in
                try await SQLStore.recordRateLimit(db, RateLimitHold(site: "a", issueKey: "PROJ-1", until: 1_000, reason: "jira-per-issue-on-write"))
                try await SQLStore.recordRateLimit(db, RateLimitHold(site: "b", issueKey: nil, until: 2_000, reason: "jira-burst-based"))
                try await SQLStore.recordRateLimit(db, RateLimitHold(site: "b", issueKey: nil, until: 1_500, reason: "shorter"))
            }
            let holds = try await store.rateLimitHolds(now: 10)
            #expect(
                holds == [
                    RateLimitHold(site: "a", issueKey: "PROJ-1", until: 1_000, reason: "jira-per-issue-on-write"),
                    RateLimitHold(site: "b", issueKey: nil, until: 2_000, reason: "jira-burst-based"),
                ])
            let during = try await store.claimDeliveries(owner: "w", limit: 10, perSiteLimit: 10, leaseMillis: 100_000, now: 10)
            #expect(during.map { "\($0.site) \($0.issueKey)" } == ["a PROJ-2"])
            let issueFree = try await store.claimDeliveries(owner: "w", limit: 10, perSiteLimit: 10, leaseMillis: 100_000, now: 1_000)
            #expect(issueFree.map { "\($0.site) \($0.issueKey)" } == ["a PROJ-1"])
            let siteFree = try await store.claimDeliveries(owner: "w", limit: 10, perSiteLimit: 10, leaseMillis: 100_000, now: 2_000)
            #expect(siteFree.map { "\($0.site) \($0.issueKey)" } == ["b PROJ-1"])
            #expect(try await store.rateLimitHolds(now: 2_000).isEmpty)
        }
    }

    @Test("a site's lowered limit caps its claims; the others keep the configured limit")
    func siteLimits() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await log.insert(store, (1...6).flatMap { [("a", "PROJ-\($0)", "pending", 1), ("b", "PROJ-\($0)", "pending", 1)] })
            let claimed = try await store.claimDeliveries(
                owner: "w", limit: 100, perSiteLimit: 4, siteLimits: ["a": 1, "c": 0],
                leaseMillis: 100_000, now: 10)
            #expect(claimed.filter { $0.site == "a" }.count == 1 && claimed.filter { $0.site == "b" }.count == 4)
            // A limit above the configured one is no license to run more.
            let more = try await store.claimDeliveries(owner: "w", limit: 100, perSiteLimit: 4, siteLimits: ["a": 50], leaseMillis: 100_000, now: 11)
            #expect(more.filter { $0.site == "a" }.count == 3 && more.filter { $0.site == "b" }.isEmpty)
        }
    }
}
