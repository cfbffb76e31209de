import Foundation
import Integration
import Store
import Testing

@Suite("Secret rules")
struct SecretRulesTests {
    @Test("a blank password keeps the stored one")
    func blankKeeps() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["password": "", "jira_issue_prefix": "x"])
            #expect(r.status == 200, "\(r.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "secret-token")
        }
    }

    @Test("changing url or api_url without a new password clears it")
    func urlChangeClears() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let active = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["url": "https://jira.example.com"])
            #expect(active.status == 400)
            #expect(active.json["message"]?["password"] == ["can't be blank"])
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "secret-token", "a failed save changes nothing")

            let inactive = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["active": false, "api_url": "https://jira-api.example.com"])
            #expect(inactive.status == 200, "\(inactive.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == nil)
        }
    }

    @Test("the same url, or a new username, keeps the password")
    func sameURLKeeps() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["url": .string(h.emulatorURL + "/"), "username": "alice"])
            #expect(r.status == 200, "\(r.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "secret-token")
            let withNew = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["url": "https://jira.example.com", "password": "new-pass"])
            #expect(withNew.status == 200)
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "new-pass")
        }
    }

    @Test("the password is never returned, never logged and never stored in clear")
    func neverLeaks() async throws {
        let password = "pw-\(UUID().uuidString)"
        try await Harness.run { h in
            try await h.registerProject()
            var responses: [String] = []
            responses.append(try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["password": .string(password)])).text)
            responses.append(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").text)
            responses.append(try await h.admin(.GET, "/api/v4/projects/42/integrations").text)
            responses.append(try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test").text)
            responses.append(try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test", json: ["url": "nope"]).text)
            responses.append(try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_issue_regex": "(("]).text)
            for text in responses { #expect(!text.contains(password)) }
            #expect(!h.logs.all.isEmpty)
            #expect(!h.logs.all.contains { $0.contains(password) })
            let base64 = Data("jira-bot:\(password)".utf8).base64EncodedString()
            #expect(!h.logs.all.contains { $0.contains(base64) })
            let database = try await h.storedBytes()
            #expect(database.range(of: Data(password.utf8)) == nil)
            #expect(try await h.store.integration(at: .project(42))?.settings.password == password, "it decrypts back")
        }
    }

    @Test("a wrong secret key cannot read stored credentials")
    func wrongKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("db.sqlite").path
        let first = try SQLStore(path: path, secrets: SecretBox(base64Key: SecretBox.generateKey())!)
        try await first.migrate()
        var s = JiraSettings()
        s.password = "p"
        _ = try await first.saveIntegration(at: .instance, settings: s)
        let second = try SQLStore(path: path, secrets: SecretBox(base64Key: SecretBox.generateKey())!)
        await #expect(throws: StoreError.corruptSecret) { try await second.integration(at: .instance) }
    }
}
