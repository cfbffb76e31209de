import Foundation
import Integration
import TestDatabases
import Testing

@testable import Store

/// A migrated store on a fresh database (a SQLite file in a temporary directory, or on the PostgreSQL run a
/// new database of the test cluster), removed after `body`.
func withStore<T>(clock: WallClock = .system, _ body: (SQLStore) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let made = try await TestDatabases.make(sqlitePath: dir.appendingPathComponent("store.sqlite").path)
    let store = SQLStore(database: made.database, secrets: SecretBox(base64Key: SecretBox.generateKey())!, clock: clock)
    do {
        try await store.migrate()
        let result = try await body(store)
        await made.drop()
        return result
    } catch {
        await made.drop()
        throw error
    }
}

func fixture(_ name: String) throws -> Data {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    return try Data(contentsOf: url)
}

func registration(_ id: Int64, _ path: String, branch: String = "main") -> ProjectRegistration {
    ProjectRegistration(
        id: id, pathWithNamespace: path, name: String(path.split(separator: "/").last ?? ""),
        webURL: "https://gitlab.example.com/\(path)", defaultBranch: branch)
}

func activeSettings(_ url: String = "https://jira.example.com") -> JiraSettings {
    var s = JiraSettings()
    s.active = true
    s.url = url
    s.username = "bot"
    s.password = "secret"
    return s
}
