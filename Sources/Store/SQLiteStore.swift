import Foundation
import GRDB
import Integration
import Synchronization

/// The embedded store: one SQLite file in WAL mode, through GRDB.
///
/// One serialised connection (`DatabaseQueue`), not a reader pool: GRDB's reader pool waits on a semaphore
/// on the calling thread, and with Swift's cooperative pool at two threads (this machine's cores) waiting
/// readers deadlocked the server under concurrent webhooks. SQLite's work here is sub-millisecond, so
/// one connection costs no throughput; WAL still lets other processes (the CLI) read meanwhile.
public final class SQLiteStore: BridgeStore {
    let pool: DatabaseQueue
    let secrets: SecretBox
    let path: String
    /// The time every row's timestamps are taken from.
    public let clock: WallClock
    /// The file descriptor holding the serving lock, once taken.
    let servingLock = Mutex<Int32?>(nil)
    /// Per site, the issue the last claim stopped at: the next claim goes on after it (issues take turns).
    let claimCursors = Mutex<[String: String]>([:])

    /// Opens (creating if needed) the database at `path`.
    public init(path: String, secrets: SecretBox, clock: WallClock = .system) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.journalMode = .wal
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.pool = try DatabaseQueue(path: path, configuration: config)
        self.secrets = secrets
        self.path = path
        self.clock = clock
    }

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all(for: .sqlite) {
            migrator.registerMigration(migration.name) { db in
                for statement in migration.sql { try db.execute(sql: statement) }
            }
        }
        try migrator.migrate(pool)
        try await backfillSecretFingerprints()
    }

    /// Secrets saved before fingerprints existed get theirs (SQL cannot compute an HMAC).
    func backfillSecretFingerprints() async throws {
        try await pool.write { [secrets] db in
            for table in ["projects", "groups"] {
                let rows = try Row.fetchAll(db, sql: "SELECT id, webhook_secret_enc FROM \(table) WHERE webhook_secret_enc IS NOT NULL AND webhook_secret_fp IS NULL")
                for row in rows {
                    let blob: Data = row["webhook_secret_enc"]
                    let id: Int64 = row["id"]
                    let fp = try secrets.fingerprint(secrets.open(blob))
                    try db.execute(sql: "UPDATE \(table) SET webhook_secret_fp = ? WHERE id = ?", arguments: [fp, id])
                }
            }
        }
    }

    /// A real write (a row rewritten in one transaction): a full disk or a read-only file fails it.
    public func ping() async throws {
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS readiness_probe (id INTEGER PRIMARY KEY, at BIGINT NOT NULL)")
            try db.execute(sql: "INSERT INTO readiness_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at", arguments: [clock.now()])
        }
    }

    /// The journal mode SQLite reports (`wal` once opened by this store).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Projects and groups

    public func registerProject(_ r: ProjectRegistration) async throws -> Project {
        let now = clock.now()
        return try await pool.write { db in
            let isKnown = try Row.fetchOne(db, sql: "SELECT 1 FROM projects WHERE id = ?", arguments: [r.id]) != nil
            let pathOwner = try Int64.fetchOne(db, sql: "SELECT id FROM projects WHERE path_with_namespace = ?", arguments: [r.pathWithNamespace])
            switch r.apiStep(isKnown: isKnown, pathOwner: pathOwner) {
            case .conflict(let why):
                throw StoreError.conflict(why)
            case .create:
                try Self.insertProject(db, r, now: now)
            case .replace, .keep, .followDefaultBranch:
                let groupID = try r.namespace.map { try Self.ensureGroup(db, fullPath: $0, name: nil, now: now).id }
                try db.execute(sql: """
                    UPDATE projects SET path_with_namespace = ?, name = ?, web_url = ?, default_branch = ?, group_id = ?, updated_at = ?
                    WHERE id = ?
                    """, arguments: [r.pathWithNamespace, r.name, r.webURL, r.defaultBranch, groupID, now, r.id])
            }
            return try Self.fetchProject(db, sql: "SELECT * FROM projects WHERE id = ?", [r.id])!
        }
    }

    public func project(id: Int64) async throws -> Project? {
        try await pool.read { db in try Self.fetchProject(db, sql: "SELECT * FROM projects WHERE id = ?", [id]) }
    }

    public func project(path: String) async throws -> Project? {
        try await pool.read { db in try Self.fetchProject(db, sql: "SELECT * FROM projects WHERE path_with_namespace = ?", [path]) }
    }

    public func projects() async throws -> [Project] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM projects ORDER BY path_with_namespace").map(Self.project(from:))
        }
    }

    public func ensureGroup(fullPath: String, name: String?) async throws -> Group {
        let now = clock.now()
        return try await pool.write { db in try Self.ensureGroup(db, fullPath: fullPath, name: name, now: now) }
    }

    public func group(id: Int64) async throws -> Group? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM groups WHERE id = ?", arguments: [id]).map(Self.group(from:)) }
    }

    public func group(path: String) async throws -> Group? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM groups WHERE full_path = ?", arguments: [path]).map(Self.group(from:)) }
    }

    public func groups() async throws -> [Group] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM groups ORDER BY full_path").map(Self.group(from:)) }
    }

    public func setWebhookSecret(_ secret: String?, for owner: TokenScope) async throws {
        let blob = try secret.map { try secrets.seal($0) }
        let fp = secret.map { secrets.fingerprint($0) }
        let now = clock.now()
        let until = now + WebhookSecrets.rotationGraceMillis
        try await pool.write { db in
            guard let table = Self.secretTable(owner) else { return }
            // The secret being replaced becomes the previous one (unless it is the same secret again).
            try db.execute(sql: """
                UPDATE \(table) SET webhook_secret_prev_enc = webhook_secret_enc, webhook_secret_prev_fp = webhook_secret_fp,
                    webhook_secret_prev_until = ?
                WHERE id = ? AND webhook_secret_enc IS NOT NULL AND webhook_secret_fp IS NOT ?
                """, arguments: [until, owner.level.ownerID, fp])
            try db.execute(sql: "UPDATE \(table) SET webhook_secret_enc = ?, webhook_secret_fp = ?, updated_at = ? WHERE id = ?",
                           arguments: [blob, fp, now, owner.level.ownerID])
            if db.changesCount == 0 { throw StoreError.notFound(owner.kind) }
        }
    }

    public func clearPreviousWebhookSecret(for owner: TokenScope) async throws {
        try await pool.write { db in
            guard let table = Self.secretTable(owner) else { return }
            try db.execute(sql: """
                UPDATE \(table) SET webhook_secret_prev_enc = NULL, webhook_secret_prev_fp = NULL, webhook_secret_prev_until = NULL WHERE id = ?
                """, arguments: [owner.level.ownerID])
            if db.changesCount == 0 { throw StoreError.notFound(owner.kind) }
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
        return try await pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM projects WHERE webhook_secret_fp = ?) OR EXISTS (SELECT 1 FROM groups WHERE webhook_secret_fp = ?)
                    OR EXISTS (SELECT 1 FROM projects WHERE webhook_secret_prev_fp = ? AND webhook_secret_prev_until > ?)
                    OR EXISTS (SELECT 1 FROM groups WHERE webhook_secret_prev_fp = ? AND webhook_secret_prev_until > ?)
                """, arguments: [fp, fp, fp, now, fp, now]) ?? false
        }
    }

    public func webhookSecret(for owner: TokenScope) async throws -> String? {
        let blob: Data? = try await pool.read { db in
            switch owner {
            case .project(let id): return try Data.fetchOne(db, sql: "SELECT webhook_secret_enc FROM projects WHERE id = ?", arguments: [id])
            case .group(let id): return try Data.fetchOne(db, sql: "SELECT webhook_secret_enc FROM groups WHERE id = ?", arguments: [id])
            case .instance: return nil
            }
        }
        return try blob.map { try secrets.open($0) }
    }

    // MARK: Tokens

    public func createToken(name: String, role: TokenRole, scope: TokenScope, expiresAt: Millis?, secretHash: String) async throws -> APIToken {
        let now = clock.now()
        return try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO api_tokens (name, secret_hash, role, scope, scope_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [name, secretHash, role.rawValue, scope.kind, Self.scopeID(scope), expiresAt, now])
            return APIToken(id: db.lastInsertedRowID, name: name, role: role, scope: scope, expiresAt: expiresAt, createdAt: now)
        }
    }

    public func token(secretHash: String) async throws -> APIToken? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE secret_hash = ?", arguments: [secretHash]).map(Self.token(from:))
        }
    }

    public func token(id: Int64) async throws -> APIToken? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE id = ?", arguments: [id]).map(Self.token(from:)) }
    }

    public func createSession(_ s: WebSession) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [s.createdAt])
            try db.execute(sql: """
                INSERT INTO web_sessions (id_hash, token_id, is_admin, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [s.idHash, s.tokenID, s.isAdmin, s.csrfToken, s.createdAt, s.expiresAt])
        }
    }

    public func session(idHash: String, now: Millis) async throws -> WebSession? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM web_sessions WHERE id_hash = ? AND expires_at > ?", arguments: [idHash, now]).map { row in
                WebSession(idHash: row["id_hash"], tokenID: row["token_id"], isAdmin: row["is_admin"], csrfToken: row["csrf_token"],
                           createdAt: row["created_at"], expiresAt: row["expires_at"])
            }
        }
    }

    public func deleteSession(idHash: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func tokens() async throws -> [APIToken] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY id").map(Self.token(from:)) }
    }

    public func deleteToken(id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE id = ?", arguments: [id])
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

    private static func token(from row: Row) -> APIToken {
        let scopeName: String = row["scope"]
        let scopeID: Int64? = row["scope_id"]
        let scope: TokenScope
        switch (scopeName, scopeID) {
        case ("group", let id?): scope = .group(id)
        case ("project", let id?): scope = .project(id)
        default: scope = .instance
        }
        return APIToken(id: row["id"], name: row["name"], role: TokenRole(rawValue: row["role"]) ?? .reporter,
                        scope: scope, expiresAt: row["expires_at"], createdAt: row["created_at"])
    }

    static func project(from row: Row) -> Project {
        let secret: Data? = row["webhook_secret_enc"]
        return Project(id: row["id"], pathWithNamespace: row["path_with_namespace"], name: row["name"], webURL: row["web_url"],
                       defaultBranch: row["default_branch"], groupID: row["group_id"], hasWebhookSecret: secret != nil,
                       createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    private static func group(from row: Row) -> Group {
        let secret: Data? = row["webhook_secret_enc"]
        return Group(id: row["id"], fullPath: row["full_path"], name: row["name"], parentID: row["parent_id"],
                     hasWebhookSecret: secret != nil, createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    private static func fetchProject(_ db: Database, sql: String, _ arguments: StatementArguments) throws -> Project? {
        try Row.fetchOne(db, sql: sql, arguments: arguments).map(project(from:))
    }

    /// Creates `fullPath` and its missing ancestors, top down, inside the caller's transaction.
    static func ensureGroup(_ db: Database, fullPath: String, name: String?, now: Millis) throws -> Group {
        let parts = fullPath.split(separator: "/").map(String.init)
        var parentID: Int64? = nil
        var current: Group? = nil
        for i in parts.indices {
            let path = parts[0...i].joined(separator: "/")
            let isLeaf = i == parts.count - 1
            // The first part of another forge's path carries the forge (`github:acme`); its name does not.
            let partName = i == 0 ? Forge.split(qualifiedPath: parts[0]).path : parts[i]
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM groups WHERE full_path = ?", arguments: [path]) {
                var g = group(from: row)
                if isLeaf, let name, name != g.name {
                    try db.execute(sql: "UPDATE groups SET name = ?, updated_at = ? WHERE id = ?", arguments: [name, now, g.id])
                    g.name = name
                }
                current = g
            } else {
                let groupName = isLeaf ? (name ?? partName) : partName
                try db.execute(sql: "INSERT INTO groups (full_path, name, parent_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [path, groupName, parentID, now, now])
                current = Group(id: db.lastInsertedRowID, fullPath: path, name: groupName, parentID: parentID,
                                hasWebhookSecret: false, createdAt: now, updatedAt: now)
                try inheritActiveDefault(db, .group(db.lastInsertedRowID), now: now)
            }
            parentID = current!.id
        }
        return current!
    }
}
