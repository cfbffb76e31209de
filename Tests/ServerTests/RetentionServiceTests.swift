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
    @Test("a running server removes a succeeded delivery older than the retention and keeps a failed one")
    func serverPrunes() async throws {
        var options = Harness.Options()
        options.retention = RetentionConfiguration(days: 30, interval: .milliseconds(100), firstPass: .milliseconds(50))
        try await Harness.run(options) { h in
            _ = try await h.store.registerProject(
                ProjectRegistration(
                    ForgeProject(
                        id: 15, pathWithNamespace: "acme/shop", name: "Shop",
                        namespaceName: "Acme", webURL: "https://gitlab.example.com/acme/shop",
                        defaultBranch: "main"))!)
            let old = h.store.clock.now() - 40 * 86_400_000
            try await h.store.database.write { db in
                for (event, status) in [("old-ok", "succeeded"), ("old-failed", "failed")] {
                    try await db.execute(
                        sql: "INSERT INTO events (id, forge, project_id, kind, status, received_at) VALUES (?, 'gitlab', 15, 'push', 'planned', ?)",
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
            var left: [String] = []
            try await eventually(interval: .milliseconds(50)) {
                left = try await h.store.database.read { db in try await String.fetchAll(db, sql: "SELECT id FROM events ORDER BY id") }
                return left == ["old-failed"]
            }
            #expect(left == ["old-failed"])
        }
    }
}
