import Foundation

// The store's queries are written once, against these few types, and run on SQLite (GRDB) or PostgreSQL
// (postgres-nio). A query is portable SQL with `?` placeholders; what differs between the two databases is
// named by `SQLDialect` (row locks, the claim lock, notifications), never spelled out in the store twice.

/// A value bound to a statement or read from a row, the same on both databases.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
    case bool(Bool)
}

/// A Swift value a statement can take as an argument.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

/// A statement's arguments, in placeholder order; `nil` binds NULL.
public typealias SQLArguments = [(any SQLBindable)?]

extension Int64: SQLBindable { public var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Data: SQLBindable { public var sqlValue: SQLValue { .blob(self) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .bool(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .real(self) } }

/// A Swift type a column can be read as.
public protocol SQLColumnValue {
    /// nil when the value cannot be this type (NULL included).
    static func from(_ value: SQLValue) -> Self?
}

extension Int64: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .real(let d): return Int64(exactly: d)
        case .text(let s): return Int64(s)
        default: return nil
        }
    }
}

extension Int: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Int? { Int64.from(value).flatMap { Int(exactly: $0) } }
}

extension Bool: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Bool? {
        switch value {
        case .bool(let b): return b
        case .integer(let v): return v != 0
        default: return nil
        }
    }
}

extension String: SQLColumnValue {
    public static func from(_ value: SQLValue) -> String? {
        switch value {
        case .text(let s): return s
        case .blob(let d): return String(data: d, encoding: .utf8)
        default: return nil
        }
    }
}

extension Data: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Data? {
        switch value {
        case .blob(let d): return d
        case .text(let s): return Data(s.utf8)
        default: return nil
        }
    }
}

extension Double: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let d): return d
        case .integer(let v): return Double(v)
        default: return nil
        }
    }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
    public static func from(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.from(value).map { .some($0) }
    }
}

/// One result row: its columns by name.
public struct SQLRow: Sendable {
    let names: [String]
    let values: [SQLValue]

    init(names: [String], values: [SQLValue]) {
        self.names = names
        self.values = values
    }

    /// The column's value, read as `T`. A column the query did not select, or a value of another type, is a
    /// bug in the store's SQL (as with GRDB's rows): it stops with the column's name.
    public subscript<T: SQLColumnValue>(_ name: String) -> T {
        guard let index = names.firstIndex(of: name) else { preconditionFailure("no column \(name) in the row") }
        guard let value = T.from(values[index]) else { preconditionFailure("column \(name) is not a \(T.self): \(values[index])") }
        return value
    }

    /// The first column, for queries that select one value.
    var first: SQLValue { values.first ?? .null }

    public static func fetchAll(_ db: any SQLConnection, sql: String, arguments: SQLArguments = []) async throws -> [SQLRow] {
        try await db.rows(sql, arguments)
    }

    public static func fetchOne(_ db: any SQLConnection, sql: String, arguments: SQLArguments = []) async throws -> SQLRow? {
        try await db.rows(sql, arguments).first
    }
}

extension SQLColumnValue {
    /// The first column of every row.
    public static func fetchAll(_ db: any SQLConnection, sql: String, arguments: SQLArguments = []) async throws -> [Self] {
        try await db.rows(sql, arguments).compactMap { Self.from($0.first) }
    }

    /// The first column of the first row; nil when there is none or it is NULL.
    public static func fetchOne(_ db: any SQLConnection, sql: String, arguments: SQLArguments = []) async throws -> Self? {
        try await db.rows(sql, arguments).first.flatMap { Self.from($0.first) }
    }
}

/// A connection inside one transaction (or one read). Its statements are async: they suspend the task that
/// runs the store's code while the database works, and no thread waits for them.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs a statement; `changesCount` then says how many rows it changed.
    func execute(sql: String, arguments: SQLArguments) async throws
    /// The rows a query returns.
    func rows(_ sql: String, _ arguments: SQLArguments) async throws -> [SQLRow]
    /// Rows the last `execute` inserted, updated or deleted.
    var changesCount: Int { get }
    /// Sends a statement whose answer nothing needs before the next one (a `NOTIFY`): PostgreSQL's
    /// connection writes it and goes on without a round trip of its own; a failure is thrown by the next
    /// statement that is waited for, at the latest the transaction's `COMMIT`. SQLite runs it at once.
    func send(sql: String, arguments: SQLArguments) async throws
}

extension SQLConnection {
    public func execute(sql: String) async throws { try await execute(sql: sql, arguments: []) }

    /// Marks the transaction as the queue's bookkeeping (`SQLDialect.bookkeepingCommitSQL`); sent without
    /// waiting.
    func bookkeeping() async throws {
        if let sql = dialect.bookkeepingCommitSQL { try await send(sql: sql, arguments: []) }
    }

    public func send(sql: String, arguments: SQLArguments) async throws { try await execute(sql: sql, arguments: arguments) }

    /// Inserts one row and returns the id the database gave it.
    public func insert(sql: String, arguments: SQLArguments) async throws -> Int64 {
        guard let id = try await Int64.fetchOne(self, sql: sql + " RETURNING id", arguments: arguments) else {
            throw StoreError.conflict("the database returned no id for a new row")
        }
        return id
    }
}

/// Where the store's connections come from: one SQLite file, or a PostgreSQL server.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws. A
    /// transaction that lost a race with another process (a serialisation failure, a deadlock or a
    /// unique key taken meanwhile) is run again, so `body` must only touch the database.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T
    /// Runs `body`'s queries; they see committed data only.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T
    /// Runs `body`'s one statement as a transaction of its own. On PostgreSQL it is sent with no `BEGIN` and no
    /// `COMMIT` (the server commits it when it ends): one round trip where a transaction block takes three.
    /// Retried like `write` when it lost a race. A body of several statements must use `write`.
    func writeStatement<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T
    /// Runs `body` while the database can take statements: PostgreSQL's client runs its pool meanwhile (a
    /// command's, a test's or a startup phase's lifetime); SQLite needs nothing.
    func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T
    /// Applies the migrations not applied yet.
    func migrate() async throws
    /// Closes the connections.
    func close() async
}

extension SQLDatabase {
    public func writeStatement<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await write(body)
    }
}

extension SQLDialect {
    /// Locks the rows a claim selects and passes over rows another process holds (PostgreSQL); SQLite has
    /// one writer at a time and needs no row locks.
    func skipLocked(of table: String) -> String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE OF \(table) SKIP LOCKED"
        }
    }

    /// Taken at the start of the queue's claim: claims run one at a time across processes (PostgreSQL's
    /// transaction-scoped advisory lock, "jbclaim" in ASCII). SQLite's single writer already does this.
    /// On PostgreSQL, a transaction of the queue's own bookkeeping (claims, completions, planning, heartbeats)
    /// commits without waiting for its WAL to reach the disk, as SQLite's `synchronous = NORMAL` commits: a
    /// crash of jira-bridge loses none of it; a crash of the database server may lose its last fraction of a
    /// second, which puts deliveries back to run again (their reads find what was written to Jira) and events
    /// back to plan again (their deliveries' keys are unique). A webhook's intake always waits for the disk:
    /// its 202 says the event is stored.
    var bookkeepingCommitSQL: String? {
        switch self {
        case .sqlite: return nil
        case .postgres: return "SET LOCAL synchronous_commit TO OFF"
        }
    }

    /// The claim's lock across processes, in one statement with the bookkeeping mark (`set_config(..., true)` is
    /// `SET LOCAL`): one statement less per claim. It also turns sorting off for the claim's transaction: its
    /// search for the next runnable delivery must walk `deliveries_pending` in its order. With the statistics of a
    /// table that grew faster than autovacuum's analyze (a first burst of webhooks), PostgreSQL took another index
    /// and sorted every pending row of the site instead: about 1 ms a claim instead of 0.05, the costliest
    /// statement of a drain (`auto_explain`, BENCHMARKS.md).
    var claimLockSQL: String? {
        switch self {
        case .sqlite: return nil
        case .postgres:
            return
                "SELECT set_config('synchronous_commit', 'off', true), set_config('enable_sort', 'off', true), pg_advisory_xact_lock(\(0x6A62_636C_6169_6D))"
        }
    }
}

extension Array {
    /// The elements in runs of at most `size` (a statement's rows): `[[a, b], [c]]` for 3 elements and size 2.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
