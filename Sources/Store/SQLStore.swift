import Foundation
import Integration
import Logging
import ServiceLifecycle
import Synchronization

/// Everything jira-bridge keeps, on SQLite or PostgreSQL: the queries are written once (`SQL.swift`), and
/// `database` runs them on one or the other.
public final class SQLStore: BridgeStore {
    public let database: any SQLDatabase
    let secrets: SecretBox
    /// The time every row's timestamps are taken from.
    public let clock: WallClock
    /// The file descriptor holding the serving lock, once taken (SQLite).
    let servingLock = Mutex<Int32?>(nil)
    /// Per site, the issue the last claim stopped at: the next claim goes on after it (issues take turns).
    let claimCursors = Mutex<[String: String]>([:])

    /// Rung when new work is committed, by this process or (on PostgreSQL, through `WorkListener`) by any other.
    public let bells: WorkBells

    func bell(_ kind: WorkKind) -> WorkBell { bells[kind] }

    /// The database's own service, which must run while the store is used: PostgreSQL's client (its pool);
    /// nil on SQLite.
    public var databaseService: (any Service)? { database as? PostgreSQLDatabase }

    /// The listener for the other processes' new work (PostgreSQL's `LISTEN`); nil on SQLite, where one
    /// process serves the file.
    public func listener(logger: Logger) -> (any Service)? {
        guard let postgres = database as? PostgreSQLDatabase else { return nil }
        return WorkListener(settings: postgres.settings, bells: bells, logger: logger)
    }

    /// The channel new work is announced on (PostgreSQL's `NOTIFY`), with the kind as the payload.
    static let workChannel = "jira_bridge_work"

    /// Inside a transaction: tells the other processes, once it commits, that it made new work of `kind`.
    static func announce(_ db: any SQLConnection, _ kind: WorkKind) async throws {
        guard db.dialect == .postgres else { return }
        try await db.send(sql: "SELECT pg_notify('\(workChannel)', '\(kind.rawValue)')", arguments: [])
    }

    public init(database: any SQLDatabase, secrets: SecretBox, clock: WallClock = .system, bells: WorkBells = WorkBells()) {
        self.database = database
        self.secrets = secrets
        self.clock = clock
        self.bells = bells
    }

    /// The store in the SQLite file at `path` (created if needed).
    public convenience init(path: String, secrets: SecretBox, clock: WallClock = .system) throws {
        self.init(database: try SQLiteDatabase(path: path), secrets: secrets, clock: clock)
    }

    /// The SQLite database, when the store is on one.
    public var sqlite: SQLiteDatabase? { database as? SQLiteDatabase }

    public func close() async {
        await database.close()
    }

    public func migrate() async throws {
        try await database.migrate()
        try await backfillSecretFingerprints()
    }

    /// Secrets saved before fingerprints existed get theirs (SQL cannot compute an HMAC).
    func backfillSecretFingerprints() async throws {
        try await database.write { [secrets] db in
            for table in ["projects", "groups"] {
                let rows = try await SQLRow.fetchAll(
                    db, sql: "SELECT id, webhook_secret_enc FROM \(table) WHERE webhook_secret_enc IS NOT NULL AND webhook_secret_fp IS NULL")
                for row in rows {
                    let blob: Data = row["webhook_secret_enc"]
                    let id: Int64 = row["id"]
                    let fp = try secrets.fingerprint(secrets.open(blob))
                    try await db.execute(sql: "UPDATE \(table) SET webhook_secret_fp = ? WHERE id = ?", arguments: [fp, id])
                }
            }
        }
    }

    /// A real write (a row rewritten in one transaction): a full disk or a read-only file fails it.
    public func ping() async throws {
        try await database.write { db in
            try await db.execute(
                sql: "INSERT INTO readiness_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                arguments: [self.clock.now()])
        }
    }

    // MARK: Projects and groups

    public func registerProject(_ r: ProjectRegistration) async throws -> Project {
        let now = clock.now()
        return try await database.write { db in
            let isKnown = try await SQLRow.fetchOne(db, sql: "SELECT 1 FROM projects WHERE id = ?", arguments: [r.id]) != nil
            let pathOwner = try await Int64.fetchOne(
                db, sql: "SELECT id FROM projects WHERE path_with_namespace = ?", arguments: [r.pathWithNamespace])
            var step = r.apiStep(isKnown: isKnown, pathOwner: pathOwner)
            if case .takeOver(let owner) = step {
                try await Self.displace(db, owner, path: r.pathWithNamespace, now: now)
                step = isKnown ? .replace : .create
            }
            switch step {
            case .conflict(let why):
                throw StoreError.conflict(why)
            case .create:
                try await Self.insertProject(db, r, now: now)
            case .replace, .keep, .followDefaultBranch, .takeOver:
                var groupID: Int64? = nil
                if let namespace = r.namespace { groupID = try await Self.ensureGroup(db, fullPath: namespace, name: nil, now: now).id }
                try await db.execute(
                    sql: """
                        UPDATE projects SET path_with_namespace = ?, name = ?, web_url = ?, default_branch = ?, group_id = ?, updated_at = ?
                        WHERE id = ?
                        """, arguments: [r.pathWithNamespace, r.name, r.webURL, r.defaultBranch, groupID, now, r.id])
            }
            return try await Self.fetchProject(db, sql: "SELECT * FROM projects WHERE id = ?", [r.id])!
        }
    }

    public func project(id: Int64) async throws -> Project? {
        try await database.read { db in try await Self.fetchProject(db, sql: "SELECT * FROM projects WHERE id = ?", [id]) }
    }

    public func project(path: String) async throws -> Project? {
        try await database.read { db in try await Self.fetchProject(db, sql: "SELECT * FROM projects WHERE path_with_namespace = ?", [path]) }
    }

    public func ensureGroup(fullPath: String, name: String?) async throws -> Group {
        let now = clock.now()
        return try await database.write { db in try await Self.ensureGroup(db, fullPath: fullPath, name: name, now: now) }
    }

    public func group(id: Int64) async throws -> Group? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM groups WHERE id = ?", arguments: [id]).map(Self.group(from:))
        }
    }

    public func group(path: String) async throws -> Group? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM groups WHERE full_path = ?", arguments: [path]).map(Self.group(from:))
        }
    }

    public func setWebhookSecret(_ secret: String?, for owner: TokenScope) async throws {
        let blob = try secret.map { try secrets.seal($0) }
        let fp = secret.map { secrets.fingerprint($0) }
        let now = clock.now()
        let until = now + WebhookSecrets.rotationGraceMillis
        try await database.write { db in
            guard let table = Self.secretTable(owner) else { return }
            // The secret being replaced becomes the previous one (unless it is the same secret again).
            try await db.execute(
                sql: """
                    UPDATE \(table) SET webhook_secret_prev_enc = webhook_secret_enc, webhook_secret_prev_fp = webhook_secret_fp,
                        webhook_secret_prev_until = ?
                    WHERE id = ? AND webhook_secret_enc IS NOT NULL AND webhook_secret_fp IS DISTINCT FROM ?
                    """, arguments: [until, owner.level.ownerID, fp])
            try await db.execute(
                sql: "UPDATE \(table) SET webhook_secret_enc = ?, webhook_secret_fp = ?, updated_at = ? WHERE id = ?",
                arguments: [blob, fp, now, owner.level.ownerID])
            if db.changesCount == 0 { throw StoreError.notFound(owner.kind) }
        }
    }

    public func clearPreviousWebhookSecret(for owner: TokenScope) async throws {
        try await database.write { db in
            guard let table = Self.secretTable(owner) else { return }
            try await db.execute(
                sql: """
                    UPDATE \(table) SET webhook_secret_prev_enc = NULL, webhook_secret_prev_fp = NULL, webhook_secret_prev_until = NULL WHERE id = ?
                    """, arguments: [owner.level.ownerID])
            if db.changesCount == 0 { throw StoreError.notFound(owner.kind) }
        }
    }

    /// The table of a level's owner (its webhook secret, its forge API access); nil for the instance.
    static func ownerTable(_ level: IntegrationLevel) -> String? {
        switch level {
        case .project: return "projects"
        case .group: return "groups"
        case .instance: return nil
        }
    }

    static func secretTable(_ owner: TokenScope) -> String? {
        switch owner {
        case .project: return "projects"
        case .group: return "groups"
        case .instance: return nil
        }
    }

    public func isKnownWebhookSecret(_ presented: String) async throws -> Bool {
        let fp = secrets.fingerprint(presented)
        let now = clock.now()
        return try await database.read { db in
            try await Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM projects WHERE webhook_secret_fp = ?) OR EXISTS (SELECT 1 FROM groups WHERE webhook_secret_fp = ?)
                        OR EXISTS (SELECT 1 FROM projects WHERE webhook_secret_prev_fp = ? AND webhook_secret_prev_until > ?)
                        OR EXISTS (SELECT 1 FROM groups WHERE webhook_secret_prev_fp = ? AND webhook_secret_prev_until > ?)
                    """, arguments: [fp, fp, fp, now, fp, now]) ?? false
        }
    }

    public func webhookSecret(for owner: TokenScope) async throws -> String? {
        let blob: Data? = try await database.read { db in
            switch owner {
            case .project(let id): return try await Data.fetchOne(db, sql: "SELECT webhook_secret_enc FROM projects WHERE id = ?", arguments: [id])
            case .group(let id): return try await Data.fetchOne(db, sql: "SELECT webhook_secret_enc FROM groups WHERE id = ?", arguments: [id])
            case .instance: return nil
            }
        }
        return try blob.map { try secrets.open($0) }
    }

    // MARK: Tokens

    public func createToken(name: String, role: TokenRole, scope: TokenScope, expiresAt: Millis?, secretHash: String) async throws -> APIToken {
        let now = clock.now()
        return try await database.write { db in
            let id = try await db.insert(
                sql: """
                    INSERT INTO api_tokens (name, secret_hash, role, scope, scope_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [name, secretHash, role.rawValue, scope.kind, Self.scopeID(scope), expiresAt, now])
            return APIToken(id: id, name: name, role: role, scope: scope, expiresAt: expiresAt, createdAt: now)
        }
    }

    public func token(secretHash: String) async throws -> APIToken? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE secret_hash = ?", arguments: [secretHash]).map(Self.token(from:))
        }
    }

    public func token(id: Int64) async throws -> APIToken? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE id = ?", arguments: [id]).map(Self.token(from:))
        }
    }

    public func createSession(_ s: WebSession) async throws {
        try await database.write { db in
            try await db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [s.createdAt])
            try await db.execute(
                sql: """
                    INSERT INTO web_sessions (id_hash, token_id, is_admin, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [s.idHash, s.tokenID, s.isAdmin, s.csrfToken, s.createdAt, s.expiresAt])
        }
    }

    public func session(idHash: String, now: Millis) async throws -> WebSession? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM web_sessions WHERE id_hash = ? AND expires_at > ?", arguments: [idHash, now]).map {
                row in
                WebSession(
                    idHash: row["id_hash"], tokenID: row["token_id"], isAdmin: row["is_admin"], csrfToken: row["csrf_token"],
                    createdAt: row["created_at"], expiresAt: row["expires_at"])
            }
        }
    }

    public func deleteSession(idHash: String) async throws {
        try await database.write { db in try await db.execute(sql: "DELETE FROM web_sessions WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func tokens() async throws -> [APIToken] {
        try await database.read { db in try await SQLRow.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY id").map(Self.token(from:)) }
    }

    public func deleteToken(id: Int64) async throws -> Bool {
        try await database.write { db in
            try await db.execute(sql: "DELETE FROM api_tokens WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    // MARK: Integrations

    // MARK: Row mapping

    static func owners(_ level: IntegrationLevel) -> (Int64?, Int64?) {
        switch level {
        case .instance: return (nil, nil)
        case .group(let id): return (id, nil)
        case .project(let id): return (nil, id)
        }
    }

    private static func scopeID(_ scope: TokenScope) -> Int64? {
        switch scope {
        case .instance: return nil
        case .group(let id), .project(let id): return id
        }
    }

    static func token(from row: SQLRow) -> APIToken {
        let scopeName: String = row["scope"]
        let scopeID: Int64? = row["scope_id"]
        let scope: TokenScope
        switch (scopeName, scopeID) {
        case ("group", let id?): scope = .group(id)
        case ("project", let id?): scope = .project(id)
        default: scope = .instance
        }
        return APIToken(
            id: row["id"], name: row["name"], role: TokenRole(rawValue: row["role"]) ?? .reporter,
            scope: scope, expiresAt: row["expires_at"], createdAt: row["created_at"])
    }

    static func project(from row: SQLRow) -> Project {
        let secret: Data? = row["webhook_secret_enc"]
        let token: Data? = row["forge_api_token_enc"]
        return Project(
            id: row["id"], pathWithNamespace: row["path_with_namespace"], name: row["name"], webURL: row["web_url"],
            defaultBranch: row["default_branch"], groupID: row["group_id"], hasWebhookSecret: secret != nil,
            createdAt: row["created_at"], updatedAt: row["updated_at"], forgeAPIURL: row["forge_api_url"], hasForgeAPIToken: token != nil,
            forgeHookID: row["forge_hook_id"])
    }

    static func group(from row: SQLRow) -> Group {
        let secret: Data? = row["webhook_secret_enc"]
        let token: Data? = row["forge_api_token_enc"]
        return Group(
            id: row["id"], fullPath: row["full_path"], name: row["name"], parentID: row["parent_id"],
            hasWebhookSecret: secret != nil, createdAt: row["created_at"], updatedAt: row["updated_at"], forgeAPIURL: row["forge_api_url"],
            hasForgeAPIToken: token != nil)
    }

    private static func fetchProject(_ db: any SQLConnection, sql: String, _ arguments: SQLArguments) async throws -> Project? {
        try await SQLRow.fetchOne(db, sql: sql, arguments: arguments).map(project(from:))
    }

    /// Creates `fullPath` and its missing ancestors, top down, inside the caller's transaction.
    static func ensureGroup(_ db: any SQLConnection, fullPath: String, name: String?, now: Millis) async throws -> Group {
        let parts = fullPath.split(separator: "/").map(String.init)
        var parentID: Int64? = nil
        var current: Group? = nil
        for i in parts.indices {
            let path = parts[0...i].joined(separator: "/")
            let isLeaf = i == parts.count - 1
            // The first part of another forge's path carries the forge (`github:acme`); its name does not.
            let partName = i == 0 ? Forge.split(qualifiedPath: parts[0]).path : parts[i]
            if let row = try await SQLRow.fetchOne(db, sql: "SELECT * FROM groups WHERE full_path = ?", arguments: [path]) {
                var g = group(from: row)
                if isLeaf, let name, name != g.name {
                    try await db.execute(sql: "UPDATE groups SET name = ?, updated_at = ? WHERE id = ?", arguments: [name, now, g.id])
                    g.name = name
                }
                current = g
            } else {
                let groupName = isLeaf ? (name ?? partName) : partName
                let id = try await db.insert(
                    sql: "INSERT INTO groups (full_path, name, parent_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [path, groupName, parentID, now, now])
                current = Group(
                    id: id, fullPath: path, name: groupName, parentID: parentID,
                    hasWebhookSecret: false, createdAt: now, updatedAt: now)
                try await inheritActiveDefault(db, .group(id), now: now)
            }
            parentID = current!.id
        }
        return current!
    }
}
