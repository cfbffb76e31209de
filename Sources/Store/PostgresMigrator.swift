import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The schema on PostgreSQL: the same migrations as SQLite's in PostgreSQL's spelling (`SQLDialect.postgres`),
/// applied in order and recorded in `schema_migrations`. Under an advisory lock, so processes that start
/// together migrate once: the others wait, then find nothing left to do.
public struct PostgresMigrator: Sendable {
    public let settings: PostgresSettings
    let logger: Logger

    /// The advisory lock key every jira-bridge process takes to migrate ("jbmigrat" in ASCII).
    static let lockKey: Int64 = 0x6A62_6D69_6772_6174

    public init(settings: PostgresSettings, logger: Logger = Logger(label: "jira-bridge.postgres")) {
        self.settings = settings
        self.logger = logger
    }

    /// The connection configuration for `settings`: TLS as `sslmode` says, certificates checked against the
    /// system's roots.
    public static func configuration(_ s: PostgresSettings) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch s.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: s.host, port: s.port, username: s.user, password: s.password,
            database: s.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// Applies the migrations not applied yet; returns their names.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await withConnection { connection in
            // Held by this connection until unlocked or the connection ends (a process that dies frees it).
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let applied = try await migrate(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    func migrate(on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            logger: logger)
        var done = Set<String>()
        for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger).decode(String.self) {
            done.insert(name)
        }
        var applied: [String] = []
        for migration in Migrations.all(for: .postgres) where !done.contains(migration.name) {
            // One transaction per migration: a failure leaves the schema as the previous one left it.
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await connection.query("INSERT INTO schema_migrations (name, applied_at) VALUES (\(migration.name), \(now))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw StoreError.migrationFailed("\(migration.name): \(String(reflecting: error).prefix(500))")
            }
            applied.append(migration.name)
        }
        return applied
    }

    /// Runs one statement (`CREATE DATABASE` and the like) outside any transaction.
    public func execute(_ sql: String) async throws {
        try await withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            return ()
        }
    }

    /// The names of the tables in the database's public schema.
    public func tables() async throws -> [String] {
        try await withConnection { connection in
            var names: [String] = []
            for try await name in try await connection.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name", logger: logger
            ).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    /// Runs `body` on one connection, closed afterwards. An unreachable server or refused login is one
    /// `StoreError` naming the server (never the password), within the 10 s connect timeout.
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try Self.configuration(settings), id: 1, logger: logger)
        } catch {
            throw StoreError.unreachable("cannot connect to PostgreSQL at \(settings.description): \(Self.reason(error))")
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A short reason for a connection failure: the server's message, or the network error.
    static func reason(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return message }
            if let underlying = psql.underlying { return reason(underlying) }
            return "\(psql.code)"
        }
        // The system's own words for a refused or unreachable address ("Connection refused"), not NIO's dump.
        if let failed = error as? NIOConnectionError, let first = failed.connectionErrors.first { return reason(first.error) }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return String(describing: error).prefix(200).description
    }
}
