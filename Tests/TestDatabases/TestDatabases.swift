import Foundation
import Store

/// The database a test runs on. The suites run once on SQLite and once on PostgreSQL: `scripts/test` starts
/// a throwaway cluster (`JIRA_BRIDGE_TEST_POSTGRES_URL`) and runs them again with
/// `JIRA_BRIDGE_TEST_STORE=postgres`. Each test then gets a database of its own, dropped after it.
public enum TestDatabases {
    /// The throwaway cluster's URL, if `scripts/test` started one.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["JIRA_BRIDGE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether this run's suites are on PostgreSQL.
    public static var onPostgres: Bool {
        ProcessInfo.processInfo.environment["JIRA_BRIDGE_TEST_STORE"] == "postgres" && postgresURL != nil
    }

    /// The settings of the cluster's maintenance database, with a pool small enough for tests running side by side.
    public static func clusterSettings() throws -> PostgresSettings? {
        guard let url = postgresURL, case .postgres(var settings) = try DatabaseURL.parse(url) else { return nil }
        settings.poolSize = 2
        return settings
    }

    /// A new, empty database on the cluster; its settings.
    public static func createPostgres() async throws -> PostgresSettings {
        guard var settings = try clusterSettings() else { throw StoreError.unreachable("no test PostgreSQL (JIRA_BRIDGE_TEST_POSTGRES_URL)") }
        let name = "jb_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresMigrator(settings: settings).execute("CREATE DATABASE \(name)")
        settings.database = name
        return settings
    }

    /// Drops a database `createPostgres` made, whoever is still connected to it.
    public static func dropPostgres(_ settings: PostgresSettings) async {
        guard var cluster = try? clusterSettings() else { return }
        cluster.poolSize = 1
        try? await PostgresMigrator(settings: cluster).execute("DROP DATABASE IF EXISTS \(settings.database) WITH (FORCE)")
    }

    /// A fresh database for one test: a SQLite file at `sqlitePath`, or (on the PostgreSQL run) a new database
    /// of the cluster. `drop` closes and removes it.
    public static func make(sqlitePath: String) async throws -> (database: any SQLDatabase, url: String, drop: @Sendable () async -> Void) {
        guard onPostgres else {
            let database = try SQLiteDatabase(path: sqlitePath)
            return (database, "sqlite:\(sqlitePath)", { await database.close() })
        }
        let settings = try await createPostgres()
        let database = try await PostgreSQLDatabase.open(settings)
        // The client's pool runs for the test's life, as `serve` runs it in its service group.
        let running = Task { try await database.run() }
        let url = postgresURL!.replacingOccurrences(of: "/postgres?", with: "/\(settings.database)?")
        return (
            database, url,
            {
                running.cancel()
                _ = await running.result
                await dropPostgres(settings)
            }
        )
    }
}
