import Foundation
import Integration
import JiraEmulator
import Testing

/// `jira_auth_type` 2, the Jira Cloud service account (GitLab MR !224187): the scoped token as `Bearer` to
/// Atlassian's gateway (`api_url` = `<gateway>/ex/jira/<cloud id>`), no username; against the emulator's gateway.
@Suite("Jira Cloud service accounts")
struct ServiceAccountTests {
    static func cloud() -> Harness.Options {
        var options = Harness.Options()
        options.deployment = .cloud
        return options
    }

    func serviceAccount(_ h: Harness, cloudID: String? = nil, extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var doc: [String: JSONValue] = [
            "jira_auth_type": 2, "username": "", "password": "sa-scoped-token",
            "api_url": .string("\(h.emulatorURL)/ex/jira/\(cloudID ?? h.emulator.cloudID)"),
        ]
        for (k, v) in extra { doc[k] = v }
        return doc
    }

    @Test("Test settings passes through the gateway with the Bearer token, and the site is detected as Cloud")
    func testSettings() async throws {
        try await Harness.run(Self.cloud()) { h in
            try await h.configure(serviceAccount(h))
            let read = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(read.json["properties"]?["jira_auth_type"] == 2)
            #expect(read.json["properties"]?["deployment_type"] == "cloud")
            #expect(!read.text.contains("sa-scoped-token"))
            let test = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(test.json["success"] == true, "\(test.text)")
            #expect(test.json["myself"]?["emailAddress"] == "jira-bridge-sa@serviceaccount.atlassian.com")
            let requests = await h.emulator.requests
            #expect(!requests.isEmpty && requests.allSatisfy { $0.authScheme == "Bearer" })
            // A wrong cloud id is a failed test, not a success somewhere else.
            let moved = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings(serviceAccount(h, cloudID: "00000000-0000-0000-0000-000000000000")))
            #expect(moved.status == 200, "\(moved.text)")
            let wrong = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(wrong.json["error"] == true && wrong.json["test_failed"] == true, "\(wrong.text)")
        }
    }

    @Test("mentions and a closing reference reach Jira through the gateway with the Bearer token")
    func deliveries() async throws {
        try await Harness.run(Self.cloud()) { h in
            try await h.configure(serviceAccount(h, extra: ["jira_issue_transition_automatic": true]))
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook(
                "Push Hook", Payloads.push(commits: [("5a1e0c0ffee5a1e0c0ffee5a1e0c0ffee5a1e0c0", "Fix the form, closes PROJ-1")]))
            let log = try await h.settle(expecting: 3)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            let issue = try #require(await h.emulator.issue("PROJ-1"))
            #expect(issue.comments.count == 1 && issue.remoteLinks.count == 1 && issue.resolution != nil)
            let writes = await h.emulator.requests.filter { $0.method == "POST" }
            #expect(writes.count >= 3 && writes.allSatisfy { $0.authScheme == "Bearer" && $0.status < 300 })
        }
    }

    @Test("the gateway refuses Basic credentials and the service token outside it; Server has no gateway")
    func emulatorGateway() async throws {
        try await Harness.run(Self.cloud()) { h in
            let base = "\(h.emulatorURL)/ex/jira/\(h.emulator.cloudID)/rest/api/2/myself"
            let bearer = try await h.get(base, headers: ["Authorization": "Bearer sa-scoped-token"])
            #expect(bearer.status == 200)
            let direct = try await h.get("\(h.emulatorURL)/rest/api/2/myself", headers: ["Authorization": "Bearer sa-scoped-token"])
            #expect(direct.status == 401)
            let tenant = try await h.get("\(h.emulatorURL)/_edge/tenant_info", headers: [:])
            #expect(tenant.json["cloudId"] == .string(h.emulator.cloudID))
        }
        try await Harness.run { h in
            let server = try await h.get("\(h.emulatorURL)/ex/jira/\(h.emulator.cloudID)/rest/api/2/serverInfo", headers: [:])
            #expect(server.status == 404)
        }
    }
}
