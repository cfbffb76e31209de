import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import NIOCore
import TestDatabases
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

    /// The repository with the panel on, and (by default) comments and links too.
    func setUp(_ h: Harness, _ forge: PanelForge, _ extra: [String: JSONValue] = [:]) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
        try await forge.configure(h, Self.panelSettings.merging(extra) { $1 })
    }

    @Test(
        "a push with a key: the commit and the branch appear, with the answer in the log; a push without one sends nothing; a redelivery sends nothing",
        arguments: PanelForge.allCases)
    func push(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            try await setUp(h, forge)
            #expect(try await forge.push(h, branch: "feature/login", commits: [(Self.sha(1), "PROJ-1 log in with SSO")], delivery: "push-1") == 202)
            try await forge.settle(h)
            let shown = try await panel(h, "PROJ-1")
            #expect(shown["commits"]?.array?.map { $0["id"] } == [.string(Self.sha(1))])
            #expect(shown["commits"]?.array?.first?["repositoryId"] == .string(forge.repositoryID))
            #expect(shown["commits"]?.array?.first?["url"]?.string?.hasPrefix(forge.webURL) == true)
            #expect(shown["branches"]?.array?.first?["name"] == "feature/login")
            #expect(shown["branches"]?.array?.first?["createPullRequestUrl"]?.string?.hasPrefix(forge.webURL + "/") == true)
            let sent = await gatewayRequests(h).count
            #expect(sent == 1)
            // The same webhook again (the forge's retry): nothing more is sent.
            #expect(try await forge.push(h, branch: "feature/login", commits: [(Self.sha(1), "PROJ-1 log in with SSO")], delivery: "push-1") == 202)
            // A push that names no key.
            #expect(try await forge.push(h, branch: "chore", commits: [(Self.sha(2), "Tidy up")], delivery: "push-2") == 202)
            let log = try await forge.settle(h)
            #expect(await gatewayRequests(h).count == sent)
            let panelLog = log.filter { $0["action"] == "development_info" }
            #expect(panelLog.count == 1)
            #expect(panelLog.first?["answer"] == "Jira accepted 1 commit, branch feature/login", "\(panelLog)")
            #expect(panelLog.first?["last_error"] == .null)
            #expect(panelLog.first?["development_info"]?["commits"] == .array([.string(Self.sha(1))]))
            #expect(panelLog.first?["development_info"]?["repository_id"] == .string(forge.repositoryID))
            if forge == .gitlab {
                #expect(log.filter { $0["action"] == "comment" }.count == 1, "the comment and the link are still written")
            }
        }
    }

    @Test("a push whose key Jira does not know: accepted, and the log names the unknown key")
    func unknownKey() async throws {
        try await Harness.run(Self.cloud) { h in
            try await setUp(h, .gitlab, ["commit_events": false])
            #expect(try await PanelForge.gitlab.push(h, branch: "feature", commits: [(Self.sha(1), "OPS-404 and PROJ-1")], delivery: "u-1") == 202)
            let log = try await h.settle()
            let d = try #require(log.first { $0["action"] == "development_info" })
            #expect(d["status"] == "succeeded")
            #expect(d["answer"]?.string?.contains("Jira knows no issue OPS-404") == true, "\(d)")
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

    @Test(
        "a merge request opened then merged shows as merged; an older update after the merge leaves it merged; closed unmerged is declined",
        arguments: PanelForge.allCases)
    func mergeRequests(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            try await setUp(h, forge, ["commit_events": false, "merge_requests_events": false])
            func send(_ state: PanelForge.ChangeState, updated: String, number: Int = 7, delivery: String) async throws {
                #expect(try await forge.change(h, state, number: number, title: "PROJ-1 log in", updated: updated, delivery: delivery) == 202)
                try await forge.settle(h)
            }
            func shown(_ number: Int = 7) async throws -> JSONValue? {
                try await panel(h, "PROJ-1")["pullRequests"]?.array?.first { $0["id"] == .string(String(number)) }
            }
            try await send(.opened, updated: "2024-03-01T10:00:00Z", delivery: "mr-1")
            #expect(try await shown()?["status"] == "OPEN")
            #expect(try await shown()?["displayId"] == .string(forge.displayID(7)))
            #expect(try await shown()?["url"]?.string?.hasPrefix(forge.webURL + "/") == true)
            try await send(.merged, updated: "2024-03-01T11:00:00Z", delivery: "mr-2")
            #expect(try await shown()?["status"] == "MERGED")
            try await send(.updated, updated: "2024-03-01T10:30:00Z", delivery: "mr-3")
            #expect(try await shown()?["status"] == "MERGED", "an older update delivered late does not undo the merge")
            try await send(.closed, updated: "2024-03-02T09:00:00Z", number: 8, delivery: "mr-4")
            #expect(try await shown(8)?["status"] == "DECLINED")
            #expect(try await forge.settle(h).allSatisfy { $0["status"] == "succeeded" })
        }
    }

    @Test("a deleted branch is gone from the panel; a branch of the same name deleted again later is deleted again", arguments: PanelForge.allCases)
    func branchDeleted(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            try await setUp(h, forge, ["commit_events": false])
            _ = try await forge.push(h, branch: "PROJ-1-login", commits: [(Self.sha(1), "Start")], delivery: "b-1")
            try await forge.settle(h)
            #expect(try await panel(h, "PROJ-1")["branches"]?.array?.count == 1)
            #expect(try await forge.deleteBranch(h, branch: "PROJ-1-login", head: Self.sha(1), delivery: "b-2") == 202)
            let log = try await forge.settle(h)
            #expect(try await panel(h, "PROJ-1")["branches"] == nil)
            #expect(log.first?["development_info"]?["deleted_branch"] == "PROJ-1-login", "\(log)")
            #expect(log.first?["answer"] == .string("Jira deleted branch PROJ-1-login of \(forge.repositoryID)"))
            // Pushed again, and deleted again.
            _ = try await forge.push(h, branch: "PROJ-1-login", commits: [(Self.sha(2), "Again")], delivery: "b-3")
            try await forge.settle(h)
            #expect(try await panel(h, "PROJ-1")["branches"]?.array?.count == 1)
            #expect(try await forge.deleteBranch(h, branch: "PROJ-1-login", head: Self.sha(2), delivery: "b-4") == 202)
            try await forge.settle(h)
            #expect(try await panel(h, "PROJ-1")["branches"] == nil)
        }
    }

    @Test("Jira Data Center has no such API: the delivery is skipped with the reason, and comments go on", arguments: PanelForge.allCases)
    func dataCenterSkipped(_ forge: PanelForge) async throws {
        try await Harness.run { h in
            try await setUp(h, forge)
            _ = try await forge.push(h, branch: "feature", commits: [(Self.sha(1), "PROJ-1 fix")], delivery: "dc-1")
            let log = try await forge.settle(h)
            let panelDelivery = try #require(log.first { $0["action"] == "development_info" })
            #expect(panelDelivery["status"] == "skipped")
            #expect(panelDelivery["last_error"]?.string?.contains("Data Center") == true, "\(panelDelivery)")
            #expect(log.contains { $0["action"] == "comment" && $0["status"] == "succeeded" })
            #expect(await gatewayRequests(h).isEmpty)
        }
    }

    /// The repository with the panel on and comments and links off: only development information is sent.
    func panelOnly(_ h: Harness, _ forge: PanelForge = .gitlab, _ extra: [String: JSONValue] = [:]) async throws {
        try await setUp(h, forge, ["commit_events": false].merging(extra) { $1 })
    }

    func pushOne(_ h: Harness, _ n: Int, _ forge: PanelForge = .gitlab) async throws {
        #expect(try await forge.push(h, branch: "feature", commits: [(Self.sha(n), "PROJ-1 step \(n)")], delivery: "p-\(n)") == 202)
    }

    /// The forge's first delivery that waits for a retry.
    func waiting(_ h: Harness, _ forge: PanelForge) async throws -> JSONValue {
        var found: JSONValue? = nil
        try await eventually(timeout: .seconds(30)) {
            found = try await forge.deliveries(h).first { $0["status"] == "pending" && ($0["attempts"]?.number ?? 0) >= 1 }
            return found != nil
        }
        return try #require(found)
    }

    @Test("a 429 with Retry-After: the delivery waits as long as Atlassian says, and the site is held", arguments: PanelForge.allCases)
    func rateLimited(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h, forge)
            await h.emulator.addFault(EmulatedFault(pathContains: "/jira/devinfo/", status: 429, retryAfter: 40, times: 1))
            try await pushOne(h, 1, forge)
            let d = try await waiting(h, forge)
            #expect(d["action"] == "development_info")
            #expect(try JiraCloudLimitsTests.seconds(d) >= 20, "\(d)")
            #expect(try await h.store.rateLimitHolds(now: h.store.clock.now()).count == 1)
        }
    }

    @Test(
        "the token endpoint refusing the credentials pauses the deliveries; saving the right credentials resumes them",
        arguments: PanelForge.allCases)
    func refusedThenReplaced(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h, forge, ["jira_oauth_client_secret": "not-the-secret"])
            try await pushOne(h, 1, forge)
            try await pushOne(h, 2, forge)
            let paused = try await forge.settle(h)
            #expect(paused.count == 2 && paused.allSatisfy { $0["status"] == "paused" }, "\(paused)")
            #expect(paused.first?["last_error"]?.string?.contains("OAuth credentials") == true, "\(paused)")
            #expect(try await panel(h, "PROJ-1")["commits"] == nil)
            // The pages say so: project, delivery log and settings.
            let cookie = try await JiraCloudLimitsTests.session(h)
            for path in ["", "/integrations/jira/deliveries", "/settings/integrations/jira"].map({ "/projects/\(forge.address)" + $0 }) {
                let page = try await h.request(.GET, path, headers: [("Cookie", cookie)])
                #expect(page.text.contains("id=\"credentials-rejected\""), "\(path)")
                #expect(
                    page.text.contains("Atlassian refused the Development panel&#39;s OAuth credentials")
                        || page.text.contains("Atlassian refused the Development panel's OAuth credentials"), "\(path)")
            }
            let saved = try await h.admin(
                .PUT, "/api/v4/projects/\(forge.address)/integrations/jira",
                json: ["jira_oauth_client_secret": .string(EmulatedDevelopment.defaultClientSecret)])
            #expect(saved.status == 200, "\(saved.text)")
            let done = try await forge.settle(h)
            #expect(done.allSatisfy { $0["status"] == "succeeded" }, "\(done)")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.count == 2)
        }
    }

    @Test("credentials without the Development information permission: failed, with the reason", arguments: PanelForge.allCases)
    func forbidden(_ forge: PanelForge) async throws {
        try await Harness.run(Self.cloud) { h in
            let added = try await h.http.execute(
                Self.post(
                    h.emulatorURL + "/_emulator/oauth_clients", #"{"client_id": "builds-only", "client_secret": "s", "permissions": ["builds"]}"#),
                timeout: .seconds(10))
            #expect(added.status == .created)
            try await panelOnly(h, forge, ["jira_oauth_client_id": "builds-only", "jira_oauth_client_secret": "s"])
            try await pushOne(h, 1, forge)
            let log = try await forge.settle(h)
            let d = try #require(log.first { $0["action"] == "development_info" })
            #expect(d["status"] == "failed", "\(d)")
            #expect(d["last_error"]?.string?.contains("lack the Development information permission") == true, "\(d)")
        }
    }

    @Test("one token serves a burst; neither the client secret nor the token is ever logged, returned or stored in clear")
    func tokenSharedAndSecret() async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<10 { group.addTask { try await pushOne(h, n) } }
                try await group.waitForAll()
            }
            try await h.settle()
            let issued = try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/oauth", headers: [:]).text)["tokens_issued"]
            #expect(issued == 1, "one token for all of them")
            let secret = EmulatedDevelopment.defaultClientSecret
            let tokens = await h.emulator.requests.compactMap { $0.path == "/oauth/token" ? $0.body : nil }
            #expect(!tokens.isEmpty)
            #expect(!h.logs.all.contains { $0.contains(secret) })
            let cookie = try await JiraCloudLimitsTests.session(h)
            var answers = [
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").text,
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").text,
                try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test").text,
                try await h.admin(.GET, "/api/v4/groups").text,
            ]
            for path in ["/projects/42", "/projects/42/integrations/jira/deliveries", "/projects/42/settings/integrations/jira"] {
                answers.append(try await h.request(.GET, path, headers: [("Cookie", cookie)]).text)
            }
            // The emulator's tokens are `at-<UUID>`.
            let token = /at-[0-9A-F]{8}-[0-9A-F]{4}-/
            for text in answers {
                #expect(!text.contains(secret))
                #expect(text.firstMatch(of: token) == nil)
            }
            #expect(!h.logs.all.contains { $0.firstMatch(of: token) != nil })
            #expect(String(decoding: try await h.storedBytes(), as: UTF8.self).firstMatch(of: token) == nil)
            #expect(try await h.storedBytes().range(of: Data(secret.utf8)) == nil)
        }
    }

    @Test("Test settings fetches a token and reports the cloud id, or why it failed, never the secret")
    func testSettings() async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h)
            let ok = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(ok.json["success"] == true, "\(ok.text)")
            #expect(ok.json["development_panel"]?["success"] == true)
            #expect(ok.json["development_panel"]?["cloud_id"] == .string(h.emulator.cloudID))
            let wrong = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test", json: ["jira_oauth_client_secret": "guess"])
            #expect(wrong.json["development_panel"]?["success"] == false)
            #expect(wrong.json["development_panel"]?["message"]?.string?.contains("refused the OAuth credentials") == true, "\(wrong.text)")
            #expect(!wrong.text.contains("guess") && !ok.text.contains(EmulatedDevelopment.defaultClientSecret))
        }
        // On Data Center it says there is no such API.
        try await Harness.run { h in
            try await h.configure(Self.panelSettings)
            let r = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(r.json["development_panel"]?["success"] == false)
            #expect(r.json["development_panel"]?["message"]?.string?.contains("Data Center") == true, "\(r.text)")
        }
    }

    @Test("a token is kept until a minute before it expires, then fetched again (on the test's clock, with the emulator's lifetime)")
    func tokenRefresh() async throws {
        var options = Self.cloud
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            let lifetime = try await h.http.execute(Self.post(h.emulatorURL + "/_emulator/oauth", #"{"token_lifetime": 120}"#), timeout: .seconds(10))
            #expect(lifetime.status == .ok)
            try await panelOnly(h)
            func issued() async throws -> JSONValue? {
                try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/oauth", headers: [:]).text)["tokens_issued"]
            }
            try await pushOne(h, 1)
            try await h.settle()
            #expect(try await issued() == 1)
            clock.advance(by: .seconds(30))
            try await pushOne(h, 2)
            try await h.settle()
            #expect(try await issued() == 1, "30 s later the token is still good")
            clock.advance(by: .seconds(31))
            try await pushOne(h, 3)
            try await h.settle()
            #expect(try await issued() == 2, "within a minute of its expiry it is fetched again")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.count == 3)
        }
    }

    @Test("a 413 (too large) sends half of the waiting changes again, and the rest after: nothing is lost or failed")
    func tooLarge() async throws {
        var options = Self.cloud
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            try await panelOnly(h)
            // The first push waits out a 429, so that the next ones pile up behind it.
            await h.emulator.addFault(EmulatedFault(pathContains: "/jira/devinfo/", status: 429, retryAfter: 5, times: 1))
            try await pushOne(h, 0)
            _ = try await JiraCloudLimitsTests.waiting(h)
            for n in 1..<12 { try await pushOne(h, n) }
            try await eventually { try await h.store.queueDepth().events == 0 }
            await h.emulator.addFault(EmulatedFault(pathContains: "/jira/devinfo/", status: 413, times: 1))
            // The clock moves a second at a time until the 429's wait is over and everything ran (the loop may
            // start its wait on the clock after any one move).
            try await eventually(timeout: .seconds(30)) {
                clock.advance(by: .seconds(1))
                return try await h.deliveries().allSatisfy { $0["status"] == "succeeded" }
            }
            let log = try await h.settle()
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.count == 12)
            let statuses = await gatewayRequests(h).map(\.status)
            #expect(statuses.filter { $0 == 413 }.count == 1 && statuses.filter { $0 == 429 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 202 }.count >= 2, "the half sent again, then the rest: \(statuses)")
        }
    }

    /// A POST with a JSON body, for the emulator's control API.
    static func post(_ url: String, _ json: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        return request
    }
}
