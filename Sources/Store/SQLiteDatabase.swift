import Foundation
import GRDB

/// The embedded database: one SQLite file in WAL mode, through GRDB.
///
/// One serialised connection (`DatabaseQueue`), not a reader pool: GRDB's reader pool waits on a semaphore
/// on the calling thread, and with Swift's cooperative pool at two threads (this machine's cores) waiting
/// readers deadlocked the server under concurrent webhooks. SQLite's work here is sub-millisecond, so
/// one connection costs no throughput; WAL still lets other processes (the CLI) read meanwhile.
///
/// The store's code is async (PostgreSQL's statements suspend), so a transaction here is a turn on the
/// connection (`Turns`, in the order asked) in which each statement is one async access to GRDB's queue:
/// `BEGIN IMMEDIATE`, the statements, `COMMIT`. GRDB allows a transaction to span accesses when
/// `allowsUnsafeTransactions` is set; the turn is what makes it safe, since no other task's statement can
/// come between.
public final class SQLiteDatabase: SQLDatabase {
    public let queue: DatabaseQueue
    public let path: String
    public var dialect: SQLDialect { .sqlite }

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.journalMode = .wal
        config.allowsUnsafeTransactions = true
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.queue = try DatabaseQueue(path: path, configuration: config)
        self.path = path
        var opened = stat()
        self.opened = stat(path, &opened) == 0 ? (UInt64(opened.st_dev), UInt64(opened.st_ino)) : nil
    }

    /// The device and inode of the file opened.
    private let opened: (dev: UInt64, ino: UInt64)?

    public func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T { try await body() }

    /// Transactions take turns on the one connection.
    let turns = Turns()

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await traced(.sqlite, write: true) { try await transaction("BEGIN IMMEDIATE", body) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await traced(.sqlite, write: false) { try await transaction("BEGIN DEFERRED", body) }
    }

    /// Runs `body` in one transaction, in this task's turn: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ begin: String, _ body: @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        do {
            return try await turns.run {
                let connection = GRDBConnection(queue)
                try await connection.execute(sql: begin)
                do {
                    let result = try await body(connection)
                    try await connection.execute(sql: "COMMIT")
                    return result
                } catch {
                    // Not an async access: a cancelled task must still end its transaction before its turn ends.
                    queue.inDatabase { db in
                        if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    }
                    throw error
                }
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// SQLite's errors as the store reports them: a full disk (SQLITE_FULL, or an I/O error with ENOSPC) is
    /// `StoreError.storageFull`, which the server answers with 503; the rest stay as they are.
    static func storeError(_ error: any Error, path: String) -> any Error {
        guard let e = error as? DatabaseError else { return error }
        if e.resultCode == .SQLITE_FULL || (e.resultCode == .SQLITE_IOERR && (e.message ?? "").contains("No space")) {
            return StoreError.storageFull("SQLite at \(path) cannot store more: \(e.message ?? "database or disk is full")")
        }
        return error
    }

    /// Why the database file is no longer the one this process opened (deleted, or replaced by another file),
    /// or nil. SQLite keeps writing to the open file, so without this check everything written from then on
    /// is lost at the next start.
    public func fileProblem() -> String? {
        var now = stat()
        guard stat(path, &now) == 0 else { return "the database file \(path) was deleted while the server runs; restart it to open a database again" }
        if let opened, (opened.dev, opened.ino) != (UInt64(now.st_dev), UInt64(now.st_ino)) {
            return "the database file \(path) was replaced while the server runs; restart it to open the new file"
        }
        return nil
    }

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for migration in Migrations.all(for: .sqlite) {
            migrator.registerMigration(migration.name) { db in
                for statement in migration.sql { try db.execute(sql: statement) }
            }
        }
        try migrator.migrate(queue)
    }

    public func close() async {
        try? queue.close()
    }

    /// The journal mode SQLite reports (`wal` once opened).
    public func journalMode() async throws -> String {
        try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

/// One transaction's view of GRDB's queue as the store's `SQLConnection`: each statement is one async access.
/// Statements are prepared once per connection and reused (GRDB's statement cache).
final class GRDBConnection: SQLConnection {
    let queue: DatabaseQueue
    var dialect: SQLDialect { .sqlite }
    private(set) var changesCount = 0

    init(_ queue: DatabaseQueue) { self.queue = queue }

    func execute(sql: String, arguments: SQLArguments) async throws {
        let bound = Self.arguments(arguments)
        changesCount = try await queue.writeWithoutTransaction { db in
            let statement = try db.cachedStatement(sql: sql)
            try statement.execute(arguments: bound)
            return db.changesCount
        }
    }

    func rows(_ sql: String, _ arguments: SQLArguments) async throws -> [SQLRow] {
        let bound = Self.arguments(arguments)
        let (rows, changes) = try await queue.writeWithoutTransaction { db in
            let statement = try db.cachedStatement(sql: sql)
            let names = statement.columnNames
            let rows = try GRDB.Row.fetchAll(statement, arguments: bound).map { row in
                SQLRow(names: names, values: (0..<names.count).map { Self.value(row[$0] as DatabaseValue) })
            }
            return (rows, db.changesCount)
        }
        changesCount = changes
        return rows
    }

    static func arguments(_ values: SQLArguments) -> StatementArguments {
        StatementArguments(
            values.map { value -> DatabaseValue in
                switch value?.sqlValue ?? .null {
                case .null: return .null
                case .integer(let v): return v.databaseValue
                case .real(let d): return d.databaseValue
                case .text(let s): return s.databaseValue
                case .blob(let d): return d.databaseValue
                case .bool(let b): return b.databaseValue
                }
            })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case .int64(let v): return .integer(v)
        case .double(let d): return .real(d)
        case .string(let s): return .text(s)
        case .blob(let d): return .blob(d)
        }
    }
}
