import Foundation
import Integration
import Testing

@testable import Store

/// Statements sent without waiting for their answer (`SQLConnection.send`: `BEGIN`, `NOTIFY`, a claim's
/// update) still fail their transaction: on SQLite at once, on PostgreSQL at the next statement waited for or
/// at the `COMMIT`, which PostgreSQL would otherwise answer with a silent rollback.
@Suite("Statements sent without waiting")
struct SentStatementTests {
    @Test("a sent statement that fails fails its transaction, which then leaves nothing behind, even when nothing is awaited after it")
    func sentFailureFailsTheTransaction() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            // Something is awaited after the failing statement: that wait throws the earlier failure, not PostgreSQL's
            // "current transaction is aborted".
            await #expect(throws: (any Error).self) {
                try await store.database.write { db in
                    try await db.execute(sql: "UPDATE projects SET name = 'changed' WHERE id = 15", arguments: [])
                    try await db.send(sql: "INSERT INTO projects (id) VALUES (?)", arguments: [15])
                    _ = try await db.rows("SELECT 1 AS one", [])
                }
            }
            // Nothing awaited after it but the commit.
            await #expect(throws: (any Error).self) {
                try await store.database.write { db in
                    try await db.execute(sql: "UPDATE projects SET name = 'changed' WHERE id = 15", arguments: [])
                    try await db.send(sql: "INSERT INTO projects (id) VALUES (?)", arguments: [15])
                }
            }
            #expect(try await store.project(id: 15)?.name == "shop", "both transactions were rolled back")
            // A sent statement that succeeds is committed with the rest.
            try await store.database.write { db in
                try await db.send(sql: "UPDATE projects SET name = 'sent' WHERE id = ?", arguments: [15])
            }
            #expect(try await store.project(id: 15)?.name == "sent")
        }
    }
}
