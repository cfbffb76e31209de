import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import Store
import TestDatabases
import Testing

/// Jira issue checks as commit statuses, end to end: each forge's webhooks into the real server, Jira's
/// answers from the emulator, and the status set through the forge's API (the emulator's `/forge/...`).
@Suite("Jira issue checks on the forge, end to end")
struct ForgeChecksTests {
    static let checks: [String: JSONValue] = [
        "jira_check_enabled": true, "jira_exists_check_enabled": true, "jira_assignee_check_enabled": true,
        "jira_status_check_enabled": true, "jira_allowed_statuses_as_string": "In Progress, Review",
        "commit_events": false, "merge_requests_events": false,
    ]

    /// The forge's API on the emulator.
    static func apiURL(_ h: Harness, _ forge: PanelForge) -> String {
        switch forge {
        case .gitlab: return h.emulatorURL + "/forge/gitlab/api/v4"
        case .github: return h.emulatorURL + "/forge/github"
        case .gitea: return h.emulatorURL + "/forge/gitea/api/v1"
        }
    }

    /// Issues: PROJ-1 In Progress assigned to Alice; PROJ-2 To Do; PROJ-3 In Progress, unassigned.
    func setUp(_ h: Harness, _ forge: PanelForge, _ extra: [String: JSONValue] = [:], token: Bool = true) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "one", statusName: "In Progress", assignee: "alice")
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "two", statusName: "To Do")
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "three", statusName: "In Progress", assignee: nil)
        try await forge.configure(h, Self.checks.merging(extra) { $1 })
        var api: [String: JSONValue] = ["forge_api_url": .string(Self.apiURL(h, forge))]
        if token { api["forge_api_token"] = .string(EmulatedForges.defaultToken) }
        let r = try await h.admin(.PUT, "/api/v4/projects/\(forge.address)", json: .object(api))
        #expect(r.status == 200, "\(r.text)")
    }

    /// Pushes one commit `sha` with `message` by `author` (name, e-mail) as the branch's head.
    func push(
        _ h: Harness, _ forge: PanelForge, _ sha: String, _ message: String, author: (String, String) = ("John Smith", "john@example.com")
    )
        async throws
    {
        let ref = "refs/heads/feature"
        var body: String
        switch forge {
        case .gitlab: body = Payloads.push(ref: ref, commits: [(sha, message)])
        case .github: body = ForgePayloads.githubPush(ref: ref, commits: [(sha, message)])
        case .gitea: body = ForgePayloads.giteaPush(ref: ref, commits: [(sha, message)])
        }
        var doc = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
        doc["after"] = sha
        doc["commits"] = (doc["commits"] as! [[String: Any]]).map { c in
            var c = c
            c["author"] = ["name": author.0, "email": author.1, "username": author.0.lowercased()]
            return c
        }
        let event = forge == .gitlab ? "Push Hook" : "push"
        #expect(try await forge.send(h, event, ForgePayloads.text(doc), delivery: "push-\(sha)") == 202)
    }

    /// The latest status of each context on `sha`, and every status set on it.
    func statuses(_ h: Harness, _ sha: String) async throws -> (latest: [JSONValue], all: [JSONValue]) {
        let doc = try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/forge/statuses/\(sha)", headers: [:]).text)
        return (doc["latest"]?.array ?? [], doc["all"]?.array ?? [])
    }

    static func sha(_ n: Int) -> String { String(format: "%040x", 0xc0ffee00 + n) }

    /// Waits until `done`, moving the test's clock to a waiting delivery's next try whenever one waits (never
    /// while one runs: its lease would end under it).
    func untilDone(_ h: Harness, _ forge: PanelForge, _ clock: TestClock, _ done: @escaping @Sendable () async throws -> Bool) async throws {
        let finished = try await eventually(timeout: .seconds(30)) {
            if try await done() { return true }
            // To a wait that is still ahead, in one step. One already due is about to be claimed: then the clock only
            // moves by a poll's length (a claim loop that began its 50 ms wait after the step must still wake), never
            // far enough to end the lease of the run that claims it (a second run, a second status).
            if let d = try await forge.deliveries(h).first, d["status"] == "pending", (d["attempts"]?.number ?? 0) >= 1,
                let next = d["next_run_at"]?.string, let due = try? Date(next, strategy: .iso8601)
            {
                let ahead = due.timeIntervalSince1970 * 1000 - Double(clock.wall.now())
                clock.advance(by: .milliseconds(ahead > 0 ? Int64(ahead) + 1000 : 100))
            }
            return false
        }
        let shown = finished ? [] : try await forge.deliveries(h)
        #expect(finished, "\(shown) at \(clock.wall.now())")
    }

    @Test("every check rule, passing and failing, sets the status on the pushed head, with the reason and the page", arguments: PanelForge.allCases)
    func rules(_ forge: PanelForge) async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, forge)
            let cases: [(String, (String, String), String, String)] = [
                ("PROJ-3 fix the login", ("John Smith", "john@example.com"), "success", "The commit names a valid Jira issue"),
                ("Tidy up", ("John Smith", "john@example.com"), "failure", "mentions no Jira issue"),
                ("PROJ-99 fix", ("John Smith", "john@example.com"), "failure", "PROJ-99 does not exist in Jira"),
                ("PROJ-2 fix", ("John Smith", "john@example.com"), "failure", "PROJ-2 is in To Do, not In Progress or Review"),
                ("PROJ-1 fix", ("John Smith", "john@example.com"), "failure", "PROJ-1 is assigned to Alice Adams, not to John Smith"),
                ("PROJ-1 fix", ("Someone", "alice@example.com"), "success", "The commit names a valid Jira issue"),
                ("PROJ-1 fix", ("Alice Adams", "a@other.example"), "success", "The commit names a valid Jira issue"),
            ]
            for (n, (message, author, state, description)) in cases.enumerated() {
                try await push(h, forge, Self.sha(n), message, author: author)
            }
            let log = try await forge.settle(h)
            #expect(log.count == cases.count && log.allSatisfy { $0["action"] == "commit_status" && $0["status"] == "succeeded" }, "\(log)")
            for (n, (message, _, state, description)) in cases.enumerated() {
                let latest = try await statuses(h, Self.sha(n)).latest
                #expect(latest.count == 1, "\(message)")
                let status = try #require(latest.first)
                let expectedState = forge == .gitlab && state == "failure" ? "failed" : state
                #expect(status["state"] == .string(expectedState), "\(message): \(status)")
                #expect(status["description"]?.string?.contains(description) == true, "\(message): \(status)")
                #expect(status["context"] == .string(JiraIssueCheck.pushContext))
                #expect(
                    status["target_url"]?.string?.hasSuffix(
                        "/projects/\(forge.address.replacingOccurrences(of: "%3A", with: ":"))/integrations/jira/checks/\(Self.sha(n))") == true,
                    "\(status)")
            }
            // The page the status links to explains the result.
            let cookie = try await JiraCloudLimitsTests.session(h)
            let page = try await h.request(.GET, "/projects/\(forge.address)/integrations/jira/checks/\(Self.sha(3))", headers: [("Cookie", cookie)])
            #expect(page.status == 200)
            #expect(page.text.contains("push to feature") && page.text.contains("PROJ-2 is in To Do"), "\(page.text)")
        }
    }

    @Test("a check with only the key rule asks Jira nothing")
    func keyOnly() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(
                h, .gitlab, ["jira_exists_check_enabled": false, "jira_assignee_check_enabled": false, "jira_status_check_enabled": false])
            try await push(h, .gitlab, Self.sha(1), "PROJ-404 anything")
            try await PanelForge.gitlab.settle(h)
            #expect(try await statuses(h, Self.sha(1)).latest.first?["state"] == "success")
            #expect(await h.jiraRequests("/rest/api/2/issue/").isEmpty)
        }
    }

    @Test("Jira down: the status is pending, then decided when Jira answers", arguments: PanelForge.allCases)
    func jiraDown(_ forge: PanelForge) async throws {
        var options = DevelopmentPanelTests.cloud
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            try await setUp(h, forge)
            await h.emulator.addFault(EmulatedFault(pathContains: "/rest/api/2/issue/PROJ-3", status: 503, times: 1))
            try await push(h, forge, Self.sha(1), "PROJ-3 fix")
            try await eventually { try await statuses(h, Self.sha(1)).latest.first?["state"] == "pending" }
            #expect(try await statuses(h, Self.sha(1)).latest.first?["description"]?.string?.contains("Waiting for Jira") == true)
            try await untilDone(h, forge, clock) { try await statuses(h, Self.sha(1)).latest.first?["state"] == "success" }
            let all = try await statuses(h, Self.sha(1)).all
            let seen = await h.emulator.requests.map { "\($0.method) \($0.path) \($0.status)" }
            let log = try await forge.deliveries(h)
            #expect(all.map(\.["state"]) == ["pending", "success"], "\(all) \(seen) \(log)")
        }
    }

    @Test("the forge's API failing once: retried, and the status is set once", arguments: PanelForge.allCases)
    func forgeFailsOnce(_ forge: PanelForge) async throws {
        var options = DevelopmentPanelTests.cloud
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            try await setUp(h, forge)
            await h.emulator.addFault(EmulatedFault(pathContains: "/forge/", status: 502, times: 1))
            try await push(h, forge, Self.sha(1), "PROJ-3 fix")
            try await untilDone(h, forge, clock) { try await statuses(h, Self.sha(1)).latest.first?["state"] == "success" }
            #expect(try await statuses(h, Self.sha(1)).all.count == 1, "no duplicate status")
            // The status is set before the delivery's completion is written: wait for that too.
            let d = try #require(try await forge.settle(h).first)
            #expect(d["attempts"] == 2 && d["status"] == "succeeded", "\(d)")
        }
    }

    @Test(
        "the forge's rate limit (GitHub's 403 with X-RateLimit-Remaining 0, GitLab's 429 with RateLimit-Reset, a 429 with Retry-After) waits until the reset, and holds nothing of the Jira site's",
        arguments: PanelForge.allCases)
    func forgeRateLimit(_ forge: PanelForge) async throws {
        var options = DevelopmentPanelTests.cloud
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            try await setUp(h, forge)
            let reset = String(Int(Date().timeIntervalSince1970) + 300)
            var fault = EmulatedFault(pathContains: "/forge/", status: forge == .github ? 403 : 429, times: 1)
            switch forge {
            case .github: fault.headers = ["X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset]
            case .gitlab: fault.headers = ["RateLimit-Remaining": "0", "RateLimit-Reset": reset]
            case .gitea: fault.retryAfter = 300
            }
            await h.emulator.addFault(fault)
            try await push(h, forge, Self.sha(1), "PROJ-3 fix")
            let waiting = try await eventually {
                let first = try await forge.deliveries(h).first
                return first?["attempts"] == 1 && first?["status"] == "pending"
            }
            #expect(waiting)
            let d = try #require(try await forge.deliveries(h).first)
            #expect(try JiraCloudLimitsTests.seconds(d) >= 250, "\(d)")
            #expect(
                d["last_error"]?.string?.hasPrefix("\(forge == .gitlab ? "GitLab" : forge == .github ? "GitHub" : "Gitea") answered") == true, "\(d)")
            #expect(try await h.store.rateLimitHolds(now: h.store.clock.now()).isEmpty, "the Jira site is not held")
            try await untilDone(h, forge, clock) { try await statuses(h, Self.sha(1)).latest.first?["state"] == "success" }
            #expect(try await statuses(h, Self.sha(1)).all.count == 1)
        }
    }

    @Test("a merge or pull request must mention a key: failure without one, success with one", arguments: PanelForge.allCases)
    func mergeRequests(_ forge: PanelForge) async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, forge, ["jira_check_enabled": false, "prevent_merge_without_jira_issue": true])
            _ = try await forge.change(h, .opened, number: 7, title: "Speed up the build", updated: "2024-03-01T10:00:00Z", delivery: "m-1")
            let log = try await forge.settle(h)
            let work = try #require(log.first)
            #expect(work["action"] == "commit_status", "\(log)")
            let head = try #require(try await headOf(h, forge, log))
            var latest = try await statuses(h, head).latest
            #expect(latest.first?["context"] == .string(JiraIssueCheck.mergeRequestContext))
            #expect(latest.first?["state"] == .string(forge == .gitlab ? "failed" : "failure"), "\(latest)")
            #expect(latest.first?["description"]?.string?.contains("mention no Jira issue") == true, "\(latest)")
            _ = try await forge.change(h, .updated, number: 7, title: "PROJ-3 speed up the build", updated: "2024-03-01T11:00:00Z", delivery: "m-2")
            try await forge.settle(h)
            latest = try await statuses(h, head).latest
            #expect(latest.first?["state"] == "success", "\(latest)")
            // The page shows both checks of the head: the latest passed, the first failed.
            let cookie = try await JiraCloudLimitsTests.session(h)
            let page = try await h.request(.GET, "/projects/\(forge.address)/integrations/jira/checks/\(head)", headers: [("Cookie", cookie)]).text
            #expect(page.contains(">passed</span>") && page.contains(">failed</span>"), "\(page)")
        }
    }

    /// The commit a merge request's check was set on: the one the emulator received a status for.
    func headOf(_ h: Harness, _ forge: PanelForge, _ log: [JSONValue]) async throws -> String? {
        let path = await h.emulator.requests.first { $0.path.hasPrefix("/forge/") && $0.path.contains("/statuses/") }?.path
        return path.map { String($0.split(separator: "/").last ?? "") }
    }

    @Test("no forge API token: the check fails with the reason, and nothing is sent to the forge")
    func noToken() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .github, token: false)
            try await push(h, .github, Self.sha(1), "PROJ-3 fix")
            let d = try #require(try await PanelForge.github.settle(h).first)
            #expect(d["status"] == "failed" && d["last_error"]?.string?.contains("No forge API token") == true, "\(d)")
            #expect(await h.emulator.requests.filter { $0.path.hasPrefix("/forge/") }.isEmpty)
        }
    }

    @Test("a group's token serves its projects; the token is never returned, and stored only encrypted")
    func groupToken() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            let secret = "glpat-group-secret-0123456789"
            let added = try await h.http.execute(
                DevelopmentPanelTests.post(h.emulatorURL + "/_emulator/forge/tokens", #"{"token": "\#(secret)"}"#), timeout: .seconds(10))
            #expect(added.status == .created)
            try await setUp(h, .gitlab, token: false)
            let project = try await h.admin(.GET, "/api/v4/projects/42")
            let groupID = try #require(project.json["namespace"]?["id"]?.number)
            let saved = try await h.admin(
                .PUT, "/api/v4/groups/\(Int(groupID))",
                json: ["forge_api_url": .string(Self.apiURL(h, .gitlab)), "forge_api_token": .string(secret)])
            #expect(saved.status == 200 && saved.json["forge_api_token_set"] == true, "\(saved.text)")
            try await push(h, .gitlab, Self.sha(1), "PROJ-3 fix")
            try await PanelForge.gitlab.settle(h)
            #expect(try await statuses(h, Self.sha(1)).latest.first?["state"] == "success")
            let answers = [
                saved.text, try await h.admin(.GET, "/api/v4/groups/\(Int(groupID))").text, try await h.admin(.GET, "/api/v4/projects/42").text,
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").text,
            ]
            for text in answers { #expect(!text.contains(secret)) }
            #expect(!h.logs.all.contains { $0.contains(secret) })
            #expect(try await h.storedBytes().range(of: Data(secret.utf8)) == nil)
            // The project's own API URL defaults to the forge's.
            #expect(project.json["forge_api_url"] == .string(Self.apiURL(h, .gitlab)))
            #expect(project.json["forge_api_token_set"] == false)
        }
    }

    @Test("forge API settings: a bad URL or token is refused by name; a changed URL without a new token drops the token; null removes it")
    func settings() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .github)
            let address = PanelForge.github.address
            var r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_url": "javascript:alert(1)"])
            #expect(r.status == 400 && r.text.contains("forge_api_url is invalid"), "\(r.text)")
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_token": "a\nb"])
            #expect(r.status == 400 && r.text.contains("forge_api_token cannot contain line breaks"), "\(r.text)")
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_token": .string(String(repeating: "x", count: 2000))])
            #expect(r.status == 400 && r.text.contains("too long"), "\(r.text)")
            r = try await h.admin(.GET, "/api/v4/projects/\(address)")
            #expect(r.json["forge_api_token_set"] == true)
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_token": ""])
            #expect(r.json["forge_api_token_set"] == true, "blank keeps it")
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_url": "https://github.example.com/api/v3"])
            #expect(r.json["forge_api_token_set"] == false, "another address drops the token")
            #expect(r.json["forge_api_url"] == "https://github.example.com/api/v3")
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_token": "t", "forge_api_url": ""])
            #expect(r.json["forge_api_token_set"] == true)
            #expect(r.json["forge_api_url"] == "https://api.github.com", "blank is github.com's API")
            r = try await h.admin(.PUT, "/api/v4/projects/\(address)", json: ["forge_api_token": .null])
            #expect(r.json["forge_api_token_set"] == false)
        }
    }

    /// Jira's issue webhook for `key`, signed with `secret` (as Jira Cloud signs: `X-Hub-Signature: sha256=<hex>`).
    func jiraWebhook(
        _ h: Harness, key: String, secret: String, query: String = "", event: String = "jira:issue_updated"
    ) async throws
        -> TestResponse
    {
        let body = #"{"timestamp": 1733300000000, "webhookEvent": "\#(event)", "issue": {"id": "10002", "key": "\#(key)", "fields": {}}}"#
        return try await h.request(
            .POST, "/webhooks/jira" + query, raw: body,
            headers: [
                ("Content-Type", "application/json"), ("X-Hub-Signature", "sha256=" + TokenSecret.signature(of: Data(body.utf8), secret: secret)),
            ])
    }

    @Test(
        "the status turns green after Jira's webhook says the issue changed; a badly signed webhook is refused and runs nothing",
        arguments: PanelForge.allCases)
    func jiraWebhookRechecks(_ forge: PanelForge) async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, forge)
            try await push(h, forge, Self.sha(1), "PROJ-2 fix")
            try await push(h, forge, Self.sha(2), "PROJ-3 other")
            try await forge.settle(h)
            #expect(try await statuses(h, Self.sha(1)).latest.first?["description"]?.string?.contains("is in To Do") == true)
            await h.emulator.setStatus(issue: "PROJ-2", to: "In Progress")
            // Signed with another secret, or not at all: refused, nothing runs again.
            #expect(try await jiraWebhook(h, key: "PROJ-2", secret: "not-the-secret").status == 401)
            let unsigned = try await h.request(.POST, "/webhooks/jira", raw: "{}", headers: [("Content-Type", "application/json")])
            #expect(unsigned.status == 401)
            #expect(try await jiraWebhook(h, key: "PROJ-2", secret: "x", query: "?project=424242").status == 401, "an unknown project")
            #expect(try await forge.deliveries(h).allSatisfy { $0["attempts"] == 1 })
            // The instance's secret covers every project.
            let r = try await jiraWebhook(h, key: "PROJ-2", secret: "instance-hook-secret")
            #expect(r.status == 202 && r.json["rechecked"] == 1, "\(r.text)")
            try await forge.settle(h)
            let latest = try await statuses(h, Self.sha(1)).latest
            #expect(latest.first?["state"] == "success", "\(latest)")
            #expect(try await statuses(h, Self.sha(2)).all.count == 1, "a check of another issue is not run again")
            // Another event kind is acknowledged and changes nothing.
            let ignored = try await jiraWebhook(h, key: "PROJ-2", secret: "instance-hook-secret", event: "comment_created")
            #expect(ignored.status == 202 && ignored.json["rechecked"] == 0)
        }
    }

    @Test("a project's own secret signs Jira's webhook for that project")
    func jiraWebhookProjectSecret() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .github)
            try await push(h, .github, Self.sha(1), "PROJ-2 fix")
            try await PanelForge.github.settle(h)
            await h.emulator.setStatus(issue: "PROJ-2", to: "In Progress")
            #expect(try await jiraWebhook(h, key: "PROJ-2", secret: "instance-hook-secret", query: "?project=github:186853002").status == 401)
            let r = try await jiraWebhook(h, key: "PROJ-2", secret: "gh-secret", query: "?project=github:186853002")
            #expect(r.status == 202 && r.json["rechecked"] == 1, "\(r.text)")
            try await PanelForge.github.settle(h)
            #expect(try await statuses(h, Self.sha(1)).latest.first?["state"] == "success")
        }
    }

    @Test("a forge API URL on a local address is refused by the outbound guard, with the reason; nothing is sent")
    func outboundGuard() async throws {
        var options = DevelopmentPanelTests.cloud
        options.allowLocalRequests = false
        // Jira (the emulator on 127.0.0.1) is allowed; the forge's API on another loopback address is not.
        options.outboundAllowlist = [IPNetwork("127.0.0.1/32")!]
        try await Harness.run(options) { h in
            // The key rule alone asks Jira nothing: the only call would be the forge's.
            try await setUp(
                h, .gitea, ["jira_exists_check_enabled": false, "jira_assignee_check_enabled": false, "jira_status_check_enabled": false])
            let port = try #require(h.emulatorURL.split(separator: ":").last)
            let moved = try await h.admin(
                .PUT, "/api/v4/projects/\(PanelForge.gitea.address)",
                json: ["forge_api_url": .string("http://127.0.0.2:\(port)/forge/gitea/api/v1"), "forge_api_token": "forge-token"])
            #expect(moved.status == 200, "\(moved.text)")
            try await push(h, .gitea, Self.sha(1), "PROJ-3 fix")
            let d = try #require(try await PanelForge.gitea.settle(h).first)
            #expect(d["status"] != "succeeded", "\(d)")
            #expect(d["last_error"]?.string?.lowercased().contains("local") == true, "\(d)")
            #expect(await h.emulator.requests.filter { $0.path.hasPrefix("/forge/") }.isEmpty)
        }
    }

    @Test("Jira's webhook: a body over 1 MB is refused with 413 before its signature is checked; a signed body that is not JSON is a 400")
    func jiraWebhookLimits() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            let big = String(repeating: "x", count: (1 << 20) + 10)
            let r = try await h.request(.POST, "/webhooks/jira", raw: big, headers: [("X-Hub-Signature", "sha256=00")])
            #expect(r.status == 413, "\(r.status)")
            let text = "not json"
            let signed = try await h.request(
                .POST, "/webhooks/jira", raw: text,
                headers: [("X-Hub-Signature", "sha256=" + TokenSecret.signature(of: Data(text.utf8), secret: "instance-hook-secret"))])
            #expect(signed.status == 400, "\(signed.text)")
            let noKey = try await jiraWebhook(h, key: "../../etc", secret: "instance-hook-secret")
            #expect(noKey.status == 400 && noKey.text.contains("issue.key"), "\(noKey.text)")
        }
    }

    @Test(
        "a group's token goes only to the group's own forge_api_url: a project's web address, which its maintainers may change, cannot send it elsewhere"
    )
    func groupTokenNeedsGroupURL() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab, token: false)
            let groupID = try #require(try await h.admin(.GET, "/api/v4/projects/42").json["namespace"]?["id"]?.number)
            let saved = try await h.admin(.PUT, "/api/v4/groups/\(Int(groupID))", json: ["forge_api_token": .string(EmulatedForges.defaultToken)])
            #expect(saved.status == 200 && saved.json["forge_api_url"] == .null)
            // The project's own URL (set in setUp) is not the group's: the group's token does not follow it.
            try await push(h, .gitlab, Self.sha(1), "PROJ-3 fix")
            let d = try #require(try await PanelForge.gitlab.settle(h).first)
            #expect(d["status"] == "failed" && d["last_error"]?.string?.contains("group's own forge_api_url") == true, "\(d)")
            #expect(await h.emulator.requests.filter { $0.path.hasPrefix("/forge/") }.isEmpty)
        }
    }
}
