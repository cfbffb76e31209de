import Foundation
import Integration
import Testing

@testable import Store

/// Retention (`BridgeStore.prune`): old finished work goes, failed and dead work and everything recent stays.
@Suite("Retention")
struct RetentionTests {
    /// An event received at `at` with deliveries in the given statuses, all last changed at `at`.
    func insert(_ store: SQLStore, event: String, at: Millis, status: String = "planned", deliveries: [String]) async throws {
        try await store.database.write { db in
            try await db.execute(
                sql:
                    "INSERT INTO events (id, forge, delivery_key, project_id, kind, status, received_at) VALUES (?, 'gitlab', NULL, 15, 'push', ?, ?)",
                arguments: [event, status, at])
            try await db.execute(sql: "INSERT INTO event_payloads (event_id, payload) VALUES (?, '{}')", arguments: [event])
            for (i, state) in deliveries.enumerated() {
                try await db.execute(
                    sql: """
                        INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, content_key, work, status, attempts,
                            next_run_at, created_at, updated_at)
                        VALUES (?, 15, 'https://jira.example.com', 'PROJ-1', 'comment', ?, NULL, '{"format":1,"comment":{"body":"x"}}', ?, 1, ?, ?, ?)
                        """, arguments: [event, "\(event)|\(i)", state, at, at, at])
            }
        }
    }

    func remaining(_ store: SQLStore) async throws -> (events: [String], deliveries: [String]) {
        try await store.database.read { db in
            (
                try await String.fetchAll(db, sql: "SELECT id FROM events ORDER BY id"),
                try await String.fetchAll(db, sql: "SELECT event_id || ':' || status FROM deliveries ORDER BY event_id, id")
            )
        }
    }

    @Test("succeeded and skipped deliveries before the cutoff go, with events left without deliveries; failed, dead, pending and recent stay")
    func prunesOnlyFinishedOldWork() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            let day: Millis = 86_400_000
            let now: Millis = 100 * day
            try await insert(store, event: "old-done", at: now - 40 * day, deliveries: ["succeeded", "skipped"])
            try await insert(store, event: "old-mixed", at: now - 40 * day, deliveries: ["succeeded", "failed", "dead"])
            try await insert(store, event: "old-nothing", at: now - 40 * day, deliveries: [])
            try await insert(store, event: "old-planning-failed", at: now - 40 * day, status: "failed", deliveries: [])
            try await insert(store, event: "old-pending", at: now - 40 * day, deliveries: ["pending", "running"])
            try await insert(store, event: "recent", at: now - 2 * day, deliveries: ["succeeded"])
            let removed = try await Retention.prune(store: store, before: now - 30 * day, batch: 1000, maxBatches: 10)
            #expect(removed.deliveries == 3 && removed.events == 2)
            let left = try await remaining(store)
            #expect(left.events == ["old-mixed", "old-pending", "old-planning-failed", "recent"])
            #expect(left.deliveries == ["old-mixed:failed", "old-mixed:dead", "old-pending:pending", "old-pending:running", "recent:succeeded"])
            let payloads = try await store.database.read { db in
                try await String.fetchAll(db, sql: "SELECT event_id FROM event_payloads ORDER BY event_id")
            }
            #expect(payloads == left.events)
            // Nothing more to do: a second pass removes nothing.
            #expect(try await Retention.prune(store: store, before: now - 30 * day, batch: 1000, maxBatches: 10) == (0, 0))
        }
    }

    @Test("a pass works in transactions of the batch size and stops after its last batch")
    func boundedPerTransaction() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            for i in 0..<25 { try await insert(store, event: String(format: "e%02d", i), at: 1_000 + Millis(i), deliveries: ["succeeded"]) }
            // One transaction: ten deliveries, then the ten events they leave without any.
            #expect(try await store.prune(before: 10_000, limit: 10) == (10, 10))
            #expect(try await Retention.prune(store: store, before: 10_000, batch: 5, maxBatches: 2) == (10, 10))
            let rest = try await Retention.prune(store: store, before: 10_000, batch: 10, maxBatches: 100)
            #expect(rest.deliveries == 5 && rest.events == 5)
            #expect(try await remaining(store).events.isEmpty)
        }
    }
}
