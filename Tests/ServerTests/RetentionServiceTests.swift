import Foundation
import Integration
import Server
import Store
import TestDatabases
import Testing

/// The server's own pruning pass (`RetentionService`). Every other end-to-end test runs with the default
/// retention (first pass a minute after start), so each of their shutdowns checks that its wait ends at once.
@Suite("Retention in the server")
struct RetentionServiceTests {
    @Test(
        "with the default settings a running server's first pass, a minute after start, removes a succeeded delivery older than 30 days and keeps a failed one; the next comes an hour later"
    )
    func serverPrunes() async throws {
        var options = Harness.Options()
        options.retention = RetentionConfiguration()
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            _ = try await h.store.registerProject(
                ProjectRegistration(
                    ForgeProject(
                        id: 15, pathWithNamespace: "acme/shop", name: "Shop",
                        namespaceName: "Acme", webURL: "https://gitlab.example.com/acme/shop",
                        defaultBranch: "main"))!)
            func insert(_ rows: [(event: String, status: String)]) async throws {
                let old = h.store.clock.now() - 40 * 86_400_000
                try await h.store.database.write { db in
                    for (event, status) in rows {
                        try await db.execute(
                            sql:
                                "INSERT INTO events (id, forge, project_id, kind, status, received_at) VALUES (?, 'gitlab', 15, 'push', 'planned', ?)",
                            arguments: [event, old])
                        try await db.execute(sql: "INSERT INTO event_payloads (event_id, payload) VALUES (?, '{}')", arguments: [event])
                        try await db.execute(
                            sql: """
                                INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, work, status, attempts, next_run_at,
                                    created_at, updated_at)
                                VALUES (?, 15, 'https://jira.example.com', 'PROJ-1', 'comment', ?, '{}', ?, 1, ?, ?, ?)
                                """, arguments: [event, event, status, old, old, old])
                    }
                }
            }
            func events() async throws -> [String] {
                try await h.store.database.read { db in try await String.fetchAll(db, sql: "SELECT id FROM events ORDER BY id") }
            }
            try await insert([("old-ok", "succeeded"), ("old-failed", "failed")])
            // Retention waits a minute for its first pass: until the clock gets there, nothing goes.
            #expect(await eventually { clock.waits(for: .seconds(60)) == 1 }, "the first pass waits its minute")
            clock.advance(by: .seconds(59))
            #expect(clock.waits(for: .seconds(60)) == 1, "a second early, the pass still waits")
            #expect(try await events() == ["old-failed", "old-ok"])
            clock.advance(by: .seconds(1))
            #expect(try await eventually { try await events() == ["old-failed"] })
            // The next pass is an hour later.
            #expect(await eventually { clock.waits(for: .seconds(3_600)) == 1 }, "the next pass waits its hour")
            try await insert([("old-ok-2", "succeeded")])
            clock.advance(by: .seconds(3_600))
            #expect(try await eventually { try await events() == ["old-failed"] })
        }
    }
}
