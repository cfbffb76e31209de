import Foundation
import Integration
import JiraClient
import JiraEmulator
import Testing

struct UnresolvableResolver: HostResolver {
    struct NoSuchHost: Error {}
    func resolve(host: String) async throws -> [IPAddress] { throw NoSuchHost() }
}

/// `GET /api/v4/projects/:id/integrations/jira/issues[/:key]` against the emulator, Server and Cloud.
@Suite("Jira issues API")
struct JiraIssuesAPITests {
    static let list = "/api/v4/projects/42/integrations/jira/issues"

    /// Three issues: PROJ-1 (old, open, backend), PROJ-2 (done, backend+urgent, assigned), PROJ-3 (newest, open).
    func seed(_ h: Harness) async {
        let now = Date()
        _ = await h.emulator.addIssue(
            projectKey: "PROJ", summary: "Login fails", description: "Stack trace here", labels: ["backend"],
            reporter: "alice", created: now.addingTimeInterval(-300))
        _ = await h.emulator.addIssue(
            projectKey: "PROJ", summary: "Crash on save", labels: ["backend", "urgent"], statusName: "Done",
            reporter: "jira-bot", assignee: "alice", created: now.addingTimeInterval(-200))
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "Dark mode", reporter: "alice", created: now.addingTimeInterval(-100))
        _ = await h.emulator.addIssue(projectKey: "OTHER", summary: "Elsewhere", created: now)
    }

    func enable(_ h: Harness, keys: [String] = ["PROJ"], extra: [String: JSONValue] = [:]) async throws {
        var settings: [String: JSONValue] = ["issues_enabled": true, "project_keys": .array(keys.map { .string($0) })]
        for (k, v) in extra { settings[k] = v }
        try await h.configure(settings)
    }

    func titles(_ r: TestResponse) -> [String] { r.json.array?.compactMap { $0["title"]?.string } ?? [] }
    func header(_ r: TestResponse, _ name: String) -> String? { r.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    /// The JQL of the last search the emulator received.
    func lastJQL(_ h: Harness) async -> String? {
        guard let q = await h.jiraRequests("/search").last?.query else { return nil }
        for part in q.split(separator: "&") where part.hasPrefix("jql=") {
            return String(part.dropFirst(4)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }

    @Test("Server: GitLab's issue entities, newest first, with page headers")
    func serverList() async throws {
        try await Harness.run { h in
            await seed(h)
            try await enable(h)
            let r = try await h.admin(.GET, Self.list)
            #expect(r.status == 200, "\(r.text)")
            #expect(titles(r) == ["Dark mode", "Crash on save", "Login fails"])
            #expect(await lastJQL(h) == #"project in ("PROJ") order by created DESC"#)
            let search = try #require(await h.jiraRequests("/search").last)
            #expect(search.path.hasSuffix("/rest/api/2/search"))
            #expect(search.query.contains("startAt=0") && search.query.contains("maxResults=100"))
            #expect(header(r, "X-Total") == "3" && header(r, "X-Page") == "1" && header(r, "X-Per-Page") == "100" && header(r, "X-Is-Last") == "true")

            let crash = try #require(r.json.array?[1])
            #expect(crash["project_id"] == 42)
            #expect(crash["status"] == "Done")
            #expect(crash["closed_at"]?.string?.hasSuffix("Z") == true)
            #expect(crash["created_at"]?.string?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
            #expect(
                crash["labels"]?.array?.first == [
                    "id": "backend", "title": "backend", "name": "backend", "color": "#0052CC", "text_color": "#FFFFFF",
                ])
            #expect(crash["author"]?["name"]?.string != nil)
            #expect(crash["author"]?["web_url"] == .string("\(h.emulatorURL)/secure/ViewProfile.jspa?name=jira-bot"))
            #expect(crash["author"]?["avatar_url"]?.string?.contains("useravatar") == true)
            #expect(crash["assignees"]?.array?.first?["web_url"] == .string("\(h.emulatorURL)/secure/ViewProfile.jspa?name=alice"))
            #expect(crash["web_url"] == .string("\(h.emulatorURL)/browse/PROJ-2"))
            #expect(crash["gitlab_web_url"]?.string?.hasSuffix("/projects/42/integrations/jira/issues/PROJ-2") == true)
            #expect(crash["references"] == ["relative": "PROJ-2"])
            #expect(crash["external_tracker"] == "jira")
            #expect(r.json.array?[0]["closed_at"] == .null && r.json.array?[0]["assignees"] == [])
        }
    }

    @Test("filters: state, labels, search, status, reporter, assignee and sort each reach Jira as GitLab's JQL")
    func filters() async throws {
        try await Harness.run { h in
            await seed(h)
            try await enable(h)
            let cases: [(String, String, [String])] = [
                ("state=opened", #"project in ("PROJ") AND statusCategory != Done order by created DESC"#, ["Dark mode", "Login fails"]),
                ("state=closed", #"project in ("PROJ") AND statusCategory = Done order by created DESC"#, ["Crash on save"]),
                (
                    "labels[]=backend&labels[]=urgent", #"project in ("PROJ") AND labels = "backend" AND labels = "urgent" order by created DESC"#,
                    ["Crash on save"]
                ),
                (
                    "search=LOGIN%20%22fails%22",
                    #"project in ("PROJ") AND (summary ~ "login fails" OR description ~ "login fails") order by created DESC"#, ["Login fails"]
                ),
                ("status=Done", #"project in ("PROJ") AND status = "Done" order by created DESC"#, ["Crash on save"]),
                ("author_username=jira-bot", #"project in ("PROJ") AND reporter = "jira-bot" order by created DESC"#, ["Crash on save"]),
                ("assignee_username=alice", #"project in ("PROJ") AND assignee = "alice" order by created DESC"#, ["Crash on save"]),
                ("sort=created_asc", #"project in ("PROJ") order by created ASC"#, ["Login fails", "Crash on save", "Dark mode"]),
                (
                    "sort=updated_desc&state=opened", #"project in ("PROJ") AND statusCategory != Done order by updated DESC"#,
                    ["Dark mode", "Login fails"]
                ),
            ]
            for (query, jql, expected) in cases {
                let r = try await h.admin(.GET, Self.list + "?" + query)
                #expect(r.status == 200, "\(query): \(r.text)")
                #expect(await lastJQL(h) == jql, "\(query)")
                #expect(titles(r) == expected, "\(query)")
            }
        }
    }

    @Test("Server pages: per_page and page become maxResults and startAt")
    func serverPages() async throws {
        try await Harness.run { h in
            await seed(h)
            try await enable(h)
            let first = try await h.admin(.GET, Self.list + "?per_page=2")
            #expect(titles(first) == ["Dark mode", "Crash on save"])
            #expect(header(first, "X-Is-Last") == "false" && header(first, "X-Next-Page") == "2" && header(first, "X-Total") == "3")
            let second = try await h.admin(.GET, Self.list + "?per_page=2&page=2")
            #expect(titles(second) == ["Login fails"])
            #expect(await h.jiraRequests("/search").last?.query.contains("startAt=2") == true)
            #expect(header(second, "X-Is-Last") == "true")
        }
    }

    @Test("Cloud: /rest/api/3/search/jql with nextPageToken, people links by accountId")
    func cloudList() async throws {
        var options = Harness.Options()
        options.deployment = .cloud
        try await Harness.run(options) { h in
            await seed(h)
            try await enable(h)
            let first = try await h.admin(.GET, Self.list + "?per_page=2")
            #expect(first.status == 200, "\(first.text)")
            #expect(titles(first) == ["Dark mode", "Crash on save"])
            let search = try #require(await h.jiraRequests("/search").last)
            #expect(search.path.hasSuffix("/rest/api/3/search/jql"))
            #expect(!search.query.contains("startAt"))
            let token = try #require(header(first, "X-Next-Page-Token"))
            #expect(header(first, "X-Total") == nil && header(first, "X-Is-Last") == "false")
            let author = first.json.array?[1]["author"]?["web_url"]?.string
            #expect(author?.hasPrefix("\(h.emulatorURL)/people/") == true, "\(author ?? "")")

            let second = try await h.admin(
                .GET, Self.list + "?per_page=2&next_page_token=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token))
            #expect(titles(second) == ["Login fails"])
            #expect(header(second, "X-Is-Last") == "true")
        }
    }

    @Test("project keys: the list keeps to them; another project gives nothing; a reserved word works when quoted")
    func projectKeys() async throws {
        try await Harness.run { h in
            await seed(h)
            _ = await h.emulator.addIssue(projectKey: "ORDER", summary: "Reserved word project")
            try await enable(h, keys: ["PROJ", "ORDER"])
            let all = try await h.admin(.GET, Self.list)
            #expect(titles(all).sorted() == ["Crash on save", "Dark mode", "Login fails", "Reserved word project"])
            #expect(await lastJQL(h) == #"project in ("PROJ","ORDER") order by created DESC"#)
            let requestsBefore = await h.jiraRequests("/search").count
            let other = try await h.admin(.GET, Self.list + "?project=OTHER")
            #expect(other.status == 200 && titles(other).isEmpty)
            #expect(await h.jiraRequests("/search").count == requestsBefore, "a project outside the keys asks Jira nothing")
            let order = try await h.admin(.GET, Self.list + "?project=ORDER")
            #expect(titles(order) == ["Reserved word project"])
        }
    }

    @Test("no project keys: every project's issues")
    func noKeys() async throws {
        try await Harness.run { h in
            await seed(h)
            try await enable(h, keys: [])
            let r = try await h.admin(.GET, Self.list)
            #expect(titles(r).count == 4)
            #expect(await lastJQL(h) == "order by created DESC")
            #expect(try await h.admin(.GET, Self.list + "/OTHER-1").status == 200)
        }
    }

    @Test("detail: rendered description and comments, sanitised; restricted to the project keys")
    func detail() async throws {
        try await Harness.run { h in
            let hostile =
                #"<p>Steps</p><script>alert('x')</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">link</a><a href="https://example.com/doc" onclick="x()">doc</a>"#
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "Hostile", description: "raw", renderedDescription: hostile)
            _ = await h.emulator.addComment(issueKey: "PROJ-1", body: "<b>bold?</b> & more", author: "alice")
            _ = await h.emulator.addIssue(projectKey: "OTHER", summary: "Elsewhere")
            try await enable(h)
            let r = try await h.admin(.GET, Self.list + "/PROJ-1")
            #expect(r.status == 200, "\(r.text)")
            let html = try #require(r.json["description_html"]?.string)
            // The relative image points at Jira (the emulator), not at jira-bridge.
            #expect(
                html
                    == #"<p>Steps</p><img src="\#(h.emulatorURL)/x"><a rel="noopener noreferrer nofollow">link</a><a href="https://example.com/doc" rel="noopener noreferrer nofollow">doc</a>"#
            )
            #expect(r.json["state"] == "opened")
            #expect(r.json["due_date"] == .null)
            #expect(r.json["title"] == "Hostile")
            let comment = try #require(r.json["comments"]?.array?.first)
            #expect(comment["body_html"] == "<p>&lt;b&gt;bold?&lt;/b&gt; &amp; more</p>")
            #expect(comment["author"]?["name"]?.string != nil)
            #expect(await h.jiraRequests("/issue/PROJ-1").last?.query.contains("expand=renderedFields") == true)

            #expect(try await h.admin(.GET, Self.list + "/OTHER-1").status == 404, "outside the project keys")
            #expect(try await h.admin(.GET, Self.list + "/PROJ-99").status == 404, "unknown in Jira")
            #expect(try await h.admin(.GET, Self.list + "/not-a-key").status == 404)
        }
    }

    @Test("gating: inactive integration, Jira issues off, reporter access")
    func gating() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let none = try await h.admin(.GET, Self.list)
            #expect(none.status == 400 && none.json["message"] == "Jira service not configured.")
            try await h.configure(["issues_enabled": false])
            let off = try await h.admin(.GET, Self.list)
            #expect(off.status == 404)
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["issues_enabled": true])
            let reporter = try await h.token(role: "reporter", scope: "project", extra: ["project_id": "42"])
            #expect(try await h.request(.GET, Self.list, token: reporter).status == 200)
            #expect(try await h.request(.GET, Self.list).status == 401)
            #expect(try await h.admin(.GET, Self.list + "?page=abc").status == 400)
            #expect(try await h.admin(.GET, Self.list + "?per_page=1.5").json["error"] == "per_page is invalid")
            // Out of range is clamped, as GitLab does: page 1 of the default size, never an overflow.
            let clamped = try await h.admin(.GET, Self.list + "?per_page=0&page=9223372036854775807")
            #expect(clamped.status == 200)
        }
    }

    @Test(
        "Jira's failures become GitLab's messages with 502",
        arguments: [
            (401, nil as String?, "The credentials for accessing Jira are not valid. Check your Jira integration credentials and try again."),
            (
                403, nil,
                "The credentials for accessing Jira are not allowed to access the data. Check your Jira integration credentials and try again."
            ),
            (
                400, #"{"errorMessages":["The value 'X' does not exist for the field 'project'.","Field 'foo' does not exist"],"errors":{}}"#,
                "An error occurred while requesting data from Jira: The value 'X' does not exist for the field 'project'. and Field 'foo' does not exist Check your Jira integration configuration and try again."
            ),
            (400, "not json", "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again."),
            (404, nil, "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again."),
            (429, nil, "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again."),
            (503, nil, "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again."),
        ])
    func jiraErrors(_ status: Int, _ body: String?, _ message: String) async throws {
        try await Harness.run { h in
            try await enable(h)
            await h.emulator.addFault(EmulatedFault(pathContains: "/search", status: status, body: body))
            let r = try await h.admin(.GET, Self.list)
            #expect(r.status == 502)
            #expect(r.json["message"] == .string(message))
        }
    }

    @Test("Jira down or slow: connection and timeout messages")
    func network() async throws {
        var options = Harness.Options()
        options.timeouts = .init(connect: .seconds(2), read: .milliseconds(500), total: .seconds(2))
        try await Harness.run(options) { h in
            try await enable(h)
            await h.emulator.addFault(EmulatedFault(pathContains: "/search", delayMilliseconds: 1_500))
            let slow = try await h.admin(.GET, Self.list)
            #expect(slow.status == 502)
            #expect(slow.json["message"] == "A timeout error occurred while connecting to Jira. Try your request again.")
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["url": "http://127.0.0.1:1", "password": "x"])
            let down = try await h.admin(.GET, Self.list)
            #expect(down.status == 502)
            #expect(down.json["message"] == "A connection error occurred while connecting to Jira. Try your request again.")
        }
    }

    @Test("an address refused after resolution, a name that does not resolve, a TLS failure")
    func addressAndTLS() async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        options.resolver = FixedResolver("10.0.0.7")
        try await Harness.run(options) { h in
            try await h.registerProject()
            let saved = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings([
                    "url": "http://jira.internal.test", "issues_enabled": true,
                ]))
            #expect(saved.status == 200, "\(saved.text)")
            let blocked = try await h.admin(.GET, Self.list)
            #expect(blocked.status == 502)
            #expect(
                blocked.json["message"]
                    == "Unable to connect to the Jira URL. Please verify your Jira integration URL and attempt the connection again.")
        }
        options.resolver = UnresolvableResolver()
        try await Harness.run(options) { h in
            try await h.registerProject()
            _ = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings([
                    "url": "http://jira.does-not-resolve.test", "issues_enabled": true,
                ]))
            let r = try await h.admin(.GET, Self.list)
            #expect(r.status == 502)
            #expect(r.json["message"] == "The Jira API URL for connecting to Jira is not valid. Check your Jira integration API URL and try again.")
        }
        try await Harness.run { h in
            try await enable(h)
            let https = h.emulatorURL.replacingOccurrences(of: "http://", with: "https://")
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["url": .string(https), "password": "secret-token"])
            let r = try await h.admin(.GET, Self.list)
            #expect(r.status == 502)
            let message = r.json["message"]?.string ?? ""
            #expect(
                message.hasPrefix("An SSL error occurred while connecting to Jira: ") && message.hasSuffix(" Try your request again."), "\(message)")
        }
    }

    @Test("a repeated query within 30 seconds is answered from the cache; another query or changed settings ask Jira")
    func cache() async throws {
        try await Harness.run { h in
            await seed(h)
            try await enable(h)
            _ = try await h.admin(.GET, Self.list + "?state=opened")
            _ = try await h.admin(.GET, Self.list + "?state=opened")
            #expect(await h.jiraRequests("/search").count == 1)
            _ = try await h.admin(.GET, Self.list + "?state=closed")
            #expect(await h.jiraRequests("/search").count == 2)
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["project_keys": ["PROJ", "OTHER"]])
            let r = try await h.admin(.GET, Self.list + "?state=opened")
            #expect(await h.jiraRequests("/search").count == 3)
            #expect(titles(r).contains("Elsewhere"))
        }
    }
}
