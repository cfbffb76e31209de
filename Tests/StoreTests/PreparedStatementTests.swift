import Foundation
import Integration
import Testing

@testable import Store

/// The store's frequent statements run prepared on PostgreSQL (`PreparedStatements`): given a slot on their second
/// use, then parsed and planned once per connection. The answers must be those of the unprepared statement, for
/// every type of value, `NULL` included, and for `INTEGER` columns compared with the store's 64-bit integers.
@Suite("Prepared statements")
struct PreparedStatementTests {
    @Test("every slot number is a type of its own whose value is that number")
    func slotNumbers() {
        let values = PreparedStatements.numbers.map { $0.value }
        #expect(values == Array(0..<PreparedStatements.capacity))
        let names = Set(PreparedStatements.numbers.map { String(reflecting: $0) })
        #expect(names.count == PreparedStatements.capacity)
    }

    @Test("reads and writes with RETURNING are prepared; transaction control and writes answered by their count are not")
    func whatIsPrepared() {
        #expect(PreparedStatements.isPreparable("SELECT 1"))
        #expect(PreparedStatements.isPreparable("\n  select id FROM x WHERE y = $1"))
        #expect(PreparedStatements.isPreparable("INSERT INTO x (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"))
        #expect(PreparedStatements.isPreparable("WITH RECURSIVE up(id) AS (SELECT 1) SELECT id FROM up"))
        #expect(!PreparedStatements.isPreparable("UPDATE x SET a = $1 WHERE id = $2"))
        #expect(!PreparedStatements.isPreparable("WITH gone AS (DELETE FROM x WHERE a = $1) SELECT 1"))
        #expect(!PreparedStatements.isPreparable("BEGIN"))
        #expect(!PreparedStatements.isPreparable("COMMIT"))
        #expect(!PreparedStatements.isPreparable("SET LOCAL lock_timeout = 1000"))
    }

    @Test("a statement gets its slot on its second use, keeps it, and one with other types or too many values gets another or none")
    func slotsAreGivenOnSecondUse() {
        let sql = "SELECT \(UUID().uuidString.utf8.count) AS n, $1 AS v -- \(UUID().uuidString)"
        #expect(PreparedStatements.slot(sql: sql, types: [.int8]) == nil, "first use: not yet")
        let slot = PreparedStatements.slot(sql: sql, types: [.int8])
        #expect(slot != nil, "second use: a slot")
        #expect(PreparedStatements.slot(sql: sql, types: [.int8]) == slot, "and the same one after")
        if let slot { #expect(PreparedStatements.key(slot) == .init(sql: sql, types: [.int8])) }
        _ = PreparedStatements.slot(sql: sql, types: [.null])
        #expect(PreparedStatements.slot(sql: sql, types: [.null]) != slot, "a NULL in its place is another statement")
        let many = Array(repeating: PreparedStatements.Key.DataType.int8, count: PreparedStatements.maxParameters + 1)
        _ = PreparedStatements.slot(sql: sql, types: many)
        #expect(PreparedStatements.slot(sql: sql, types: many) == nil, "a multi-row statement is not prepared")
    }

    @Test("run again and again, a statement answers as it did the first time, for every type of value and for NULL")
    func preparedAnswersAreTheSame() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(21, "acme/shop"))
            let sql = "SELECT id, name, group_id FROM projects WHERE id = ? AND (CAST(? AS TEXT) IS NULL OR name = ?) AND ? = ? AND ? IS NOT NULL"
            func run(_ name: String?) async throws -> [SQLRow] {
                try await store.database.read { db in
                    try await db.rows(sql, [Int64(21), name, name, 1.5, 1.5, Data([0, 1, 2])])
                }
            }
            for _ in 0..<4 {
                let rows = try await run("shop")
                #expect(rows.count == 1)
                let id: Int64? = rows.first?["id"]
                let name: String? = rows.first?["name"]
                #expect(id == 21)
                #expect(name == "shop")
                #expect(try await run(nil).count == 1, "NULL, prepared as a statement of its own")
                #expect(try await run("other").isEmpty)
            }
            // An INTEGER column (groups.id, projects.group_id) against the store's 64-bit integers.
            let group: Int64 = try await store.database.write { db in
                try await db.rows(
                    "INSERT INTO groups (full_path, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
                    ["acme-\(UUID().uuidString)", "acme", Int64(1), Int64(1)]
                )[0]["id"]
            }
            for _ in 0..<4 {
                let found = try await store.database.read { db in
                    try await db.rows("SELECT id FROM groups WHERE id = ?", [group])
                }
                let id: Int64? = found.first?["id"]
                #expect(id == group)
            }
        }
    }
}
