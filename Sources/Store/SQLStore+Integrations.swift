import Foundation
import Integration

/// Integrations with group and instance defaults, resolved at read time (see `BridgeStore`).
///
/// Why resolve instead of copying as GitLab does: GitLab copies a default's columns (and its password)
/// onto every inheriting row in background batches, so between a save and the end of the propagation
/// the copies and the default disagree, and a failed batch leaves them disagreeing. Here an inheriting
/// row is only a marker; every read (the API, the pipeline's planning and delivery) walks up to the
/// nearest default in the same read. Saving a default is one row, whatever the number of projects.
extension SQLStore {
    public func integration(at level: IntegrationLevel) async throws -> IntegrationRecord? {
        let secrets = self.secrets
        return try await database.read { db in try await Self.effectiveIntegration(db, at: level, secrets: secrets) }
    }

    public func nearestDefault(for level: IntegrationLevel) async throws -> IntegrationRecord? {
        let secrets = self.secrets
        return try await database.read { db in
            guard let row = try await Self.nearestDefaultRow(db, above: level) else { return nil }
            return try Self.record(from: row, secrets: secrets)
        }
    }

    public func saveIntegration(at level: IntegrationLevel, settings: JiraSettings) async throws -> IntegrationRecord {
        let properties = try StoredSettings.encode(settings)
        let secrets = self.secrets
        let passwordBlob = try settings.password.map { try secrets.seal($0) }
        let oauthSecretBlob = try settings.oauthClientSecret.map { try secrets.seal($0) }
        let now = clock.now()
        let (groupID, projectID) = Self.owners(level)
        return try await database.write { db in
            try await db.execute(
                sql: """
                    INSERT INTO integrations (owner_key, level, group_id, project_id, uses_default, active, properties, password_enc,
                        oauth_secret_enc, deployment_type, created_at, updated_at)
                    VALUES (?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (owner_key) DO UPDATE SET uses_default = FALSE, active = excluded.active,
                        properties = excluded.properties, password_enc = excluded.password_enc,
                        oauth_secret_enc = excluded.oauth_secret_enc,
                        deployment_type = excluded.deployment_type, updated_at = excluded.updated_at
                    """,
                arguments: [
                    level.ownerKey, level.levelName, groupID, projectID, settings.active, properties,
                    passwordBlob, oauthSecretBlob, settings.deploymentType.rawValue, now, now,
                ])
            if Inheritance.propagatesOnSave(at: level, active: settings.active) {
                switch level {
                case .instance: try await Self.giveInheritingIntegrations(db, below: nil, now: now)
                case .group(let id): try await Self.giveInheritingIntegrations(db, below: id, now: now)
                case .project: break
                }
            }
            return try await Self.effectiveIntegration(db, at: level, secrets: secrets)!
        }
    }

    public func inheritIntegration(at level: IntegrationLevel) async throws -> IntegrationRecord? {
        let secrets = self.secrets
        let now = clock.now()
        return try await database.write { db in
            guard try await Self.nearestDefaultRow(db, above: level) != nil else { return nil }
            try await Self.insertInheriting(db, level, now: now, replacing: true)
            return try await Self.effectiveIntegration(db, at: level, secrets: secrets)
        }
    }

    public func deleteIntegration(at level: IntegrationLevel) async throws -> Bool {
        try await database.write { db in
            let state = try await Self.integrationStates(db, on: Self.chainOrOwn(db, level))[level]
            let wasDefault = Inheritance.removalMayOrphan(state, at: level)
            try await db.execute(sql: "DELETE FROM integrations WHERE owner_key = ?", arguments: [level.ownerKey])
            let deleted = db.changesCount > 0
            if wasDefault { try await Self.removeOrphanedInheritors(db) }
            return deleted
        }
    }

    public func overrides(
        of level: IntegrationLevel, limit: Int, offset: Int
    ) async throws
        -> (items: [(project: Project, integration: IntegrationRecord)], total: Int)
    {
        let secrets = self.secrets
        return try await database.read { db in
            let scope: String
            var arguments: SQLArguments = []
            switch level {
            case .project: return ([], 0)
            case .instance:
                scope = "SELECT id FROM projects"
            case .group(let id):
                scope = "SELECT p.id FROM projects p WHERE p.group_id IN (\(Self.subtreeSQL))"
                arguments += [id]
            }
            let total =
                try await Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM integrations i WHERE i.uses_default = FALSE AND i.level = 'project' AND i.project_id IN (\(scope))
                        """, arguments: arguments) ?? 0
            let rows = try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT p.*, i.id AS i_id FROM integrations i JOIN projects p ON p.id = i.project_id
                    WHERE i.uses_default = FALSE AND i.level = 'project' AND i.project_id IN (\(scope))
                    ORDER BY p.id LIMIT ? OFFSET ?
                    """, arguments: arguments + [limit, offset])
            var items: [(project: Project, integration: IntegrationRecord)] = []
            for row in rows {
                let project = Self.project(from: row)
                if let record = try await Self.effectiveIntegration(db, at: .project(project.id), secrets: secrets) {
                    items.append((project, record))
                }
            }
            return (items, total)
        }
    }

    // MARK: Resolution

    /// The ids of group `?` and every group below it.
    static let subtreeSQL = """
        WITH RECURSIVE subtree(id) AS (SELECT id FROM groups WHERE id = ? UNION ALL \
        SELECT g.id FROM groups g JOIN subtree s ON g.parent_id = s.id) SELECT id FROM subtree
        """

    /// What an inheriting row keeps in its settings columns: nothing of its own.
    static let emptyProperties: String = (try? StoredSettings.encode(JiraSettings())) ?? "{}"

    /// The chain of a level; a row whose project or group is gone still has itself and the instance.
    static func chainOrOwn(_ db: any SQLConnection, _ level: IntegrationLevel) async throws -> AncestorChain {
        try await chain(db, level) ?? AncestorChain.of(level, parents: [:])
    }

    /// The integration at `level` as `Inheritance.resolve` reads it: its own settings, its default's, or
    /// (an orphan, which this store never leaves behind but a row written by hand could be) inactive.
    /// Two statements: the chain, then every integration row on it (the states and the rows come together).
    static func effectiveIntegration(_ db: any SQLConnection, at level: IntegrationLevel, secrets: SecretBox) async throws -> IntegrationRecord? {
        let (chain, rows, _) = try await chainAndRows(db, level)
        return try effectiveIntegration(chain: chain, rows: rows, at: level, secrets: secrets)
    }

    /// `effectiveIntegration` from the chain and rows already read.
    static func effectiveIntegration(
        chain: AncestorChain, rows: [IntegrationLevel: SQLRow], at level: IntegrationLevel, secrets: SecretBox
    ) throws -> IntegrationRecord? {
        let resolution = Inheritance.resolve(chain, states: rows.mapValues(integrationState))
        guard resolution != .none, let row = rows[level] else { return nil }
        var record = try record(from: row, secrets: secrets)
        switch resolution {
        case .none, .own:
            break
        case .inherited(let source):
            guard let sourceRow = rows[source] else { break }
            let defaults = try Self.record(from: sourceRow, secrets: secrets)
            record.inheritFromID = defaults.id
            record.settings = defaults.settings
            record.updatedAt = max(record.updatedAt, defaults.updatedAt)
        case .orphaned:
            record.inheritFromID = nil
            record.settings = JiraSettings()
            record.settings.active = false
        }
        return record
    }

    /// A registered project's chain and every integration row on it, in one statement: the project, its
    /// groups nearest first, and the instance, each joined to its integration row if it has one; with
    /// `holds`, each row also joined to the rejections in force of its credentials (`hold_` columns; a row
    /// per hold).
    static func projectIntegrationsSQL(holds: Bool) -> String {
        """
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT g.id, g.parent_id, 1 FROM projects p JOIN groups g ON g.id = p.group_id WHERE p.id = ?
            UNION ALL SELECT g.id, g.parent_id, up.depth + 1 FROM groups g JOIN up ON g.id = up.parent_id WHERE up.depth <= \(AncestorChain.maxDepth)),
        chain(depth, key, group_id) AS (
            SELECT 0, 'project:' || CAST(id AS TEXT), NULL FROM projects WHERE id = ?
            UNION ALL SELECT depth, 'group:' || CAST(id AS TEXT), id FROM up
            UNION ALL SELECT 1000000, 'instance', NULL FROM projects WHERE id = ?)
        SELECT c.depth AS chain_depth, c.group_id AS chain_group, i.*\(holds ? """
            , h.hold_key AS hold_key, h.integration_id AS hold_integration_id, h.site AS hold_site, h.since AS hold_since, h.error AS hold_error
            """ : "")
        FROM chain c LEFT JOIN integrations i ON i.owner_key = c.key\(holds ? """
             LEFT JOIN credential_holds h ON h.integration_id = i.id AND h.resuming_since IS NULL
            """ : "")
        ORDER BY c.depth\(holds ? ", h.since" : "")
        """
    }

    /// The chain of `level` and the integration rows on it, by level: one statement for a registered project
    /// (the common case: every delivery and every planned event reads it), two otherwise. With `holds`, also
    /// the rejections in force of the credentials of the project's rows (none for another level).
    static func chainAndRows(
        _ db: any SQLConnection, _ level: IntegrationLevel, holds: Bool = false
    ) async throws -> (AncestorChain, [IntegrationLevel: SQLRow], [Int64: [CredentialHold]]) {
        if case .project(let id) = level {
            let found = try await SQLRow.fetchAll(db, sql: projectIntegrationsSQL(holds: holds), arguments: [id, id, id])
            if !found.isEmpty {
                var groups: [Int64] = []
                for row in found { if let group = row["chain_group"] as Int64?, groups.last != group { groups.append(group) } }
                let chain = AncestorChain(project: id, groups: groups)
                var rows: [IntegrationLevel: SQLRow] = [:]
                var heldBy: [Int64: [CredentialHold]] = [:]
                for row in found {
                    guard let key = row["owner_key"] as String?, let level = chain.levels.first(where: { $0.ownerKey == key }) else { continue }
                    rows[level] = row
                    if holds, let holdKey = row["hold_key"] as String? {
                        let hold = CredentialHold(
                            key: holdKey, integrationID: row["hold_integration_id"], site: row["hold_site"], since: row["hold_since"],
                            error: row["hold_error"])
                        heldBy[hold.integrationID, default: []].append(hold)
                    }
                }
                return (chain, rows, heldBy)
            }
        }
        let chain = try await chainOrOwn(db, level)
        return (chain, try await integrationRows(db, on: chain), [:])
    }

    static func integrationRow(_ db: any SQLConnection, _ level: IntegrationLevel) async throws -> SQLRow? {
        try await SQLRow.fetchOne(db, sql: "SELECT * FROM integrations WHERE owner_key = ?", arguments: [level.ownerKey])
    }

    /// The row of the default `level` would use (`Inheritance.nearestDefault`).
    static func nearestDefaultRow(_ db: any SQLConnection, above level: IntegrationLevel) async throws -> SQLRow? {
        let chain = try await chainOrOwn(db, level)
        guard let source = Inheritance.nearestDefault(chain, states: try await integrationStates(db, on: chain)) else { return nil }
        return try await integrationRow(db, source)
    }

    // MARK: Propagation

    /// Gives a project or group that was just created an inheriting integration when its nearest default
    /// is active (GitLab: new projects and groups take the nearest active default).
    static func inheritActiveDefault(_ db: any SQLConnection, _ level: IntegrationLevel, now: Millis) async throws {
        let chain = try await chainOrOwn(db, level)
        guard Inheritance.inheritsOnCreation(chain, states: try await integrationStates(db, on: chain)) else { return }
        try await insertInheriting(db, level, now: now, replacing: false)
    }

    static func insertInheriting(_ db: any SQLConnection, _ level: IntegrationLevel, now: Millis, replacing: Bool) async throws {
        let (groupID, projectID) = owners(level)
        try await db.execute(
            sql: """
                INSERT INTO integrations (owner_key, level, group_id, project_id, uses_default, active, properties, password_enc,
                    deployment_type, created_at, updated_at)
                VALUES (?, ?, ?, ?, TRUE, FALSE, ?, NULL, 'unknown', ?, ?)
                ON CONFLICT (owner_key) DO \(replacing ? "UPDATE SET uses_default = TRUE, active = FALSE, properties = excluded.properties, password_enc = NULL, oauth_secret_enc = NULL, deployment_type = 'unknown', updated_at = excluded.updated_at" : "NOTHING")
                """, arguments: [level.ownerKey, level.levelName, groupID, projectID, emptyProperties, now, now])
    }

    /// Every group and project below `groupID` (everything, for the instance) without an integration gets
    /// an inheriting one: two INSERT ... SELECT statements, whatever the number of projects.
    static func giveInheritingIntegrations(_ db: any SQLConnection, below groupID: Int64?, now: Millis) async throws {
        let groupScope: String
        let projectScope: String
        var groupArguments: SQLArguments = []
        var projectArguments: SQLArguments = []
        if let groupID {
            groupScope = "g.id IN (\(subtreeSQL)) AND g.id <> ?"
            groupArguments = [groupID, groupID]
            projectScope = "p.group_id IN (\(subtreeSQL))"
            projectArguments = [groupID]
        } else {
            groupScope = "1 = 1"
            projectScope = "1 = 1"
        }
        try await db.execute(
            sql: """
                INSERT INTO integrations (owner_key, level, group_id, project_id, uses_default, active, properties, password_enc,
                    deployment_type, created_at, updated_at)
                SELECT 'group:' || g.id, 'group', g.id, NULL, TRUE, FALSE, ?, NULL, 'unknown', ?, ?
                FROM groups g WHERE \(groupScope)
                  AND NOT EXISTS (SELECT 1 FROM integrations i WHERE i.owner_key = 'group:' || g.id)
                """, arguments: [emptyProperties, now, now] + groupArguments)
        try await db.execute(
            sql: """
                INSERT INTO integrations (owner_key, level, group_id, project_id, uses_default, active, properties, password_enc,
                    deployment_type, created_at, updated_at)
                SELECT 'project:' || p.id, 'project', NULL, p.id, TRUE, FALSE, ?, NULL, 'unknown', ?, ?
                FROM projects p WHERE \(projectScope)
                  AND NOT EXISTS (SELECT 1 FROM integrations i WHERE i.owner_key = 'project:' || p.id)
                """, arguments: [emptyProperties, now, now] + projectArguments)
    }

    /// After a default is removed: the inheriting integrations `Inheritance.orphans` finds without a
    /// default are removed. The group tree and the integration states are loaded once.
    static func removeOrphanedInheritors(_ db: any SQLConnection) async throws {
        var parents: [Int64: Int64] = [:]
        for row in try await SQLRow.fetchAll(db, sql: "SELECT id, parent_id FROM groups WHERE parent_id IS NOT NULL") {
            parents[row["id"]] = row["parent_id"]
        }
        var states: [IntegrationLevel: IntegrationState] = [:]
        var inheritors: [AncestorChain] = []
        for row in try await SQLRow.fetchAll(
            db,
            sql: """
                SELECT i.level, i.group_id, i.project_id, i.uses_default, i.active, p.group_id AS project_group
                FROM integrations i LEFT JOIN projects p ON p.id = i.project_id
                """)
        {
            let level = Self.level(from: row)
            let usesDefault: Bool = row["uses_default"]
            states[level] = usesDefault ? .inheriting : .custom(active: row["active"])
            if usesDefault { inheritors.append(AncestorChain.of(level, projectGroup: row["project_group"], parents: parents)) }
        }
        let orphans = Inheritance.orphans(inheritors, states: states).map(\.ownerKey)
        for start in stride(from: 0, to: orphans.count, by: 500) {
            let chunk = Array(orphans[start..<min(start + 500, orphans.count)])
            let marks = Self.marks(chunk.count)
            try await db.execute(sql: "DELETE FROM integrations WHERE owner_key IN (\(marks))", arguments: chunk.map { $0 })
        }
    }

    // MARK: Row mapping

    static func record(from row: SQLRow, secrets: SecretBox) throws -> IntegrationRecord {
        let stored = try StoredSettings.decode(row["properties"])
        let passwordBlob: Data? = row["password_enc"]
        let password = try passwordBlob.map { try secrets.open($0) }
        let oauthSecretBlob: Data? = row["oauth_secret_enc"]
        let oauthSecret = try oauthSecretBlob.map { try secrets.open($0) }
        let deployment = JiraDeploymentType(rawValue: row["deployment_type"]) ?? .unknown
        return IntegrationRecord(
            id: row["id"], level: level(from: row), inheritFromID: nil,
            settings: stored.settings(active: row["active"], password: password, oauthClientSecret: oauthSecret, deploymentType: deployment),
            createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    static func level(from row: SQLRow) -> IntegrationLevel {
        let levelName: String = row["level"]
        switch levelName {
        case "group": return .group(row["group_id"])
        case "project": return .project(row["project_id"])
        default: return .instance
        }
    }
}
