import Foundation
import Integration
@testable import Store

/// A migrated SQLite store in a fresh temporary directory, removed after `body`.
func withStore<T>(clock: WallClock = .system, _ body: (SQLStore) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLStore(path: dir.appendingPathComponent("store.sqlite").path,
                                secrets: SecretBox(base64Key: SecretBox.generateKey())!, clock: clock)
    try await store.migrate()
    return try await body(store)
}

func fixture(_ name: String) throws -> Data {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    return try Data(contentsOf: url)
}

func registration(_ id: Int64, _ path: String, branch: String = "main") -> ProjectRegistration {
    ProjectRegistration(id: id, pathWithNamespace: path, name: String(path.split(separator: "/").last ?? ""),
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

import Testing
