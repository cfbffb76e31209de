import Foundation
import Integration

/// Loading the group tree for the core's rules (`AncestorChain`, `Inheritance`, `WebhookSecrets`,
/// `Access`): queries only, the decisions are the core's.
extension SQLStore {
    public func ancestorChain(of level: IntegrationLevel) async throws -> AncestorChain? {
        try await database.read { db in try await Self.chain(db, level) }
    }

    public func namespaceChain(path: String) async throws -> AncestorChain {
        try await database.read { db in
            var groups: [Int64] = []
            for namespace in Namespace.of(path).map(Namespace.paths(from:)) ?? [] {
                if let id = try await Int64.fetchOne(db, sql: "SELECT id FROM groups WHERE full_path = ?", arguments: [namespace]) {
                    groups.append(id)
                }
            }
            return AncestorChain(namespaceGroups: groups)
        }
    }

    public func webhookSecrets(on chain: AncestorChain) async throws -> [IntegrationLevel: [String]] {
        let now = clock.now()
        let rows: [(IntegrationLevel, Data?, Data?, Millis?)] = try await database.read { db in
            var out: [(IntegrationLevel, Data?, Data?, Millis?)] = []
            for level in chain.levels {
                guard let table = Self.ownerTable(level) else { continue }
                guard
                    let row = try await SQLRow.fetchOne(
                        db,
                        sql: """
                            SELECT webhook_secret_enc, webhook_secret_prev_enc, webhook_secret_prev_until FROM \(table) WHERE id = ?
                            """, arguments: [level.ownerID])
                else { continue }
                out.append((level, row["webhook_secret_enc"], row["webhook_secret_prev_enc"], row["webhook_secret_prev_until"]))
            }
            return out
        }
        var secrets: [IntegrationLevel: [String]] = [:]
        for (level, current, previous, until) in rows {
            var accepted: [String] = []
            if let current { accepted.append(try self.secrets.open(current)) }
            if let previous, WebhookSecrets.previousIsValid(until: until, now: now) { accepted.append(try self.secrets.open(previous)) }
            if !accepted.isEmpty { secrets[level] = accepted }
        }
        return secrets
    }

    /// The groups above a group, nearest first, by one recursive query (portable SQL).
    static let ancestorsSQL = """
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM groups WHERE id = ?
            UNION ALL SELECT g.id, g.parent_id, up.depth + 1 FROM groups g JOIN up ON g.id = up.parent_id WHERE up.depth < \(AncestorChain.maxDepth))
        SELECT id FROM up ORDER BY depth
        """

    /// A project's groups, nearest first, after a first row (depth 0, no id) that says the project exists: one
    /// statement for what was two (its group, then that group's ancestors).
    static let projectChainSQL = """
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT g.id, g.parent_id, 1 FROM projects p JOIN groups g ON g.id = p.group_id WHERE p.id = ?
            UNION ALL SELECT g.id, g.parent_id, up.depth + 1 FROM groups g JOIN up ON g.id = up.parent_id WHERE up.depth <= \(AncestorChain.maxDepth))
        SELECT 0 AS depth, NULL AS id FROM projects WHERE id = ?
        UNION ALL SELECT depth, id FROM up
        ORDER BY depth
        """

    /// The chain of a registered project or group; nil when it is unknown.
    static func chain(_ db: any SQLConnection, _ level: IntegrationLevel) async throws -> AncestorChain? {
        switch level {
        case .instance:
            return .instance
        case .project(let id):
            let rows = try await SQLRow.fetchAll(db, sql: projectChainSQL, arguments: [id, id])
            guard let first = rows.first, (first["depth"] as Int64) == 0 else { return nil }
            return AncestorChain(project: id, groups: rows.dropFirst().map { $0["id"] as Int64 })
        case .group(let id):
            let groups = try await Int64.fetchAll(db, sql: ancestorsSQL, arguments: [id])
            guard groups.first == id else { return nil }
            return AncestorChain(group: id, ancestors: Array(groups.dropFirst()))
        }
    }

    /// What each level of `chain` holds in the integrations table.
    static func integrationStates(_ db: any SQLConnection, on chain: AncestorChain) async throws -> [IntegrationLevel: IntegrationState] {
        try await integrationRows(db, on: chain, columns: "owner_key, uses_default, active").mapValues(integrationState)
    }

    /// The integration rows on `chain`, by level, in one statement (`columns` must include the three
    /// `integrationState` reads).
    static func integrationRows(_ db: any SQLConnection, on chain: AncestorChain, columns: String = "*") async throws -> [IntegrationLevel: SQLRow] {
        let keys = chain.levels.map(\.ownerKey)
        var rows: [IntegrationLevel: SQLRow] = [:]
        for row in try await SQLRow.fetchAll(
            db, sql: "SELECT \(columns) FROM integrations WHERE owner_key IN (\(marks(keys.count)))", arguments: keys.map { $0 })
        {
            let key: String = row["owner_key"]
            guard let level = chain.levels.first(where: { $0.ownerKey == key }) else { continue }
            rows[level] = row
        }
        return rows
    }

    /// What one integration row means to `Inheritance`: inheriting, or custom settings, active or not.
    static func integrationState(_ row: SQLRow) -> IntegrationState {
        (row["uses_default"] as Bool) ? .inheriting : .custom(active: row["active"])
    }
}
