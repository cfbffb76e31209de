import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared database: a PostgreSQL server, through postgres-nio, for several jira-bridge processes.
///
/// The store's code is synchronous (it is the same code SQLite runs inside GRDB's transactions), so each
/// transaction runs on a thread of a small pool of its own, one per connection, and waits there for the
/// server's answers; Swift's cooperative threads and NIO's event loops never wait.
public final class PostgreSQLDatabase: SQLDatabase {
    public let settings: PostgresSettings
    public var dialect: SQLDialect { .postgres }
    let logger: Logger
    let threads: NIOThreadPool
    let pool: ConnectionPool

    /// Opens `settings.poolSize` connections' worth of pool and checks the server answers: an unreachable
    /// server or a refused login is one `StoreError.unreachable` (never the password).
    public static func open(_ settings: PostgresSettings, logger: Logger = Logger(label: "jira-bridge.postgres")) async throws -> PostgreSQLDatabase {
        let database = PostgreSQLDatabase(settings: settings, logger: logger)
        do {
            _ = try await database.read { db in try Int64.fetchOne(db, sql: "SELECT 1") }
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: max(1, settings.poolSize))
        self.threads.start()
        self.pool = ConnectionPool(settings: settings, logger: logger)
    }

    public func migrate() async throws {
        try await PostgresMigrator(settings: settings, logger: logger).migrate()
    }

    /// The task that holds the `LISTEN` connection, once started.
    let listener = Mutex<Task<Void, Never>?>(nil)

    /// Hears `NOTIFY`s on `channel` on a connection of its own (outside the pool), reconnecting after a
    /// second when the server goes away; `handler` gets each payload.
    public func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) {
        let task = Task { [settings, logger] in
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: try PostgresMigrator.configuration(settings), id: 0, logger: logger)
                    do {
                        try await connection.listen(on: channel) { notifications in
                            for try await notification in notifications { handler(notification.payload) }
                        }
                    } catch {
                        if !Task.isCancelled { logger.notice("the PostgreSQL notification connection ended; polling meanwhile", metadata: ["error": "\(PostgresMigrator.reason(error))"]) }
                    }
                    try? await connection.close()
                } catch {
                    if !Task.isCancelled { logger.notice("cannot listen for PostgreSQL notifications; polling meanwhile", metadata: ["error": "\(PostgresMigrator.reason(error))"]) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        listener.withLock { old in
            old?.cancel()
            old = task
        }
    }

    public func close() async {
        listener.withLock { $0?.cancel() }
        await pool.close()
        try? await threads.shutdownGracefully()
    }

    /// How often a transaction that lost a race with another process is run again.
    static let maxAttempts = 6

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await run { connection in
                    try connection.execute(sql: "BEGIN")
                    do {
                        let result = try body(connection)
                        try connection.execute(sql: "COMMIT")
                        return result
                    } catch {
                        try? connection.execute(sql: "ROLLBACK")
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < Self.maxAttempts && Self.isLostRace(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await run(body)
    }

    /// A serialisation failure, a deadlock, or a unique key another process took between this
    /// transaction's check and its insert: running it again sees the other's row.
    static func isLostRace(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return ["40001", "40P01", "23505"].contains(state)
    }

    /// Runs `body` on a pooled connection, on one of this database's threads.
    func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let connection = try await pool.acquire()
        do {
            let result = try await threads.runIfActive { try body(PGConnection(connection, logger: self.logger)) }
            pool.release(connection)
            return result
        } catch {
            pool.release(connection)
            throw Self.storeError(error, settings: settings)
        }
    }

    /// The server's error as the store reports it: its message and code, never the connection's password.
    static func storeError(_ error: any Error, settings: PostgresSettings) -> any Error {
        guard let psql = error as? PSQLError else { return error }
        // Class 53, insufficient resources: 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections.
        if let state = psql.serverInfo?[.sqlState], state == "53100" {
            return StoreError.storageFull("PostgreSQL at \(settings.description) cannot store more: \(PostgresMigrator.reason(psql))")
        }
        // The server's own errors stay as they are, but those that say it is going away or refusing
        // connections (classes 57, operator intervention, and 08, connection exception) mean unreachable.
        if let state = psql.serverInfo?[.sqlState], !state.hasPrefix("57"), !state.hasPrefix("08") { return psql }
        return StoreError.unreachable("PostgreSQL at \(settings.description): \(PostgresMigrator.reason(psql))")
    }
}

/// The connections of one process: at most `poolSize`, opened when first needed, and replaced when the
/// server closed them (a restart, a failover).
final class ConnectionPool: Sendable {
    struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var nextID = 1
        var closed = false
    }

    let settings: PostgresSettings
    let logger: Logger
    let state = Mutex(State())

    init(settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    func acquire() async throws -> PostgresConnection {
        while true {
            enum Step { case use(PostgresConnection), connect(Int), wait, closed }
            let step: Step = state.withLock { s in
                if s.closed { return .closed }
                while let connection = s.idle.popLast() {
                    if !connection.isClosed { return .use(connection) }
                    s.open -= 1
                }
                if s.open < max(1, settings.poolSize) {
                    s.open += 1
                    s.nextID += 1
                    return .connect(s.nextID)
                }
                return .wait
            }
            switch step {
            case .use(let connection):
                return connection
            case .closed:
                throw StoreError.unreachable("the PostgreSQL pool is closed")
            case .connect(let id):
                do {
                    return try await PostgresConnection.connect(configuration: try PostgresMigrator.configuration(settings), id: id, logger: logger)
                } catch {
                    state.withLock { s in
                        s.open -= 1
                        if !s.waiters.isEmpty { s.waiters.removeFirst().resume() }
                    }
                    throw StoreError.unreachable("cannot connect to PostgreSQL at \(settings.description): \(PostgresMigrator.reason(error))")
                }
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { s -> Bool in
                        if !s.idle.isEmpty || s.open < max(1, settings.poolSize) || s.closed { return true }
                        s.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    func release(_ connection: PostgresConnection) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if connection.isClosed || s.closed { s.open -= 1 } else { s.idle.append(connection) }
            return s.waiters.isEmpty ? nil : s.waiters.removeFirst()
        }
        if connection.isClosed == false && state.withLock({ $0.closed }) { connection.close().whenComplete { _ in } }
        waiter?.resume()
    }

    func close() async {
        let (idle, waiters) = state.withLock { s in
            s.closed = true
            defer { s.idle = []; s.waiters = [] }
            return (s.idle, s.waiters)
        }
        for waiter in waiters { waiter.resume() }
        for connection in idle { try? await connection.close() }
    }
}

/// One PostgreSQL connection as the store's `SQLConnection`: `?` placeholders become `$1`, `$2`, ..., and
/// each statement waits on this (non-event-loop) thread for its answer.
final class PGConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    var changesCount = 0
    var dialect: SQLDialect { .postgres }

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func execute(sql: String, arguments: SQLArguments) throws {
        let result = try answer(connection.query(try Self.query(sql, arguments), logger: logger))
        changesCount = result.metadata.rows ?? 0
    }

    /// Waits for a statement's answer, or for its connection to close, whichever comes first. When the server
    /// terminates connections (a restart) as a statement is sent, PostgresNIO can leave that statement without
    /// an answer; a thread waiting on it waited for ever, and its loop (the planner) with it.
    func answer(_ future: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
        let promise = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        let completed = Mutex(false)
        let complete: @Sendable (Result<PostgresQueryResult, any Error>) -> Void = { result in
            if completed.withLock({ done in defer { done = true }; return !done }) { promise.completeWith(result) }
        }
        future.whenComplete(complete)
        connection.closeFuture.whenComplete { _ in
            complete(.failure(StoreError.unreachable("the PostgreSQL connection closed before the statement was answered")))
        }
        return try promise.futureResult.wait()
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let result = try answer(connection.query(try Self.query(sql, arguments), logger: logger))
        changesCount = result.metadata.rows ?? 0
        var names: [String]? = nil
        return try result.rows.map { row in
            var values: [SQLValue] = []
            var rowNames: [String] = []
            for cell in row {
                if names == nil { rowNames.append(cell.columnName) }
                values.append(try Self.value(cell))
            }
            if names == nil { names = rowNames }
            return SQLRow(names: names!, values: values)
        }
    }

    static func query(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument?.sqlValue ?? .null {
            case .null: bindings.appendNull()
            case .integer(let v): try bindings.append(v)
            case .real(let d): try bindings.append(d)
            // PostgreSQL's text cannot hold U+0000; a webhook's name with one is stored with U+FFFD.
            case .text(let s): try bindings.append(s.contains("\u{0}") ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s)
            case .blob(let d): try bindings.append(ByteBuffer(bytes: d))
            case .bool(let b): try bindings.append(b)
            }
        }
        return PostgresQuery(unsafeSQL: Placeholders.numbered(sql), binds: bindings)
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .bytea: return .blob(Data(try cell.decode(ByteBuffer.self).readableBytesView))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// `?` placeholders in PostgreSQL's numbering, outside quoted text; cached per statement text.
enum Placeholders {
    static let cache = Mutex<[String: String]>([:])

    static func numbered(_ sql: String) -> String {
        if let hit = cache.withLock({ $0[sql] }) { return hit }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character? = nil
        for ch in sql {
            if let q = quote {
                if ch == q { quote = nil }
                out.append(ch)
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        cache.withLock { c in
            if c.count > 4_096 { c.removeAll() }
            c[sql] = out
        }
        return out
    }
}
