import Foundation
import Integration
import TestDatabases
import Testing

@testable import Store

/// The migrations on a real PostgreSQL server: the throwaway cluster `scripts/test` starts
/// (`JIRA_BRIDGE_TEST_POSTGRES_URL`). Without one (a bare `swift test`), these are skipped.
let testPostgresURL = ProcessInfo.processInfo.environment["JIRA_BRIDGE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("PostgreSQL migrations", .enabled(if: testPostgresURL != nil))
struct PostgresMigrationTests {
    static var serverURL: String? { testPostgresURL }

    /// A fresh database on the test server, dropped afterwards.
    func withDatabase<T: Sendable>(_ body: @Sendable (PostgresSettings) async throws -> T) async throws -> T {
        let settings = try await TestDatabases.createPostgres()
        do {
            let result = try await body(settings)
            await TestDatabases.dropPostgres(settings)
            return result
        } catch {
            await TestDatabases.dropPostgres(settings)
            throw error
        }
    }

    @Test("every migration applies on PostgreSQL, and a second run applies nothing")
    func applies() async throws {
        try await withDatabase { settings in
            let migrator = PostgresMigrator(settings: settings)
            let first = try await migrator.migrate()
            #expect(first == Migrations.all(for: .postgres).map(\.name))
            #expect(try await migrator.migrate().isEmpty)
            let tables = try await migrator.tables()
            for table in [
                "groups", "projects", "api_tokens", "integrations", "events", "event_payloads", "deliveries", "web_sessions",
                "vulnerabilities", "workers", "schema_migrations",
            ] {
                #expect(tables.contains(table), "\(table)")
            }
        }
    }

    @Test("processes that start together migrate once (the advisory lock)")
    func concurrentStarts() async throws {
        try await withDatabase { settings in
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await PostgresMigrator(settings: settings).migrate() } }
                var all: [[String]] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.filter { !$0.isEmpty }.count == 1, "\(results)")
            #expect(results.flatMap { $0 } == Migrations.all(for: .postgres).map(\.name))
        }
    }

    @Test("an unreachable server is one clear error, not a hang")
    func unreachable() async throws {
        guard case .postgres(var settings) = try DatabaseURL.parse(try #require(Self.serverURL)) else { Issue.record("a PostgreSQL URL"); return }
        settings.port = 1
        settings.password = "hunter2"
        await #expect { try await PostgresMigrator(settings: settings).migrate() } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/") && !text.contains("hunter2")
        }
    }
}
