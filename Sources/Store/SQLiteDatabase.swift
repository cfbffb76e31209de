import Foundation
import GRDB

/// The embedded database: one SQLite file in WAL mode, through GRDB.
///
/// One serialised connection (`DatabaseQueue`), not a reader pool: GRDB's reader pool waits on a semaphore
/// on the calling thread, and with Swift's cooperative pool at two threads (this machine's cores) waiting
/// readers deadlocked the server under concurrent webhooks. SQLite's work here is sub-millisecond, so
/// one connection costs no throughput; WAL still lets other processes (the CLI) read meanwhile.
public final class SQLiteDatabase: SQLDatabase {
    public let queue: DatabaseQueue
    public let path: String
    public var dialect: SQLDialect { .sqlite }

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.journalMode = .wal
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

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do {
            return try await queue.write { db in try body(GRDBConnection(db)) }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do {
            return try await queue.read { db in try body(GRDBConnection(db)) }
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

/// GRDB's connection as the store's `SQLConnection`. Statements are prepared once per connection and
/// reused (GRDB's statement cache).
final class GRDBConnection: SQLConnection {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    init(_ db: Database) { self.db = db }

    var changesCount: Int { db.changesCount }

    func execute(sql: String, arguments: SQLArguments) throws {
        let statement = try db.cachedStatement(sql: sql)
        try statement.execute(arguments: Self.arguments(arguments))
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        let names = statement.columnNames
        return try GRDB.Row.fetchAll(statement, arguments: Self.arguments(arguments)).map { row in
            SQLRow(names: names, values: (0..<names.count).map { Self.value(row[$0] as DatabaseValue) })
        }
    }

    static func arguments(_ values: SQLArguments) -> StatementArguments {
        StatementArguments(values.map { value -> DatabaseValue in
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
