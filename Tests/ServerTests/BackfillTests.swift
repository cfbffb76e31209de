import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import TestDatabases
import Testing

/// Backfill end to end: the forge's lists read from the emulated forge API, the Development panel filled
/// through the emulated gateway with `operationType: BACKFILL`, on each forge.
@Suite("Backfill, end to end")
struct BackfillTests {
    /// The emulated forge's repository: 1,000 merge requests, 30 branches, naming PROJ-1 and PROJ-2.
    func seed(_ h: Harness, _ forge: PanelForge, mergeRequests: Int = 1000) async throws {
        var doc: [String: Any] = ["forge": forge.rawValue, "merge_requests": mergeRequests, "branches": 30, "keys": ["PROJ-1", "PROJ-2"]]
        switch forge {
        case .gitlab: doc["project"] = "42"
        case .github:
            doc["project"] = "Codertocat/Hello-World"
            doc["pull_request_template"] = ForgePayloads.load("github", "pull_request.opened")["pull_request"]
        case .gitea:
            doc["project"] = "gogits/hello-world"
            doc["pull_request_template"] = ForgePayloads.load("gitea", "pull_request_opened")["pull_request"]
        }
        var request = HTTPClientRequest(url: h.emulatorURL + "/_emulator/forge/repositories")
        request.method = .POST
        request.body = .bytes(.init(data: try JSONSerialization.data(withJSONObject: doc)))
        #expect(try await h.http.execute(request, timeout: .seconds(10)).status.code == 201)
    }

    func setUp(_ h: Harness, _ forge: PanelForge, token: Bool = true, _ extra: [String: JSONValue] = [:]) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "one")
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "two")
        try await forge.configure(
            h, DevelopmentPanelTests.panelSettings.merging(["commit_events": false, "merge_requests_events": false]) { $1 }.merging(extra) { $1 })
        var api: [String: JSONValue] = ["forge_api_url": .string(ForgeChecksTests.apiURL(h, forge))]
        if token { api["forge_api_token"] = .string(EmulatedForges.defaultToken) }
        #expect(try await h.admin(.PUT, "/api/v4/projects/\(forge.address)", json: .object(api)).status == 200)
    }

    /// The bodies of the backfill's requests to the gateway.
    func backfillBodies(_ h: Harness) async throws -> [JSONValue] {
        try await h.emulator.requests.filter { $0.path.hasPrefix("/jira/devinfo/") && $0.method == "POST" }.compactMap(\.body).map {
            try JSONValue.parse($0)
        }.filter { $0["operationType"] == "BACKFILL" }
    }

    @Test(
        "the last 400 merge requests and the branches that name a key, in bounded pages, each sent once, with operationType BACKFILL",
        arguments: PanelForge.allCases)
    func backfill(_ forge: PanelForge) async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await seed(h, forge)
            try await setUp(h, forge)
            let path = "/api/v4/projects/\(forge.address)/integrations/jira/backfill"
            #expect(try await h.admin(.GET, path).json["status"] == "none")
            let started = try await h.admin(.POST, path)
            #expect(started.status == 202, "\(started.text)")
            #expect(started.json["status"] == "running")
            // One at a time: a second start while it runs is refused.
            let again = try await h.admin(.POST, path)
            #expect(again.status == 409, "\(again.text)")
            let log = try await forge.settle(h)
            let state = try await h.admin(.GET, path).json
            #expect(state["status"] == "done", "\(state)")
            let pages = log.filter { $0["action"] == "backfill" }
            #expect(pages.allSatisfy { $0["status"] == "succeeded" }, "\(pages.map { $0["last_error"] ?? $0["answer"] ?? .null })")
            let size = forge == .gitea ? 50 : 100
            // 400 merge requests in pages of `size`, then the 31 branches in one page.
            #expect(pages.count == 400 / size + 1, "\(pages.count) pages")
            let bodies = try await backfillBodies(h)
            #expect(bodies.count == pages.count, "one request per page that names a key")
            var pulls: [String] = []
            var branches: [String] = []
            for body in bodies {
                let repositories = body["repositories"]?.array ?? []
                #expect(repositories.count == 1)
                #expect(body["preventTransitions"] == true)
                let repository = repositories.first
                #expect(repository?["id"] == .string(forge.repositoryID))
                let entities = ["commits", "branches", "pullRequests"].reduce(0) { $0 + (repository?[$1]?.array?.count ?? 0) }
                #expect(entities <= 2 * size, "a request is bounded by a page")
                pulls += (repository?["pullRequests"]?.array ?? []).compactMap { $0["id"]?.string }
                branches += (repository?["branches"]?.array ?? []).compactMap { $0["name"]?.string }
            }
            // The newest 400 (601...1000), those that name a key (every fourth names none), each once.
            let expected = (601...1000).filter { $0 % 4 != 0 }.map(String.init)
            #expect(pulls.count == expected.count, "no merge request sent twice")
            #expect(Set(pulls) == Set(expected))
            #expect(branches.count == Set(branches).count)
            #expect(Set(branches) == Set((1...30).filter { $0 % 4 != 0 }.map { "feature/PROJ-\($0 % 2 + 1)-work-\($0)" }))
            // The panel shows them: merged ones as MERGED.
            let shown = try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/development/PROJ-1", headers: [:]).text)
            let merged = shown["pullRequests"]?.array?.first { $0["id"] == "990" }
            #expect(merged?["status"] == "MERGED", "\(String(describing: merged))")
            #expect(shown["branches"]?.array?.contains { $0["name"] == "feature/PROJ-2-work-1" } == false)
            #expect(shown["branches"]?.array?.contains { $0["name"] == "feature/PROJ-1-work-2" } == true)
            // The forge was read page by page, never more than a page at once.
            let reads = await h.emulator.requests.filter { $0.path.hasPrefix("/forge/") && $0.method == "GET" }
            let listed = reads.filter { $0.path.hasSuffix("/merge_requests") || $0.path.hasSuffix("/pulls") }
            #expect(listed.count == 400 / size)
            #expect(listed.allSatisfy { $0.query.contains(forge == .gitea ? "limit=\(size)" : "per_page=\(size)") })
            if forge == .github {
                // GitHub's branch list names only the head's sha: the heads of the branches named with a key are read.
                #expect(reads.filter { $0.path.hasSuffix("/commits") }.count == 23)
            }
        }
    }

    @Test("a backfill that cannot work is refused with the reason: no forge token, the panel off, Data Center")
    func refusals() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab, token: false)
            let path = "/api/v4/projects/42/integrations/jira/backfill"
            let noToken = try await h.admin(.POST, path)
            #expect(noToken.status == 400)
            #expect(noToken.text.contains("forge_api_token"), "\(noToken.text)")
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["development_panel_enabled": false])
            _ = try await h.admin(.PUT, "/api/v4/projects/42", json: ["forge_api_token": .string(EmulatedForges.defaultToken)])
            let off = try await h.admin(.POST, path)
            #expect(off.status == 400)
            #expect(off.text.contains("development_panel_enabled"), "\(off.text)")
            // A reporter may read the state; only a maintainer starts one.
            #expect(try await h.admin(.GET, path).json["status"] == "none")
        }
        try await Harness.run() { h in
            try await setUp(h, .gitlab)
            let dataCenter = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/backfill")
            #expect(dataCenter.status == 400)
            #expect(dataCenter.text.contains("Data Center"), "\(dataCenter.text)")
        }
    }

    @Test("the forge failing once: the page is read again and nothing is sent twice")
    func forgeFailsOnce() async throws {
        let clock = TestClock()
        var options = DevelopmentPanelTests.cloud
        options.clock = clock
        try await Harness.run(options) { h in
            try await seed(h, .gitlab, mergeRequests: 150)
            try await setUp(h, .gitlab)
            await h.emulator.addFault(EmulatedFault(method: "GET", pathContains: "/merge_requests", status: 502, times: 1))
            #expect(try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/backfill").status == 202)
            try await ForgeChecksTests().untilDone(h, .gitlab, clock) {
                try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/backfill").json["status"] == "done"
            }
            let pulls = try await backfillBodies(h).flatMap { $0["repositories"]?.array?.first?["pullRequests"]?.array ?? [] }
            #expect(pulls.count == (1...150).filter { $0 % 4 != 0 }.count)
            #expect(Set(pulls.compactMap { $0["id"]?.string }).count == pulls.count)
            let first = try await forgeDeliveries(h).last
            #expect(first?["attempts"] == 2, "\(String(describing: first))")
        }
    }

    @Test("the project page shows the latest backfill; its button starts one with the form's token and refuses a forged form")
    func pageButton() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await seed(h, .gitlab, mergeRequests: 20)
            try await setUp(h, .gitlab)
            let cookie = try await JiraCloudLimitsTests.session(h)
            let page = try await h.request(.GET, "/projects/42", headers: [("Cookie", cookie)])
            #expect(page.text.contains("Backfill the Development panel"))
            let range = try #require(page.text.range(of: #"name="_csrf" value=""#))
            let csrf = String(page.text[range.upperBound...].prefix { $0 != "\"" })
            let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)]
            let forged = try await h.request(.POST, "/projects/42/integrations/jira/backfill", raw: "_csrf=guess", headers: form)
            #expect(forged.status == 403)
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/backfill").json["status"] == "none")
            let started = try await h.request(.POST, "/projects/42/integrations/jira/backfill", raw: "_csrf=\(csrf)", headers: form)
            #expect(started.status == 303)
            try await PanelForge.gitlab.settle(h)
            let after = try await h.request(.GET, "/projects/42", headers: [("Cookie", cookie)])
            #expect(after.text.contains(#"id="backfill-status">done"#), "\(after.text)")
            #expect(after.text.contains("backfill done"))
        }
    }

    func forgeDeliveries(_ h: Harness) async throws -> [JSONValue] {
        try await PanelForge.gitlab.deliveries(h).filter { $0["action"] == "backfill" }
    }
}
