import Foundation

/// `jira-bridge migrate-store`: copies a whole store from one database to another (SQLite to PostgreSQL),
/// row for row. Secrets are copied as they are stored, sealed, so the target needs the same secret key and
/// nothing is ever decrypted on the way. The target must be empty; both are migrated to the same schema
/// first.
public enum StoreCopy {
    /// The tables in the order their references need (groups before the projects in them, events before
    /// their deliveries), each with its key column and how many rows one batch takes: event payloads are
    /// whole webhook bodies, so they go a few at a time. `workers` and `readiness_probe` describe running
    /// processes, not data, and are not copied; nor are `rate_limit_holds`, waits of a few seconds or minutes.
    static let tables: [(name: String, key: String, batch: Int)] = [
        ("groups", "id", 500),
        ("projects", "id", 500),
        ("api_tokens", "id", 500),
        ("web_sessions", "id_hash", 500),
        ("integrations", "id", 500),
        ("events", "id", 500),
        ("event_payloads", "event_id", 20),
        ("deliveries", "id", 500),
        ("delivery_attempts", "id", 500),
        ("credential_holds", "hold_key", 500),
        ("vulnerabilities", "id", 200),
        ("vulnerability_issue_links", "vulnerability_id", 500),
    ]

    public struct Report: Sendable, Equatable {
        public var counts: [(table: String, rows: Int)]
        public static func == (a: Report, b: Report) -> Bool {
            a.counts.map(\.table) == b.counts.map(\.table) && a.counts.map(\.rows) == b.counts.map(\.rows)
        }
    }

    /// Copies every table of `source` into `target`. Refuses a target that holds any row already.
    public static func copy(from source: any SQLDatabase, to target: any SQLDatabase) async throws -> Report {
        try await source.migrate()
        try await target.migrate()
        for table in tables {
            let rows = try await target.read { db in try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0 }
            if rows > 0 {
                throw StoreError.conflict("the target database is not empty (\(table.name) has \(rows) rows); migrate-store only fills an empty one")
            }
        }
        var counts: [(String, Int)] = []
        for table in tables {
            let booleans = try await booleanColumns(table.name, in: target)
            var after: SQLValue? = nil
            var copied = 0
            while true {
                let cursor = after
                let batch: [SQLRow] = try await source.read { db in
                    if let cursor {
                        return try await db.rows(
                            "SELECT * FROM \(table.name) WHERE \(table.key) > ? ORDER BY \(table.key) LIMIT \(table.batch)", [Bound(cursor)])
                    }
                    return try await db.rows("SELECT * FROM \(table.name) ORDER BY \(table.key) LIMIT \(table.batch)", [])
                }
                guard let last = batch.last else { break }
                try await insert(batch, into: table.name, booleans: booleans, target: target)
                copied += batch.count
                after = last.values[last.names.firstIndex(of: table.key)!]
            }
            counts.append((table.name, copied))
        }
        try await target.write { db in
            // What was running or being planned belonged to the source's processes, which are stopped.
            try await db.execute(sql: "UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL WHERE status = 'running'")
            try await db.execute(sql: "UPDATE events SET status = 'pending', lease_until = NULL WHERE status = 'planning'")
            // Ids the database assigns go on after the copied ones.
            if db.dialect == .postgres {
                for (table, column) in try await identityColumns(db) {
                    try await db.execute(
                        sql:
                            "SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), COALESCE((SELECT MAX(\(column)) FROM \(table)), 0) + 1, false)"
                    )
                }
            }
        }
        return Report(counts: counts)
    }

    /// A value read from one database, bound to the other as it is.
    struct Bound: SQLBindable {
        let value: SQLValue
        init(_ value: SQLValue) { self.value = value }
        var sqlValue: SQLValue { value }
    }

    static func insert(_ rows: [SQLRow], into table: String, booleans: Set<String>, target: any SQLDatabase) async throws {
        guard let names = rows.first?.names else { return }
        let marks = "(" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        let sql =
            "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES " + Array(repeating: marks, count: rows.count).joined(separator: ", ")
        var arguments: SQLArguments = []
        arguments.reserveCapacity(rows.count * names.count)
        for row in rows {
            for (name, value) in zip(row.names, row.values) {
                // SQLite keeps booleans as 0 and 1.
                if booleans.contains(name), case .integer(let n) = value {
                    arguments.append(Bound(.bool(n != 0)))
                } else {
                    arguments.append(Bound(value))
                }
            }
        }
        try await target.write { [arguments] db in try await db.execute(sql: sql, arguments: arguments) }
    }

    static func booleanColumns(_ table: String, in database: any SQLDatabase) async throws -> Set<String> {
        guard database.dialect == .postgres else { return [] }
        return try await database.read { db in
            Set(
                try await String.fetchAll(
                    db,
                    sql: """
                        SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND data_type = 'boolean'
                        """, arguments: [table]))
        }
    }

    static func identityColumns(_ db: any SQLConnection) async throws -> [(String, String)] {
        try await SQLRow.fetchAll(
            db,
            sql: """
                SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
                WHERE table_schema = current_schema() AND is_identity = 'YES'
                """
        ).map { ($0["t"] as String, $0["c"] as String) }
    }

    /// Every table's row count, for comparing a source with its copy.
    public static func counts(_ database: any SQLDatabase) async throws -> [(table: String, rows: Int)] {
        var out: [(String, Int)] = []
        for table in tables {
            out.append((table.name, try await database.read { db in try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0 }))
        }
        return out
    }

    /// A process serving `database` now, in words, or nil: a worker whose heartbeat is at most `within`
    /// milliseconds old (a server beats every 2 s; one that was killed stops beating and is not counted).
    public static func liveServer(_ database: any SQLDatabase, now: Int64, within: Int64 = 10_000) async -> String? {
        let found: (String, Int64)? = try? await database.read { db in
            guard
                let row = try await SQLRow.fetchOne(
                    db, sql: "SELECT id, heartbeat_at FROM workers WHERE heartbeat_at > ? ORDER BY heartbeat_at DESC LIMIT 1",
                    arguments: [now - within])
            else { return nil }
            let id: String = row["id"]
            let at: Int64 = row["heartbeat_at"]
            return (id, at)
        }
        guard let (id, at) = found else { return nil }
        return "worker \(id.prefix(40)), whose last heartbeat was \(max(0, now - at) / 1000) s ago"
    }
}
