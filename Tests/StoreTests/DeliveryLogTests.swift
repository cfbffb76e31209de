import Foundation
import Integration
import Testing

@testable import Store

/// The delivery log's queries: filters, attempts, retrying all failed, and the queue's age per site.
@Suite("Delivery log store")
struct DeliveryLogStoreTests {
    /// Deliveries of one event of project 15: (site, issue key, status, created at) each.
    func insert(_ store: SQLStore, _ rows: [(site: String, key: String, status: String, at: Millis)]) async throws {
        try await store.database.write { db in
            try await db.execute(
                sql:
                    "INSERT INTO events (id, forge, delivery_key, project_id, kind, status, received_at) VALUES ('e1', 'gitlab', NULL, 15, 'push', 'planned', 1)"
            )
            for (i, r) in rows.enumerated() {
                try await db.execute(
                    sql: """
                        INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, content_key, work, status, attempts,
                            next_run_at, created_at, updated_at)
                        VALUES ('e1', 15, ?, ?, 'comment', ?, NULL, '{"format":1,"comment":{"body":"x"}}', ?, 1, ?, ?, ?)
                        """, arguments: [r.site, r.key, "comment|https://gitlab.example.com/acme/shop/-/commit/\(i)", r.status, r.at, r.at, r.at])
            }
        }
    }

    @Test("a list filters by status and issue key, and names the commit each delivery came from")
    func filters() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await insert(
                store, [("a", "PROJ-1", "succeeded", 1), ("a", "PROJ-2", "failed", 2), ("a", "PROJ-1", "failed", 3), ("a", "PROJ-3", "dead", 4)])
            let failed = try await store.deliveries(projectID: 15, filter: DeliveryFilter(status: .failed), limit: 10, offset: 0)
            #expect(failed.total == 2 && failed.items.map(\.issueKey) == ["PROJ-1", "PROJ-2"])
            let one = try await store.deliveries(projectID: 15, filter: DeliveryFilter(status: .failed, issueKey: "PROJ-1"), limit: 10, offset: 0)
            #expect(one.total == 1 && one.items.first?.sourceURL == "https://gitlab.example.com/acme/shop/-/commit/2")
            let all = try await store.deliveries(projectID: 15, filter: .all, limit: 2, offset: 0)
            #expect(all.total == 4 && all.items.count == 2)
            #expect(try await store.deliveries(projectID: 16, filter: .all, limit: 10, offset: 0).total == 0)
        }
    }

    @Test("retrying all failed requeues failed and dead deliveries in batches and nothing else")
    func retryAllFailed() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            var rows: [(site: String, key: String, status: String, at: Millis)] = [("a", "PROJ-0", "succeeded", 1), ("a", "PROJ-0", "pending", 1)]
            for i in 1...1203 { rows.append(("a", "PROJ-\(i)", i % 3 == 0 ? "dead" : "failed", Millis(i))) }
            try await insert(store, rows)
            #expect(try await store.retryAllFailedDeliveries(projectID: 15, now: 5_000) == 1203)
            let counts = try await store.deliveryCounts(projectID: 15)
            #expect(counts == ["succeeded": 1, "pending": 1204])
            #expect(try await store.retryAllFailedDeliveries(projectID: 15, now: 6_000) == 0)
            #expect(try await store.unfinishedWork(projectID: 15) == 1204)
        }
    }

    @Test("each finished attempt is logged with its outcome and error, the last 20 kept")
    func attempts() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await insert(store, [("a", "PROJ-1", "pending", 1)])
            for n in 1...22 {
                let claimed = try await store.claimDeliveries(owner: "w", limit: 1, perSiteLimit: 1, leaseMillis: 10_000, now: Millis(n * 10))
                #expect(claimed.count == 1)
                let outcome: DeliveryOutcome = n < 22 ? .retry(at: Millis(n * 10 + 1), error: "Jira answered 502 (\(n))") : .succeeded
                try await store.completeDelivery(id: claimed[0].id, owner: "w", outcome: outcome, followUps: [], now: Millis(n * 10 + 1))
            }
            let log = try await store.attempts(deliveryIDs: [1])[1] ?? []
            #expect(log.map(\.number) == Array(4...23))  // the row was inserted with one attempt made
            #expect(log.first?.outcome == "retry" && log.first?.error == "Jira answered 502 (3)")
            #expect(log.last?.outcome == "succeeded" && log.last?.error == nil && log.last?.finishedAt == 221)
        }
    }

    @Test("the oldest unfinished delivery of each site, one seek per site")
    func oldestPerSite() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await insert(
                store,
                [
                    ("b", "PROJ-1", "pending", 50), ("a", "PROJ-1", "running", 40), ("a", "PROJ-2", "pending", 30),
                    ("a", "PROJ-3", "succeeded", 1), ("c", "PROJ-1", "failed", 2), ("b", "PROJ-2", "running", 45),
                ])
            let oldest = try await store.oldestUnfinished().sorted { $0.site < $1.site }
            #expect(oldest.map(\.site) == ["a", "b"])
            #expect(oldest.map(\.createdAt) == [30, 45])
        }
    }
}
