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

            let inactive = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["active": false, "api_url": "https://jira-api.example.com"])
            #expect(inactive.status == 200, "\(inactive.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == nil)
        }
    }

    @Test("the same url, or a new username, keeps the password")
    func sameURLKeeps() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let r = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["url": .string(h.emulatorURL + "/"), "username": "alice"])
            #expect(r.status == 200, "\(r.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "secret-token")
            let withNew = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["url": "https://jira.example.com", "password": "new-pass"])
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
            responses.append(
                try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["password": .string(password)])).text)
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

@Suite("Hostile credentials")
struct HostileCredentialTests {
    /// Values a user pastes by mistake or an attacker types: each must be refused at save, and, when one is in
    /// the store already (saved before this rule, or written by hand), no error path may show it.
    static let unique = UUID().uuidString.prefix(8)
    static let hostile: [String] = [
        "tok-\(unique)-nl\n", "tok-\(unique)-crlf\r\nX-Injected: yes", "tok-\(unique)-nul\u{0}rest", "tok-\(unique)-tab\tend",
    ]

    @Test("a credential with CR, LF, NUL or another control character is refused at save, in GitLab's words", arguments: [0, 1, 2, 3])
    func refusedAtSave(_ index: Int) async throws {
        let value = Self.hostile[index]
        try await Harness.run { h in
            try await h.registerProject()
            let password = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings(["password": .string(value), "jira_auth_type": 1, "username": ""]))
            #expect(password.status == 400)
            #expect(password.json["message"]?["password"] == ["cannot contain line breaks or other control characters"], "\(password.text)")
            let username = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["username": .string(value)]))
            #expect(username.status == 400)
            let hook = try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": .string(value)])
            #expect(hook.status == 400, "\(hook.text)")
            for text in [password.text, username.text, hook.text] { #expect(!text.contains("tok-\(Self.unique)")) }
            #expect(try await h.store.integration(at: .project(42)) == nil, "nothing was saved")
        }
    }

    @Test("a 25 MB credential is refused at save (the connection closes after the 413) and never echoed")
    func hugeCredential() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let huge = String(repeating: "k", count: 25 << 20)
            if let r = try? await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["password": .string(huge)])) {
                #expect(r.status == 413)
                #expect(r.text.count < 10_000)
            }
            let long = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings(["password": .string(String(repeating: "k", count: 300_000))]))
            #expect(long.status == 400)
            #expect(long.text.count < 1000)
            let hook = try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": .string(String(repeating: "k", count: 2000))])
            #expect(hook.status == 400)
            #expect(hook.text.count < 1000)
            #expect(try await h.store.integration(at: .project(42)) == nil)
        }
    }

    @Test(
        "stored credentials with a line break, for every auth type, appear in no answer, log line or stored error, and pause their deliveries",
        arguments: [(0, 0), (1, 1), (2, 2), (0, 4)])
    func storedHostileNeverShown(_ authType: Int, _ valueIndex: Int) async throws {
        var options = Harness.Options()
        options.deployment = authType == 2 ? .cloud : .server
        try await Harness.run(options) { h in
            try await h.registerProject()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            var extra: [String: JSONValue] = ["jira_auth_type": .number(Double(authType))]
            if authType == 2 { extra["username"] = ""; extra["api_url"] = .string(h.emulatorURL + "/ex/jira/\(h.emulator.cloudID)") }
            if authType == 1 { extra["username"] = "" }
            let saved = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(extra))
            #expect(saved.status == 200, "\(saved.text)")
            // Written behind the API's back, as a value saved before the rule would be.
            var record = try #require(try await h.store.integration(at: .project(42)))
            // 4: 25 MB with no control character, which Jira's server refuses as a header far too large.
            record.settings.password = valueIndex < 4 ? Self.hostile[valueIndex] : "tok-\(Self.unique)-" + String(repeating: "k", count: 25 << 20)
            _ = try await h.store.saveIntegration(at: .project(42), settings: record.settings)
            var answers: [String] = []
            let test = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            answers.append(test.text)
            #expect(test.json["error"]?.string?.isEmpty == false || test.json["service_response"] != nil, "\(test.text)")
            answers.append(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/issues").text)
            let push = try await h.webhook("Push Hook", Payloads.push(commits: [(String(repeating: "a", count: 40), "PROJ-1 fix")]))
            #expect(push.status == 202)
            let deliveries = try await h.settle()
            #expect(!deliveries.isEmpty)
            for d in deliveries where valueIndex < 4 {
                #expect(d["status"] == "paused", "a control character in the credentials pauses like a rejection: \(d)")
                #expect(d["last_error"]?.string?.contains("control character") == true, "\(d)")
            }
            if valueIndex < 4 { #expect(test.text.contains("control character"), "\(test.text)") }
            answers.append(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").text)
            answers.append(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").text)
            let markers = ["tok-\(Self.unique)", "X-Injected"]
            for text in answers { for m in markers { #expect(!text.contains(m), "answer shows \(m): \(text.prefix(300))") } }
            for line in h.logs.all { for m in markers { #expect(!line.contains(m), "log shows \(m): \(line.prefix(300))") } }
            let stored = try await h.storedBytes()
            for m in markers { #expect(stored.range(of: Data(m.utf8)) == nil, "the database holds \(m) in clear") }
        }
    }
}
