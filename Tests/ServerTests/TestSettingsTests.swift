import Foundation
import Integration
import JiraClient
import JiraEmulator
import Testing

/// Resolves every name to fixed addresses, to test the guard without real DNS.
struct FixedResolver: HostResolver {
    let answer: [IPAddress]
    init(_ addresses: String...) { answer = addresses.compactMap(IPAddress.init(literal:)) }
    func resolve(host: String) async throws -> [IPAddress] { answer }
}

@Suite("Test settings")
struct TestSettingsTests {
    static let path = "/api/v4/projects/42/integrations/jira/test"

    /// Asserts GitLab's failure document and returns its `service_response`.
    func failure(_ r: TestResponse) -> String {
        #expect(r.status == 200)
        #expect(r.json["error"] == true)
        #expect(r.json["message"] == "Connection failed. Check your integration settings.")
        #expect(r.json["test_failed"] == true)
        return r.json["service_response"]?.string ?? "<none>"
    }

    @Test("success merges serverInfo and myself, and reports the deployment type")
    func success() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let r = try await h.admin(.POST, Self.path)
            #expect(r.json["success"] == true, "\(r.text)")
            #expect(r.json["deployment_type"] == "server")
            #expect(r.json["server_info"]?["deploymentType"] == "Server")
            #expect(r.json["myself"]?["name"] == "jira-bot")
            #expect(r.json["issuetypes"] == nil)
            let calls = await h.emulator.requests.map { "\($0.method) \($0.path)" }
            #expect(calls.suffix(2) == ["GET /rest/api/2/serverInfo", "GET /rest/api/2/myself"])
        }
    }

    @Test("unsaved values are tested without being saved, and list issue types when vulnerabilities are on")
    func unsavedValues() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["password": "wrong"]))
            await h.emulator.addProject(key: "SEC")
            let r = try await h.admin(
                .POST, Self.path,
                json: [
                    "password": "secret-token", "vulnerabilities_enabled": true,
                    "project_key": "SEC", "vulnerabilities_issuetype": "10001",
                ])
            #expect(r.json["success"] == true, "\(r.text)")
            let names = r.json["issuetypes"]?.array?.compactMap { $0["name"]?.string }
            #expect(names == ["Bug", "Task", "Story"], "subtasks are left out")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "wrong")
            #expect(try await h.store.integration(at: .project(42))?.settings.vulnerabilitiesEnabled == false)
        }
    }

    @Test("invalid unsaved values answer Validations failed")
    func validationsFailed() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await h.admin(.POST, Self.path, json: ["active": true, "url": "herp-and-derp", "username": "u", "password": "p"])
            #expect(r.json == ["error": true, "message": "Validations failed.", "service_response": "Url must be a valid URL", "test_failed": false])
        }
    }

    @Test("Jira refusing the credentials (401) or the data (403), and 404")
    func httpFailures() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            #expect(failure(try await h.admin(.POST, Self.path, json: ["password": "nope"])) == "Unauthorized")
            await h.emulator.addFault(EmulatedFault(pathContains: "/myself", status: 403))
            let forbidden = failure(try await h.admin(.POST, Self.path))
            #expect(forbidden.contains("Forbidden"), "\(forbidden)")
            await h.emulator.addFault(EmulatedFault(pathContains: "/serverInfo", status: 404))
            #expect(failure(try await h.admin(.POST, Self.path)).contains("Not Found"))
        }
    }

    @Test("connection refused")
    func connectionRefused() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await h.admin(.POST, Self.path, json: h.workingSettings(["url": "http://127.0.0.1:1"]))
            #expect(!failure(r).isEmpty)
        }
    }

    @Test("a Jira that does not answer in time")
    func timeout() async throws {
        var options = Harness.Options()
        options.timeouts = .init(connect: .seconds(2), read: .milliseconds(500), total: .seconds(2))
        try await Harness.run(options) { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            await h.emulator.addFault(EmulatedFault(pathContains: "/serverInfo", delayMilliseconds: 3000))
            #expect(failure(try await h.admin(.POST, Self.path)).lowercased().contains("timeout"))
        }
    }

    @Test("a TLS handshake that fails")
    func tlsFailure() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let https = h.emulatorURL.replacingOccurrences(of: "http://", with: "https://")
            let text = failure(try await h.admin(.POST, Self.path, json: h.workingSettings(["url": .string(https)])))
            #expect(text.contains("SSL") || text.contains("TLS") || text.contains("handshake"), "\(text)")
            #expect(
                !text.contains(".swift") && !text.contains(".cc") && !text.contains("/work/") && !text.contains("/.build"),
                "no build path of a dependency: \(text)")
        }
    }

    @Test("a name that resolves to a private address is refused after resolution")
    func refusedLocalAddress() async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        options.resolver = FixedResolver("10.0.0.7")
        try await Harness.run(options) { h in
            try await h.registerProject()
            let r = try await h.admin(.POST, Self.path, json: h.workingSettings(["url": "http://jira.internal.test"]))
            #expect(failure(r) == "URL is blocked: Requests to the local network are not allowed")
            #expect(await h.emulator.requests.isEmpty, "nothing was sent")
        }
    }

    @Test("the client connects to the address the guard checked, not to a second resolution of the name (DNS rebinding)")
    func connectsToCheckedAddress() async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        options.outboundAllowlist = [IPNetwork("127.0.0.1")!]
        // Only the guard's resolver knows this name: the system's cannot resolve it (.invalid never resolves),
        // so the request can only reach the emulator through the address the guard checked.
        options.resolver = FixedResolver("127.0.0.1")
        try await Harness.run(options) { h in
            try await h.registerProject()
            let port = try #require(URLComponents(string: h.emulatorURL)?.port)
            let r = try await h.admin(.POST, Self.path, json: h.workingSettings(["url": .string("http://jira.rebinding.invalid:\(port)")]))
            #expect(r.json["success"] == true, "\(r.text)")
            #expect(await h.emulator.requests.contains { $0.path.hasSuffix("/serverInfo") })
        }
        // And an allowlisted local address is the only one let through.
        var strict = Harness.Options()
        strict.allowLocalRequests = false
        strict.outboundAllowlist = [IPNetwork("10.1.2.0/24")!]
        strict.resolver = FixedResolver("127.0.0.1")
        try await Harness.run(strict) { h in
            try await h.registerProject()
            let r = try await h.admin(.POST, Self.path, json: h.workingSettings(["url": "http://jira.rebinding.invalid"]))
            #expect(failure(r) == "URL is blocked: Requests to localhost are not allowed")
        }
    }

    @Test("every answer of the resolver is checked: one private address among public ones is refused")
    func mixedResolution() async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        options.resolver = FixedResolver("93.184.216.34", "127.0.0.1")
        try await Harness.run(options) { h in
            try await h.registerProject()
            let r = try await h.admin(.POST, Self.path, json: h.workingSettings(["url": "http://jira.rebinding.test"]))
            #expect(failure(r) == "URL is blocked: Requests to localhost are not allowed")
            #expect(await h.emulator.requests.isEmpty)
        }
    }

    @Test(
        "other spellings of loopback and special-purpose addresses are refused when settings are saved",
        arguments: [
            "http://0x7f000001:9000", "http://2130706433", "http://127.1", "http://0177.0.0.1", "http://[::127.0.0.1]",
            "http://[64:ff9b::7f00:1]", "http://[2002:7f00:1::]", "http://198.18.0.1", "http://224.0.0.1", "http://255.255.255.255",
            "http://localhost.", "http://1.2.3.256",
        ])
    func refusedSpellings(_ url: String) async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        try await Harness.run(options) { h in
            try await h.registerProject()
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["url": .string(url)]))
            #expect(r.status == 400, "\(url): \(r.text)")
            #expect(r.json["message"]?["url"]?.array?.first?.string?.hasPrefix("is blocked: Requests to") == true, "\(url): \(r.text)")
        }
    }

    @Test("issue types come from the project_key's project without subtasks, 400 when not configured")
    func issueTypes() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let none = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/issue_types")
            #expect(none.status == 400)
            #expect(none.json["message"] == "Jira service not configured.")
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["project_key": "MISSING"]))
            let r = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/issue_types")
            #expect(r.json.array?.map { $0["id"]! } == ["10001", "10002", "10003"], "falls back to all issue types")
            #expect(r.json.array?.first?["description"] != nil)
            await h.emulator.addFault(EmulatedFault(pathContains: "/issuetype", status: 500))
            let failed = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/issue_types")
            #expect(failed.status == 502)
            #expect(
                failed.json["message"]
                    == "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again.")
        }
    }
}
