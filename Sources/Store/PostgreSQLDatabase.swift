import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The shared database: a PostgreSQL server, through postgres-nio's `PostgresClient`, for several jira-bridge
/// processes.
///
/// The client's pool runs as a `Service` (`run()`): `serve` puts it first in its service group, so it stops
/// last, after the workers that still write during a graceful stop; commands and tests run it for as long as
/// they use the database (`whileRunning`). Statements are async: a transaction suspends its task while
/// the server works, and no thread waits for an answer.
public final class PostgreSQLDatabase: SQLDatabase, Service {
    public let settings: PostgresSettings
    public var dialect: SQLDialect { .postgres }
    let logger: Logger
    /// The client the next `run()` runs. A client runs once; when its run ends (the end of a command's first
    /// phase, say) a fresh one takes its place, so that the database can be run again.
    let client: Mutex<(client: PostgresClient, running: Bool)>

    /// Checks that the server answers (one connection, opened and closed) and returns the database, whose
    /// client then needs `run()`. An unreachable server or a refused login is one `StoreError.unreachable`
    /// (never the password), within the 10 s connect timeout.
    public static func open(_ settings: PostgresSettings, logger: Logger = Logger(label: "jira-bridge.postgres")) async throws -> PostgreSQLDatabase {
        try await PostgresMigrator(settings: settings, logger: logger).execute("SELECT 1")
        return try PostgreSQLDatabase(settings: settings, logger: logger)
    }

    init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.client = Mutex((try Self.makeClient(settings, logger: logger), false))
    }

    static func makeClient(_ s: PostgresSettings, logger: Logger) throws -> PostgresClient {
        let tls: PostgresClient.Configuration.TLS
        switch s.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: s.host, port: s.port, username: s.user, password: s.password,
            database: s.database, tls: tls)
        configuration.options.maximumConnections = max(1, s.poolSize)
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(10)
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Runs the client's connection pool until cancelled or, in a service group, until its graceful shutdown.
    public func run() async throws {
        let running = try client.withLock { state -> PostgresClient in
            guard !state.running else { throw StoreError.conflict("the PostgreSQL client is already running") }
            state.running = true
            return state.client
        }
        await running.run()
        let next = try? Self.makeClient(settings, logger: logger)
        client.withLock { state in
            state.running = false
            if let next { state.client = next }
        }
    }

    public func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    public func migrate() async throws {
        try await PostgresMigrator(settings: settings, logger: logger).migrate()
    }

    public func close() async {}

    /// How often a transaction that lost a race with another process is run again.
    static let maxAttempts = 6

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await traced(.postgres, write: true) { try await writeTransaction(body) }
    }

    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await retryingLostRaces {
            try await run { connection in
                // Not waited for: the connection sends the body's first statement after it, one round trip less.
                connection.sendWithoutWaiting(try PGConnection.query("BEGIN", []))
                do {
                    let result = try await body(connection)
                    try await connection.execute(sql: "COMMIT")
                    return result
                } catch {
                    try? await connection.execute(sql: "ROLLBACK")
                    throw error
                }
            }
        }
    }

    public func writeStatement<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await traced(.postgres, write: true) { try await retryingLostRaces { try await run(body) } }
    }

    /// Runs `body` again (after a short random pause) when it lost a race with another process.
    private func retryingLostRaces<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PSQLError where attempt < Self.maxAttempts && Self.isLostRace(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await traced(.postgres, write: false) { try await run(body) }
    }

    /// A serialisation failure, a deadlock, or a unique key another process took between this
    /// transaction's check and its insert: running it again sees the other's row.
    static func isLostRace(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return ["40001", "40P01", "23505"].contains(state)
    }

    /// How long a transaction waits for a connection of the pool. postgres-nio's pool keeps a request waiting
    /// while the server refuses connections (a restart, a failover) and fails it only after a minute, so the
    /// store gives up sooner: the webhook that waits is answered 503 (the forge sends it again), a delivery
    /// is retried, and readiness says the database is away.
    public static let leaseDeadline: Duration = .seconds(5)

    private enum Finished<T: Sendable>: Sendable { case done(T), deadline }

    /// Whether a transaction got its connection, told by the lease to the deadline's timer.
    private final class LeaseFlag: Sendable {
        let state = Mutex(false)
        func set() { state.withLock { $0 = true } }
        var isSet: Bool { state.withLock { $0 } }
    }

    /// Runs `body` on a connection leased from the client's pool. A lease that fails (the pool gave up
    /// connecting, or it is stopped) or that has not come within `leaseDeadline` is `StoreError.unreachable`.
    func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) async throws -> T) async throws -> T {
        let running = client.withLock { $0.client }
        let leased = LeaseFlag()
        do {
            return try await withThrowingTaskGroup(of: Finished<T>.self) { group in
                group.addTask { [logger] in
                    .done(
                        try await running.withConnection { connection in
                            leased.set()
                            // On the connection's own event loop: its statements are written and their answers
                            // resumed there, with no hop to another thread and back for each.
                            return try await withTaskExecutorPreference(EventLoopTaskExecutor.of(connection.eventLoop)) {
                                try await body(PGConnection(connection, logger: logger))
                            }
                        })
                }
                group.addTask {
                    try await Task.sleep(for: Self.leaseDeadline)
                    return .deadline
                }
                while let next = try await group.next() {
                    switch next {
                    case .done(let value):
                        group.cancelAll()
                        return value
                    case .deadline:
                        // Still waiting for a connection: the wait ends (the lease request is cancelled). A
                        // transaction that has its connection runs on.
                        if !leased.isSet { group.cancelAll() }
                    }
                }
                throw CancellationError()
            }
        } catch {
            // Never leased, and not because this task was cancelled: the pool could not give a connection.
            if !leased.isSet && !Task.isCancelled {
                if let psql = error as? PSQLError, psql.code != .queryCancelled { throw Self.storeError(psql, settings: settings) }
                throw StoreError.unreachable("PostgreSQL at \(settings.description): no connection of the pool within \(Self.leaseDeadline)")
            }
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

/// One leased PostgreSQL connection as the store's `SQLConnection`: `?` placeholders become `$1`, `$2`, ...
///
/// postgres-nio runs a connection's statements one after another, each once the previous one is answered. A
/// statement sent without waiting (`BEGIN`, `NOTIFY`) still costs the server its turn, but not the task's
/// round trip through the event loop and back: the connection sends the next one as soon as it is answered.
/// Its failure is thrown by the next statement waited for (the connection answers in order, so it is known
/// by then); the `COMMIT` is always waited for.
final class PGConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    let watch: ConnectionWatch
    var changesCount = 0
    var dialect: SQLDialect { .postgres }
    /// The first failure of a statement sent without waiting, once answered.
    let sentFailure = FirstFailure()

    final class FirstFailure: Sendable {
        private let error = Mutex<(any Error)?>(nil)
        func record(_ e: any Error) { error.withLock { first in if first == nil { first = e } } }
        var value: (any Error)? { error.withLock { $0 } }
    }

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
        self.watch = ConnectionWatch.of(connection)
    }

    func execute(sql: String, arguments: SQLArguments) async throws {
        _ = try await answer(sql, arguments)
    }

    func send(sql: String, arguments: SQLArguments) async throws {
        sendWithoutWaiting(try Self.query(sql, arguments))
    }

    func sendWithoutWaiting(_ query: PostgresQuery) {
        connection.query(query, logger: logger).whenFailure { [sentFailure] error in
            sentFailure.record(error)
        }
    }

    /// Runs a statement and waits for its answer; a failure of a statement sent before it comes first (it is
    /// the cause: after it PostgreSQL refuses the rest of the transaction).
    func run(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        try await awaited { answered in connection.query(query, logger: logger).whenComplete(answered) }
    }

    /// Runs a statement, prepared once it is frequent, for its rows; `changesCount` is its count of rows
    /// changed, or of rows answered.
    private func answer(_ sql: String, _ arguments: SQLArguments) async throws -> [PostgresRow] {
        let (text, bindings, types) = try Self.statement(sql, arguments)
        guard let slot = PreparedStatements.slot(sql: text, types: types) else {
            let result = try await run(PostgresQuery(unsafeSQL: text, binds: bindings))
            changesCount = result.metadata.rows ?? 0
            return result.rows
        }
        let (connection, logger) = (connection, logger)
        // postgres-nio's prepared statements are async: a task of their own runs one, so that the wait can end
        // without it when the connection closes.
        let rows = try await awaited { answered in
            Task(executorPreference: EventLoopTaskExecutor.of(connection.eventLoop)) {
                do { answered(.success(try await PreparedStatements.rows(slot, bindings, on: connection, logger: logger))) } catch {
                    answered(.failure(error))
                }
            }
        }
        changesCount = rows.count
        return rows
    }

    /// Waits for a statement's answer, or its connection's end; a statement sent without waiting that failed
    /// is the error then.
    private func awaited<T: Sendable>(_ start: (@escaping @Sendable (Result<T, any Error>) -> Void) -> Void) async throws -> T {
        let answer: Result<T, any Error>
        do {
            answer = .success(try await watch.answer(on: connection.eventLoop, start))
        } catch {
            answer = .failure(error)
        }
        if let earlier = sentFailure.value { throw earlier }
        return try answer.get()
    }

    func rows(_ sql: String, _ arguments: SQLArguments) async throws -> [SQLRow] {
        let rows = try await answer(sql, arguments)
        var names: [String]? = nil
        return try rows.map { row in
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
        let (text, bindings, _) = try statement(sql, arguments)
        return PostgresQuery(unsafeSQL: text, binds: bindings)
    }

    /// The statement in PostgreSQL's numbering, its bound values, and their types (as postgres-nio sends them
    /// for an unprepared statement).
    static func statement(_ sql: String, _ arguments: SQLArguments) throws -> (String, PostgresBindings, [PostgresDataType]) {
        var bindings = PostgresBindings(capacity: arguments.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(arguments.count)
        for argument in arguments {
            switch argument?.sqlValue ?? .null {
            case .null:
                bindings.appendNull()
                types.append(.null)
            case .integer(let v):
                try bindings.append(v)
                types.append(.int8)
            case .real(let d):
                try bindings.append(d)
                types.append(.float8)
            // PostgreSQL's text cannot hold U+0000; a webhook's name with one is stored with U+FFFD.
            case .text(let s):
                try bindings.append(s.contains("\u{0}") ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s)
                types.append(.text)
            case .blob(let d):
                try bindings.append(ByteBuffer(bytes: d))
                types.append(.bytea)
            case .bool(let b):
                try bindings.append(b)
                types.append(.bool)
            }
        }
        return (Placeholders.numbered(sql), bindings, types)
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

/// The statements waiting for an answer on one PostgreSQL connection, failed when it closes. When the server
/// terminates connections (a restart) as a statement is sent, postgres-nio can leave that statement without an
/// answer; a task waiting on it waited for ever, and its loop (the planner) with it. One watch per connection
/// registers once for its close, so a connection that lives for days gathers nothing per statement.
final class ConnectionWatch: Sendable {
    private struct Waiting {
        var next = 0
        var failers: [Int: @Sendable (any Error) -> Void] = [:]
        var closed = false
    }

    private static let all = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])
    private let waiting = Mutex(Waiting())

    static func of(_ connection: PostgresConnection) -> ConnectionWatch {
        let key = ObjectIdentifier(connection)
        let (watch, isNew) = all.withLock { all -> (ConnectionWatch, Bool) in
            if let watch = all[key] { return (watch, false) }
            let watch = ConnectionWatch()
            all[key] = watch
            return (watch, true)
        }
        if isNew {
            connection.closeFuture.whenComplete { _ in
                _ = all.withLock { $0.removeValue(forKey: key) }
                watch.close()
            }
        }
        return watch
    }

    static let closedError = StoreError.unreachable("the PostgreSQL connection closed before the statement was answered")

    private func close() {
        let failers = waiting.withLock { w -> [@Sendable (any Error) -> Void] in
            w.closed = true
            defer { w.failers = [:] }
            return Array(w.failers.values)
        }
        for fail in failers { fail(Self.closedError) }
    }

    /// The statement's answer, or its connection's end, whichever comes first. `start` sends the statement and
    /// calls its argument with the answer.
    func answer<T: Sendable>(
        on loop: any EventLoop, _ start: (@escaping @Sendable (Result<T, any Error>) -> Void) -> Void
    ) async throws -> T {
        let promise = loop.makePromise(of: T.self)
        let id = waiting.withLock { w -> Int? in
            guard !w.closed else { return nil }
            w.next &+= 1
            w.failers[w.next] = { promise.fail($0) }
            return w.next
        }
        guard let id else {
            promise.fail(Self.closedError)  // a promise must be completed (debug builds check it)
            throw Self.closedError
        }
        start { [self] result in
            if waiting.withLock({ $0.failers.removeValue(forKey: id) }) != nil { promise.completeWith(result) }
        }
        return try await promise.futureResult.get()
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

/// An event loop as a task executor: a transaction's task runs on the loop of the connection it leased. Each
/// statement is then written to the socket from the loop's own thread, and the task resumes on it when the answer
/// comes, where a task on the global executor crossed threads twice per statement (a wake-up of the loop to write,
/// and one of a pool thread to resume): most of jira-bridge's CPU during a PostgreSQL drain went to those crossings
/// (`perf`: scheduling, futex and eventfd wake-ups). A transaction's own work between statements is small.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    private init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    private static let all = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    /// The executor of `loop`, one per loop for the life of the process (a process has one loop per core).
    static func of(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        all.withLock { all in
            if let known = all[ObjectIdentifier(loop)] { return known }
            let executor = EventLoopTaskExecutor(loop)
            all[ObjectIdentifier(loop)] = executor
            return executor
        }
    }
}
