import Foundation
import Integration
import JiraEmulator
import Testing

/// The Development panel end to end: GitLab webhooks into the real server, development information out to the
/// emulator acting as Atlassian's gateway (OAuth credentials for self-hosted tools), over HTTP.
@Suite("Development panel, end to end")
struct DevelopmentPanelTests {
    static var cloud: Harness.Options {
        var options = Harness.Options()
        options.deployment = .cloud
        return options
    }

    static let panelSettings: [String: JSONValue] = [
        "development_panel_enabled": true, "jira_oauth_client_id": .string(EmulatedDevelopment.defaultClientID),
        "jira_oauth_client_secret": .string(EmulatedDevelopment.defaultClientSecret),
    ]

    static func sha(_ n: Int) -> String { String(format: "%040x", n + 1) }

    func panel(_ h: Harness, _ key: String) async throws -> JSONValue {
        try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/development/\(key)", headers: [:]).text)
    }

    func gatewayRequests(_ h: Harness) async -> [RecordedRequest] {
        await h.emulator.requests.filter { $0.path.hasPrefix("/jira/devinfo/") }
    }

    @Test("a push with a key: the commit and the branch appear; a push without one sends nothing; a redelivery sends nothing")
    func push() async throws {
        try await Harness.run(Self.cloud) { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
            try await h.configure(Self.panelSettings)
            let body = Payloads.push(ref: "refs/heads/feature/login", commits: [(Self.sha(1), "PROJ-1 log in with SSO")])
            #expect(try await h.webhook("Push Hook", body, key: "push-1").status == 202)
            try await h.settle()
            let shown = try await panel(h, "PROJ-1")
            #expect(shown["commits"]?.array?.map { $0["id"] } == [.string(Self.sha(1))])
            #expect(shown["branches"]?.array?.first?["name"] == "feature/login")
            #expect(shown["commits"]?.array?.first?["repositoryId"] == "gitlab-42")
            let sent = await gatewayRequests(h).count
            #expect(sent == 1)
            // The same webhook again (GitLab's retry): nothing more is sent.
            #expect(try await h.webhook("Push Hook", body, key: "push-1").status == 202)
            // A push that names no key.
            #expect(
                try await h.webhook(
                    "Push Hook", Payloads.push(ref: "refs/heads/chore", commits: [(Self.sha(2), "Tidy up")]), key: "push-2"
                ).status == 202)
            try await h.settle()
            #expect(await gatewayRequests(h).count == sent)
            let log = try await h.deliveries()
            #expect(log.filter { $0["action"] == "development_info" }.count == 1)
            #expect(log.filter { $0["action"] == "comment" }.count == 1, "the comment and the link are still written")
        }
    }

    @Test("20 pushes to one repository in a second cost at most 5 bulk requests, and every commit arrives")
    func burst() async throws {
        try await Harness.run(Self.cloud) { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
            try await h.configure(Self.panelSettings.merging(["commit_events": false]) { $1 })
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<20 {
                    group.addTask {
                        try await h.webhook(
                            "Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(n), "PROJ-1 step \(n)")]), key: "burst-\(n)"
                        ).status
                    }
                }
                for try await status in group { #expect(status == 202) }
            }
            try await h.settle()
            let requests = await gatewayRequests(h)
            #expect(requests.count <= 5, "\(requests.count) bulk requests for 20 pushes")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.count == 20)
        }
    }

    @Test("a merge request opened then merged shows as merged; an older update after the merge leaves it merged; closed unmerged is declined")
    func mergeRequests() async throws {
        try await Harness.run(Self.cloud) { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
            try await h.configure(Self.panelSettings)
            func send(_ action: String, state: String, updated: String, iid: Int = 7, key: String) async throws {
                var doc = Payloads.load("merge_request")
                Payloads.retarget(&doc, defaultBranch: "main")
                var attrs = doc["object_attributes"] as! [String: Any]
                attrs["action"] = action
                attrs["state"] = state
                attrs["updated_at"] = updated
                attrs["iid"] = iid
                attrs["title"] = "PROJ-1 log in"
                attrs["url"] = "https://gitlab.example.com/acme/web/shop/-/merge_requests/\(iid)"
                doc["object_attributes"] = attrs
                let body = String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
                #expect(try await h.webhook("Merge Request Hook", body, key: key).status == 202)
                try await h.settle()
            }
            func status(_ iid: String = "7") async throws -> JSONValue? {
                try await panel(h, "PROJ-1")["pullRequests"]?.array?.first { $0["id"] == .string(iid) }?["status"]
            }
            try await send("open", state: "opened", updated: "2024-03-01T10:00:00Z", key: "mr-1")
            #expect(try await status() == "OPEN")
            try await send("merge", state: "merged", updated: "2024-03-01T11:00:00Z", key: "mr-2")
            #expect(try await status() == "MERGED")
            try await send("update", state: "opened", updated: "2024-03-01T10:30:00Z", key: "mr-3")
            #expect(try await status() == "MERGED", "an older update delivered late does not undo the merge")
            try await send("close", state: "closed", updated: "2024-03-02T09:00:00Z", iid: 8, key: "mr-4")
            #expect(try await status("8") == "DECLINED")
        }
    }

    @Test("a deleted branch is gone from the panel")
    func branchDeleted() async throws {
        try await Harness.run(Self.cloud) { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
            try await h.configure(Self.panelSettings)
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/PROJ-1-login", commits: [(Self.sha(1), "Start")]), key: "b-1")
            try await h.settle()
            #expect(try await panel(h, "PROJ-1")["branches"]?.array?.count == 1)
            var doc = Payloads.load("push")
            Payloads.retarget(&doc, defaultBranch: "main")
            doc["ref"] = "refs/heads/PROJ-1-login"
            doc["before"] = Self.sha(1)
            doc["after"] = String(repeating: "0", count: 40)
            doc["commits"] = []
            _ = try await h.webhook("Push Hook", String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self), key: "b-2")
            try await h.settle()
            #expect(try await panel(h, "PROJ-1")["branches"] == nil)
        }
    }

    @Test("Jira Data Center has no such API: the delivery is skipped with the reason, and comments go on")
    func dataCenterSkipped() async throws {
        try await Harness.run { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
            try await h.configure(Self.panelSettings)
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha(1), "PROJ-1 fix")]), key: "dc-1")
            let log = try await h.settle()
            let panelDelivery = try #require(log.first { $0["action"] == "development_info" })
            #expect(panelDelivery["status"] == "skipped")
            #expect(panelDelivery["last_error"]?.string?.contains("Data Center") == true, "\(panelDelivery)")
            #expect(log.contains { $0["action"] == "comment" && $0["status"] == "succeeded" })
            #expect(await gatewayRequests(h).isEmpty)
        }
    }
}
