import Integration

/// Pages of projects, groups and tokens as far as a token's scope reaches, counted and cut in SQL, so a list
/// of thousands answers as fast as a list of ten.
extension SQLStore {
    /// The groups below (and including) a group, by `parent_id`: the same tree `ancestorChain` walks upwards.
    private static let subtree = """
        WITH RECURSIVE subtree(id) AS (
            SELECT id FROM groups WHERE id = ?
            UNION ALL SELECT g.id FROM groups g JOIN subtree s ON g.parent_id = s.id
        )
        """

    public func projects(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<Project> {
        let (prefix, condition, arguments): (String, String, SQLArguments)
        switch scope {
        case .instance: (prefix, condition, arguments) = ("", "1 = 1", [])
        case .group(let id): (prefix, condition, arguments) = (Self.subtree, "group_id IN (SELECT id FROM subtree)", [id])
        case .project(let id): (prefix, condition, arguments) = ("", "id = ?", [id])
        }
        return try await page(
            of: "projects", prefix, where: condition, arguments, orderBy: "path_with_namespace", offset: offset, limit: limit, Self.project(from:))
    }

    public func groups(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<Group> {
        let (prefix, condition, arguments): (String, String, SQLArguments)
        switch scope {
        case .instance: (prefix, condition, arguments) = ("", "1 = 1", [])
        case .group(let id): (prefix, condition, arguments) = (Self.subtree, "id IN (SELECT id FROM subtree)", [id])
        case .project: return Listed(items: [], total: 0)
        }
        return try await page(
            of: "groups", prefix, where: condition, arguments, orderBy: "full_path", offset: offset, limit: limit, Self.group(from:))
    }

    public func tokens(within scope: TokenScope, offset: Int, limit: Int) async throws -> Listed<APIToken> {
        let (prefix, condition, arguments): (String, String, SQLArguments)
        switch scope {
        case .instance: (prefix, condition, arguments) = ("", "1 = 1", [])
        case .group(let id):
            // A group's own tokens, its subgroups' and those of the projects in them.
            (prefix, condition, arguments) = (
                Self.subtree,
                """
                (scope = 'group' AND scope_id IN (SELECT id FROM subtree))
                OR (scope = 'project' AND scope_id IN (SELECT id FROM projects WHERE group_id IN (SELECT id FROM subtree)))
                """, [id]
            )
        case .project(let id):
            // Only while the project is registered, as for every other project-scoped answer.
            (prefix, condition, arguments) = ("", "scope = 'project' AND scope_id = ? AND scope_id IN (SELECT id FROM projects)", [id])
        }
        return try await page(of: "api_tokens", prefix, where: condition, arguments, orderBy: "id", offset: offset, limit: limit, Self.token(from:))
    }

    /// One page of `table`'s rows that meet `condition` (after the `WITH` clause `prefix`), and their count.
    private func page<Item: Sendable>(
        of table: String, _ prefix: String, where condition: String, _ arguments: SQLArguments, orderBy order: String,
        offset: Int, limit: Int, _ map: @escaping @Sendable (SQLRow) -> Item
    ) async throws -> Listed<Item> {
        try await database.read { db in
            let total = try await Int.fetchOne(db, sql: "\(prefix) SELECT COUNT(*) FROM \(table) WHERE \(condition)", arguments: arguments) ?? 0
            let rows = try await SQLRow.fetchAll(
                db, sql: "\(prefix) SELECT * FROM \(table) WHERE \(condition) ORDER BY \(order) LIMIT ? OFFSET ?",
                arguments: arguments + [limit, offset])
            return Listed(items: rows.map(map), total: total)
        }
    }
}
