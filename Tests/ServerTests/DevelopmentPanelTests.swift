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

    /// Project 42 with the panel on and comments and links off: only development information is sent.
    func panelOnly(_ h: Harness, _ extra: [String: JSONValue] = [:]) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
        try await h.configure(Self.panelSettings.merging(["commit_events": false]) { $1 }.merging(extra) { $1 })
    }

    func pushOne(_ h: Harness, _ n: Int) async throws {
        #expect(
            try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(n), "PROJ-1 step \(n)")]), key: "p-\(n)")
                .status == 202)
    }

    @Test("a 429 with Retry-After: the delivery waits as long as Atlassian says, and the site is held")
    func rateLimited() async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h)
            await h.emulator.addFault(EmulatedFault(pathContains: "/jira/devinfo/", status: 429, retryAfter: 40, times: 1))
            try await pushOne(h, 1)
            let d = try await JiraCloudLimitsTests.waiting(h)
            #expect(d["action"] == "development_info")
            #expect(try JiraCloudLimitsTests.seconds(d) >= 20, "\(d)")
            #expect(try await h.store.rateLimitHolds(now: h.store.clock.now()).count == 1)
        }
    }

    @Test("the token endpoint refusing the credentials pauses the deliveries; saving the right credentials resumes them")
    func refusedThenReplaced() async throws {
        try await Harness.run(Self.cloud) { h in
            try await panelOnly(h, ["jira_oauth_client_secret": "not-the-secret"])
            try await pushOne(h, 1)
            try await pushOne(h, 2)
            let paused = try await h.settle()
            #expect(paused.allSatisfy { $0["status"] == "paused" }, "\(paused)")
            #expect(paused.first?["last_error"]?.string?.contains("OAuth credentials") == true, "\(paused)")
            #expect(try await panel(h, "PROJ-1")["commits"] == nil)
            // The pages say so: project, delivery log and settings.
            let cookie = try await JiraCloudLimitsTests.session(h)
            for path in ["/projects/42", "/projects/42/integrations/jira/deliveries", "/projects/42/settings/integrations/jira"] {
                let page = try await h.request(.GET, path, headers: [("Cookie", cookie)])
                #expect(page.text.contains("id=\"credentials-rejected\""), "\(path)")
                #expect(
                    page.text.contains("Atlassian refused the Development panel&#39;s OAuth credentials")
                        || page.text.contains("Atlassian refused the Development panel's OAuth credentials"), "\(path)")
            }
            let saved = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_oauth_client_secret": .string(EmulatedDevelopment.defaultClientSecret)])
            #expect(saved.status == 200, "\(saved.text)")
            let done = try await h.settle()
            #expect(done.allSatisfy { $0["status"] == "succeeded" }, "\(done)")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.count == 2)
        }
    }

    @Test("credentials without the Development information permission: failed, with the reason")
    func forbidden() async throws {
        try await Harness.run(Self.cloud) { h in
            let added = try await h.http.execute(
                Self.post(
                    h.emulatorURL + "/_emulator/oauth_clients", #"{"client_id": "builds-only", "client_secret": "s", "permissions": ["builds"]}"#),
                timeout: .seconds(10))
            #expect(added.status == .created)
            try await panelOnly(h, ["jira_oauth_client_id": "builds-only", "jira_oauth_client_secret": "s"])
            try await pushOne(h, 1)
            let log = try await h.settle()
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
            #expect(!h.logs.all.contains { $0.contains("at-") && $0.contains("Bearer") })
            let answers = [
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").text,
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").text,
            ]
            for text in answers { #expect(!text.contains(secret)) }
            #expect(try await h.storedBytes().range(of: Data(secret.utf8)) == nil)
        }
    }

    @Test("GitHub: a push with a key shows its commit; a pull request opened, then merged, shows as merged")
    func github() async throws {
        try await Harness.run(Self.cloud) { h in
            let settings = Self.panelSettings.merging(["commit_events": false, "merge_requests_events": false]) { $1 }
            try await h.configureRepository(
                forge: "github", id: 186853002, path: "Codertocat/Hello-World", webURL: "https://github.com/Codertocat/Hello-World",
                secret: "gh-secret", extra: settings)
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
            #expect(try await h.github("push", ForgePayloads.githubPush(commits: [(sha, "Fix login for PROJ-1")]), delivery: "g-1").status == 202)
            try await h.settle(project: "github%3A186853002")
            let pushed = try await panel(h, "PROJ-1")
            #expect(pushed["commits"]?.array?.first?["url"] == .string("https://github.com/Codertocat/Hello-World/commit/\(sha)"))
            #expect(pushed["commits"]?.array?.first?["repositoryId"] == "github-186853002")
            #expect(pushed["branches"]?.array?.first?["createPullRequestUrl"] == "https://github.com/Codertocat/Hello-World/compare/feature?expand=1")
            _ = try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "opened", title: "PROJ-1 login"), delivery: "g-2")
            try await h.settle(project: "github%3A186853002")
            #expect(try await panel(h, "PROJ-1")["pullRequests"]?.array?.first?["status"] == "OPEN")
            _ = try await h.github(
                "pull_request", ForgePayloads.githubPullRequest(action: "closed", title: "PROJ-1 login", merged: true), delivery: "g-3")
            try await h.settle(project: "github%3A186853002")
            let pr = try await panel(h, "PROJ-1")["pullRequests"]?.array?.first
            #expect(pr?["status"] == "MERGED")
            #expect(pr?["displayId"] == "#2")
        }
    }

    @Test("Gitea: a push with a key shows its commit; a pull request closed unmerged shows as declined")
    func gitea() async throws {
        try await Harness.run(Self.cloud) { h in
            let settings = Self.panelSettings.merging(["commit_events": false, "merge_requests_events": false]) { $1 }
            try await h.configureRepository(
                forge: "gitea", id: 61, path: "gogits/hello-world", webURL: "http://try.gitea.io/gogits/hello-world", secret: "gitea-secret",
                extra: settings)
            try await h.configureRepository(
                forge: "gitea", id: 6589, path: "jcitizen/my-repo", webURL: "https://try.gitea.io/jcitizen/my-repo", secret: "gitea-secret",
                extra: settings)
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let sha = String(repeating: "c", count: 40)
            #expect(try await h.gitea("push", ForgePayloads.giteaPush(commits: [(sha, "PROJ-1 fix")]), delivery: "t-1").status == 202)
            try await h.settle(project: "gitea%3A61")
            #expect(try await panel(h, "PROJ-1")["commits"]?.array?.first?["repositoryId"] == "gitea-61")
            _ = try await h.gitea("pull_request", ForgePayloads.giteaPullRequest(action: "opened", title: "PROJ-1 login"), delivery: "t-2")
            try await h.settle(project: "gitea%3A6589")
            #expect(try await panel(h, "PROJ-1")["pullRequests"]?.array?.first?["status"] == "OPEN")
            _ = try await h.gitea("pull_request", ForgePayloads.giteaPullRequest(action: "closed", title: "PROJ-1 login"), delivery: "t-3")
            try await h.settle(project: "gitea%3A6589")
            let pr = try await panel(h, "PROJ-1")["pullRequests"]?.array?.first
            #expect(pr?["status"] == "DECLINED")
            #expect(pr?["url"]?.string?.hasPrefix("https://try.gitea.io/jcitizen/my-repo/pulls/1") == true, "\(String(describing: pr))")
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
