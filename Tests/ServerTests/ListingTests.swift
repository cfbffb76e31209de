import Foundation
import Integration
import Server
import Store
import Testing

/// Lists that grow with the instance (projects, tokens, the home page) come a page at a time, cut to what the
/// caller may see; webhooks cannot register projects without end, nor take a path another project holds.
@Suite("Listings and registration limits")
struct ListingTests {
    func header(_ r: TestResponse, _ name: String) -> String? {
        r.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Registers `count` projects under `namespace` straight in the store (ids from `firstID`).
    func register(_ h: Harness, _ count: Int, namespace: String, firstID: Int64) async throws {
        for i in 0..<Int64(count) {
            _ = try await h.store.registerProject(
                ProjectRegistration(
                    id: firstID + i, pathWithNamespace: "\(namespace)/p\(firstID + i)",
                    name: "P", webURL: "", defaultBranch: "main"))
        }
    }

    @Test("GET /api/v4/projects pages as GitLab does and shows a scoped token only its own")
    func projectPages() async throws {
        try await Harness.run { h in
            try await register(h, 30, namespace: "acme/web", firstID: 100)
            try await register(h, 15, namespace: "other", firstID: 200)
            let first = try await h.admin(.GET, "/api/v4/projects")
            #expect(first.status == 200)
            #expect(first.json.array?.count == 20)
            #expect(header(first, "X-Total") == "45" && header(first, "X-Total-Pages") == "3" && header(first, "X-Next-Page") == "2")
            let last = try await h.admin(.GET, "/api/v4/projects?page=3")
            #expect(last.json.array?.count == 5 && header(last, "X-Next-Page") == "")
            #expect(try await h.admin(.GET, "/api/v4/projects?per_page=100").json.array?.count == 45)
            #expect(try await h.admin(.GET, "/api/v4/projects?per_page=1e300").status == 400)
            #expect(try await h.admin(.GET, "/api/v4/projects?page=99999999999999999999").json.array?.isEmpty == true)

            // A group token reaches its group and the groups below it: acme holds acme/web.
            let acme = try #require(try await h.store.group(path: "acme"))
            let groupToken = try await h.token(role: "reporter", scope: "group", extra: ["group_id": .number(Double(acme.id))])
            let scoped = try await h.request(.GET, "/api/v4/projects?per_page=100", token: groupToken)
            #expect(header(scoped, "X-Total") == "30")
            #expect(scoped.json.array?.allSatisfy { $0["path_with_namespace"]?.string?.hasPrefix("acme/web/") == true } == true)
            let projectToken = try await h.token(role: "reporter", scope: "project", extra: ["project_id": 201])
            let one = try await h.request(.GET, "/api/v4/projects", token: projectToken)
            #expect(one.json.array?.compactMap { $0["id"]?.number } == [201] && header(one, "X-Total") == "1")
        }
    }

    @Test("GET /api/v4/tokens pages, and a group maintainer sees the tokens inside its group only")
    func tokenPages() async throws {
        try await Harness.run { h in
            try await register(h, 2, namespace: "acme", firstID: 100)
            try await register(h, 1, namespace: "other", firstID: 300)
            let acme = try #require(try await h.store.group(path: "acme"))
            for _ in 0..<22 { _ = try await h.token(role: "reporter") }
            let maintainer = try await h.token(role: "maintainer", scope: "group", extra: ["group_id": .number(Double(acme.id))])
            _ = try await h.token(role: "reporter", scope: "project", extra: ["project_id": 100])
            _ = try await h.token(role: "reporter", scope: "project", extra: ["project_id": 300])
            let first = try await h.admin(.GET, "/api/v4/tokens")
            #expect(first.json.array?.count == 20 && header(first, "X-Total") == "25")
            #expect(try await h.admin(.GET, "/api/v4/tokens?page=2").json.array?.count == 5)
            let mine = try await h.request(.GET, "/api/v4/tokens", token: maintainer)
            #expect(header(mine, "X-Total") == "2", "the group's own token and its project's: \(mine.text)")
            #expect(mine.json.array?.contains { $0["project_id"]?.number == 300 } == false)
            let reporter = try await h.token(role: "reporter", scope: "project", extra: ["project_id": 100])
            #expect(try await h.request(.GET, "/api/v4/tokens", token: reporter).json.array?.isEmpty == true)
        }
    }

    @Test("the home page shows 50 projects a page with a pager")
    func homePages() async throws {
        try await Harness.run { h in
            try await register(h, 60, namespace: "acme", firstID: 100)
            let signIn = WebSignInTests()
            let form = try await signIn.signInForm(h)
            let ok = try await signIn.signIn(h, token: h.adminToken, form: form)
            let cookie = try #require(
                ok.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix("jira_bridge_session=") }?.1
                    .split(separator: ";").first.map(String.init))
            let home = try await h.request(.GET, "/", headers: [("Cookie", cookie)])
            #expect(home.text.components(separatedBy: "<tr>").count - 1 == 2 + 50 + 1, "two header rows, 50 project rows and one group row")
            #expect(home.text.contains("60 projects") && home.text.contains("href=\"/?page=2&amp;groups_page=1\""))
            let second = try await h.request(.GET, "/?page=2", headers: [("Cookie", cookie)])
            #expect(second.text.contains("acme/p159") && !second.text.contains("acme/p100<"))
        }
    }

    /// A GitLab push for project `id` at `path`.
    func push(id: Int, path: String) -> String {
        var doc = Payloads.load("push")
        var project = doc["project"] as! [String: Any]
        project["id"] = id
        project["path_with_namespace"] = path
        project["web_url"] = "https://gitlab.example.com/\(path)"
        doc["project"] = project
        doc["project_id"] = id
        return String(decoding: try! JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
    }

    @Test("a path taken first under the instance secret goes to the project signed with its group's secret")
    func pathSquatting() async throws {
        try await Harness.run { h in
            // Someone with the instance secret registers the path first, under an id of their choosing.
            #expect(try await h.webhook("Push Hook", push(id: 666, path: "acme/web/shop")).status == 202)
            let refused = try await h.webhook("Push Hook", push(id: 42, path: "acme/web/shop"))
            #expect(refused.status == 409)
            #expect(refused.text.contains("secret of the project's group") && refused.text.contains("take_over_path"))
            #expect(h.logs.all.contains { $0.contains("webhook refused") })
            // The group's own secret proves control of the namespace: the real project takes its path.
            let acme = try #require(try await h.store.group(path: "acme"))
            #expect(try await h.admin(.PUT, "/api/v4/groups/\(acme.id)", json: ["webhook_secret": "acme-secret"]).status == 200)
            #expect(try await h.webhook("Push Hook", push(id: 42, path: "acme/web/shop")).status == 401, "the instance secret no longer applies")
            #expect(try await h.webhook("Push Hook", push(id: 42, path: "acme/web/shop"), secret: "acme-secret").status == 202)
            #expect(try await h.store.project(path: "acme/web/shop")?.id == 42)
            #expect(try await h.store.project(id: 666)?.pathWithNamespace == "acme/web/shop~666", "the other one keeps its rows, moved aside")
        }
    }

    @Test("an admin confirms a path's new owner with take_over_path")
    func adminTakeOver() async throws {
        try await Harness.run { h in
            try await h.registerProject(id: 666, path: "acme/web/shop")
            let conflict = try await h.admin(.POST, "/api/v4/projects", json: ["id": 42, "path_with_namespace": "acme/web/shop"])
            #expect(conflict.status == 409 && conflict.text.contains("take_over_path=true") && conflict.text.contains("acme/web/shop~666"))
            #expect(
                try await h.admin(.POST, "/api/v4/projects", json: ["id": 42, "path_with_namespace": "acme/web/shop", "take_over_path": "maybe"])
                    .status == 400)
            let moved = try await h.admin(
                .POST, "/api/v4/projects", json: ["id": 42, "path_with_namespace": "acme/web/shop", "take_over_path": true])
            #expect(moved.status == 201)
            #expect(try await h.store.project(id: 666)?.pathWithNamespace == "acme/web/shop~666")
            // The instance secret alone still cannot move it back.
            #expect(try await h.webhook("Push Hook", push(id: 666, path: "acme/web/shop")).status == 202, "666 is known: its webhook is kept")
            #expect(try await h.store.project(path: "acme/web/shop")?.id == 42)
        }
    }

    @Test("webhooks register projects up to JIRA_BRIDGE_MAX_PROJECTS; an admin may register more")
    func projectLimit() async throws {
        var options = Harness.Options()
        options.maxProjects = 3
        try await Harness.run(options) { h in
            for id in 1...3 { #expect(try await h.webhook("Push Hook", push(id: id, path: "acme/p\(id)")).status == 202) }
            let refused = try await h.webhook("Push Hook", push(id: 4, path: "acme/p4"))
            #expect(refused.status == 403 && refused.text.contains("JIRA_BRIDGE_MAX_PROJECTS=3"))
            #expect(try await h.store.project(id: 4) == nil)
            #expect(try await h.webhook("Push Hook", push(id: 2, path: "acme/p2"), key: "again").status == 202, "known projects still deliver")
            try await h.registerProject(id: 4, path: "acme/p4")
            #expect(try await h.store.projects(within: .instance, offset: 0, limit: 1).total == 4)
        }
    }

    @Test("the default project limit is 10,000")
    func defaultLimit() {
        #expect(Harness.Options().maxProjects == 10_000)
        #expect(ServerConfiguration(adminToken: "x", secretKey: "y").maxProjects == 10_000)
    }
}
