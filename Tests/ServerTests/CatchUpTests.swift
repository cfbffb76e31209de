import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import Testing

/// Catch-up end to end: the forge's record of what it sent while jira-bridge was down (GitHub's webhook
/// deliveries, GitLab's hook events, Gitea's commits and pull requests), read through the emulated forge API and
/// taken in once, also when catch-up runs twice.
@Suite("Catch-up, end to end")
struct CatchUpTests {
    static func sha(_ n: Int) -> String { String(format: "%040x", 0xcafe00 + n) }

    func post(_ h: Harness, _ path: String, _ doc: [String: Any]) async throws {
        var request = HTTPClientRequest(url: h.emulatorURL + path)
        request.method = .POST
        request.body = .bytes(.init(data: try JSONSerialization.data(withJSONObject: doc)))
        let r = try await h.http.execute(request, timeout: .seconds(10))
        #expect(r.status.code == 201)
    }

    func setUp(_ h: Harness, _ forge: PanelForge, hook: Bool = true) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
        try await forge.configure(h, [:])
        var api: [String: JSONValue] = [
            "forge_api_url": .string(ForgeChecksTests.apiURL(h, forge)), "forge_api_token": .string(EmulatedForges.defaultToken),
        ]
        if hook { api["forge_hook_id"] = 7 }
        let r = try await h.admin(.PUT, "/api/v4/projects/\(forge.address)", json: .object(api))
        #expect(r.status == 200, "\(r.text)")
        if hook { #expect(r.json["forge_hook_id"] == 7) }
    }

    /// The push webhook payload of one commit `sha` with `message`, as `forge` sends it.
    func pushPayload(_ forge: PanelForge, _ sha: String, _ message: String) throws -> [String: Any] {
        let text =
            forge == .gitlab
            ? Payloads.push(ref: "refs/heads/feature", commits: [(sha, message)])
            : ForgePayloads.githubPush(ref: "refs/heads/feature", commits: [(sha, message)])
        var doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        doc["after"] = sha
        return doc
    }

    func comments(_ h: Harness) async throws -> [String] {
        let issue = try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/issues/PROJ-1", headers: [:]).text)
        return (issue["comments"]?.array ?? []).compactMap { $0["body"]?.string }
    }

    @Test(
        "the deliveries the forge could not make are taken in, each once; one that arrived and an event jira-bridge does not handle are not; a second catch-up takes nothing",
        arguments: [PanelForge.gitlab, .github])
    func webhookRecord(_ forge: PanelForge) async throws {
        try await Harness.run { h in
            try await setUp(h, forge)
            // One push arrives before the outage.
            let first = try pushPayload(forge, Self.sha(1), "PROJ-1 first")
            #expect(try await forge.send(h, forge == .gitlab ? "Push Hook" : "push", ForgePayloads.text(first), delivery: "d-1") == 202)
            try await forge.settle(h)
            #expect(try await comments(h).count == 1)
            // The forge's record: the one that arrived, two it could not deliver, and an event nobody handles.
            let pushEvent = forge == .gitlab ? "Push Hook" : "push"
            try await post(
                h, "/_emulator/forge/hook_deliveries",
                [
                    "forge": forge.rawValue, "project": forge == .gitlab ? "42" : "Codertocat/Hello-World", "hook_id": 7,
                    "deliveries": [
                        ["event": pushEvent, "guid": "d-1", "status_code": 202, "payload": first],
                        ["event": pushEvent, "guid": "d-2", "status_code": 0, "payload": try pushPayload(forge, Self.sha(2), "PROJ-1 second")],
                        ["event": pushEvent, "guid": "d-3", "status_code": 502, "payload": try pushPayload(forge, Self.sha(3), "PROJ-1 third")],
                        ["event": forge == .gitlab ? "Issue Hook" : "issues", "guid": "d-4", "status_code": 0, "payload": ["action": "opened"]],
                    ],
                ])
            let path = "/api/v4/projects/\(forge.address)/integrations/jira/catch_up"
            #expect(try await h.admin(.GET, path).json["status"] == "none")
            let started = try await h.admin(.POST, path)
            #expect(started.status == 202, "\(started.text)")
            try await forge.settle(h)
            let state = try await h.admin(.GET, path).json
            #expect(state["status"] == "done", "\(state)")
            #expect(state["last"]?.string?.contains("took in 2 missed event(s); catch-up done") == true, "\(state)")
            let bodies = try await comments(h)
            #expect(bodies.count == 3, "\(bodies)")
            for n in 1...3 { #expect(bodies.filter { $0.contains(Self.sha(n)) }.count == 1, "commit \(n): \(bodies)") }
            // Again: everything it finds was taken in already.
            #expect(try await h.admin(.POST, path).status == 202)
            let log = try await forge.settle(h)
            #expect(try await h.admin(.GET, path).json["last"]?.string?.contains("took in 0 missed event(s), 2 already taken in") == true)
            #expect(try await comments(h).count == 3)
            #expect(log.filter { $0["action"] == "catch_up" }.count == 2)
        }
    }

    @Test("Gitea: the default branch's commits and the pull requests updated since the last event, each once")
    func gitea() async throws {
        try await Harness.run { h in
            try await setUp(h, .gitea, hook: false)
            #expect(try await PanelForge.gitea.push(h, branch: "master", commits: [(Self.sha(1), "PROJ-1 first")], delivery: "g-1") == 202)
            try await PanelForge.gitea.settle(h)
            let iso = ISO8601DateFormatter()
            func at(_ minutes: Double) -> String { iso.string(from: Date().addingTimeInterval(minutes * 60)) }
            var template = ForgePayloads.load("gitea", "pull_request_closed")["pull_request"] as! [String: Any]
            template["html_url"] = "http://try.gitea.io/gogits/hello-world/pulls/5"
            try await post(
                h, "/_emulator/forge/repositories",
                [
                    "forge": "gitea", "project": "gogits/hello-world", "pull_request_template": template,
                    "commits": [
                        ["sha": Self.sha(8), "message": "PROJ-1 long before", "timestamp": at(-120)],
                        ["sha": Self.sha(2), "message": "PROJ-1 while down", "timestamp": at(1)],
                        ["sha": Self.sha(3), "message": "PROJ-1 also while down", "timestamp": at(2)],
                    ],
                    "pull_requests": [
                        ["number": 5, "title": "PROJ-1 login", "state": "closed", "merged": true, "updated_at": at(3), "created_at": at(-60)],
                        ["number": 4, "title": "PROJ-1 old", "state": "open", "merged": false, "updated_at": at(-120), "created_at": at(-130)],
                    ],
                ])
            let path = "/api/v4/projects/gitea%3A61/integrations/jira/catch_up"
            #expect(try await h.admin(.POST, path).status == 202)
            let log = try await PanelForge.gitea.settle(h)
            let pages = log.filter { $0["action"] == "catch_up" }
            #expect(pages.count == 2, "commits, then pull requests")
            let answers = pages.compactMap { $0["answer"]?.string }
            #expect(answers.contains { $0.hasPrefix("commits, page 1: took in 2 missed event(s)") }, "\(answers)")
            #expect(answers.contains { $0.hasPrefix("pull requests, page 1: took in 1 missed event(s)") }, "\(answers)")
            let bodies = try await comments(h)
            #expect(bodies.filter { $0.contains(Self.sha(2)) }.count == 1 && bodies.filter { $0.contains(Self.sha(3)) }.count == 1)
            #expect(!bodies.contains { $0.contains(Self.sha(8)) }, "a commit from before the last event is not taken")
            #expect(bodies.contains { $0.contains("pulls/5") }, "\(bodies)")
            #expect(!bodies.contains { $0.contains("pulls/4") })
            // Again: nothing new.
            #expect(try await h.admin(.POST, path).status == 202)
            try await PanelForge.gitea.settle(h)
            let again = try await h.admin(.GET, "/api/v4/projects/gitea%3A61/integrations/jira/catch_up").json
            #expect(again["last"]?.string?.contains("took in 0 missed event(s)") == true, "\(again)")
            #expect(try await comments(h).count == bodies.count)
        }
    }

    @Test("a catch-up that cannot work is refused with the reason: no hook id on GitHub or GitLab, no forge token")
    func refusals() async throws {
        try await Harness.run { h in
            try await setUp(h, .github, hook: false)
            let path = "/api/v4/projects/github%3A186853002/integrations/jira/catch_up"
            let noHook = try await h.admin(.POST, path)
            #expect(noHook.status == 400 && noHook.text.contains("forge_hook_id"), "\(noHook.text)")
            let bads: [JSONValue] = [0, -1, .number(1e300), "x", true, "9223372036854775808"]
            for bad in bads {
                let r = try await h.admin(.PUT, "/api/v4/projects/github%3A186853002", json: ["forge_hook_id": bad])
                #expect(r.status == 400, "\(bad): \(r.text)")
            }
            _ = try await h.admin(.PUT, "/api/v4/projects/github%3A186853002", json: ["forge_hook_id": "12", "forge_api_token": .null])
            let noToken = try await h.admin(.POST, path)
            #expect(noToken.status == 400 && noToken.text.contains("forge_api_token"), "\(noToken.text)")
            #expect(try await h.admin(.PUT, "/api/v4/projects/github%3A186853002", json: ["forge_hook_id": .null]).json["forge_hook_id"] == .null)
        }
    }
}
