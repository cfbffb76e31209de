import Foundation
import Integration
import JiraEmulator
import Store
import Testing

@Suite("Project integration settings API")
struct SettingsAPITests {
    /// One invalid PUT and the field and message GitLab answers with.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var body: [String: JSONValue]
        var field: String
        var message: String
        var description: String { name }
    }

    static let validationCases: [Case] = [
        Case(name: "url without scheme", body: ["url": "example.com"], field: "url", message: "must be a valid URL"),
        Case(name: "ftp url", body: ["url": "ftp://example.com"], field: "url", message: "must be a valid URL"),
        Case(name: "url that is a word", body: ["url": "herp-and-derp"], field: "url", message: "must be a valid URL"),
        Case(name: "active without url", body: ["url": "", "password": "x"], field: "url", message: "can't be blank"),
        Case(name: "bad api_url", body: ["api_url": "ftp://example.com"], field: "api_url", message: "must be a valid URL"),
        Case(name: "basic auth without username", body: ["username": ""], field: "username", message: "can't be blank"),
        Case(name: "active without password", body: ["password": "", "url": "http://127.0.0.1:1"], field: "password", message: "can't be blank"),
        Case(name: "auth type out of range", body: ["jira_auth_type": 3], field: "jira_auth_type", message: "is not included in the list"),
        Case(name: "service account without api_url", body: ["jira_auth_type": 2, "username": ""], field: "api_url", message: "can't be blank"),
        Case(
            name: "service account with a username", body: ["jira_auth_type": 2, "api_url": "https://api.atlassian.com/ex/jira/4a1d9e2c"],
            field: "username", message: "must be blank"),
        Case(
            name: "cloud with a personal access token", body: ["url": "https://acme.atlassian.net", "jira_auth_type": 1],
            field: "base", message: "For Jira Cloud, the authentication type must be Basic"),
        Case(
            name: "a transition list with a project that has none", body: ["jira_issue_transition_id": "Done; OPS:"],
            field: "jira_issue_transition_id", message: "Jira issue transitions give no transition for OPS"),
        Case(
            name: "an opening transition list with an empty key", body: ["merge_request_opened_transition": ": In Progress"],
            field: "merge_request_opened_transition", message: "Merge request opened transitions have an empty Jira project key before a colon"),
        Case(
            name: "an empty closing branch pattern", body: ["closing_branches": "main,,release/*"], field: "closing_branches",
            message: "can't have an empty branch name or pattern"),
        Case(
            name: "regex longer than 255", body: ["jira_issue_regex": .string(String(repeating: "A", count: 256))],
            field: "jira_issue_regex", message: "is too long (maximum is 255 characters)"),
        Case(
            name: "prefix longer than 255", body: ["jira_issue_prefix": .string(String(repeating: "a", count: 256))],
            field: "jira_issue_prefix", message: "is too long (maximum is 255 characters)"),
        Case(
            name: "regex with a back-reference", body: ["jira_issue_regex": "([A-Z]+)-\\1"], field: "jira_issue_regex",
            message: "not valid RE2 syntax: invalid escape sequence: \\1"),
        Case(
            name: "regex with a look-ahead", body: ["jira_issue_regex": "(?=JIRA)[A-Z]+-\\d+"], field: "jira_issue_regex",
            message: "not valid RE2 syntax: invalid or unsupported Perl syntax: (?="),
        Case(
            name: "prefix with a double repetition", body: ["jira_issue_prefix": "a**"], field: "jira_issue_prefix",
            message: "not valid RE2 syntax: bad repetition operator: **"),
        Case(
            name: "regex with an unclosed group", body: ["jira_issue_regex": "([A-Z]+"], field: "jira_issue_regex",
            message: "not valid RE2 syntax: missing ): ([A-Z]+"),
        Case(
            name: "more than 100 project keys", body: ["project_keys": .array((0...100).map { .string("K\($0)") })],
            field: "project_keys", message: "is too long (maximum is 100 entries)"),
        Case(
            name: "vulnerabilities without project key", body: ["vulnerabilities_enabled": true, "vulnerabilities_issuetype": "10001"],
            field: "project_key", message: "can't be blank"),
        Case(
            name: "vulnerabilities without issue type", body: ["vulnerabilities_enabled": true, "project_key": "PROJ"],
            field: "vulnerabilities_issuetype", message: "can't be blank"),
        Case(
            name: "url longer than 2048", body: ["url": .string("https://example.com/" + String(repeating: "a", count: 2048))],
            field: "url", message: "is too long (maximum is 2048 characters)"),
    ]

    @Test("an invalid PUT answers 400 with GitLab's message and changes nothing", arguments: validationCases)
    func validation(_ c: Case) async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let saved = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["jira_issue_prefix": "before"]))
            #expect(saved.status == 200)
            var body = h.workingSettings().object!
            for (k, v) in c.body { body[k] = v }
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: .object(body))
            #expect(r.status == 400)
            #expect(r.json["message"]?[c.field]?.array?.contains(.string(c.message)) == true, "\(r.text)")
            let after = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(after.json == saved.json)
        }
    }

    @Test("a parameter of the wrong type is refused the way Grape refuses it")
    func wrongType() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["jira_auth_type": "basic"]))
            #expect(r.status == 400)
            #expect(r.json["error"] == "jira_auth_type is invalid")
            let notJSON = try await h.request(
                .PUT, "/api/v4/projects/42/integrations/jira", token: h.adminToken,
                raw: "{\"url\": ", headers: [("Content-Type", "application/json")])
            #expect(notJSON.status == 400)
            #expect(notJSON.json["error"] == "The request body is not valid JSON")
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").status == 404, "nothing was saved")
        }
    }

    @Test("a local Jira URL is blocked unless local requests are allowed")
    func blockedLocalURL() async throws {
        var options = Harness.Options()
        options.allowLocalRequests = false
        try await Harness.run(options) { h in
            try await h.registerProject()
            for (url, message) in [
                ("http://127.0.0.1:8080", "is blocked: Requests to localhost are not allowed"),
                ("http://10.1.2.3", "is blocked: Requests to the local network are not allowed"),
                ("http://169.254.169.254", "is blocked: Requests to the link local network are not allowed"),
                ("http://[::1]:9000", "is blocked: Requests to localhost are not allowed"),
            ] {
                let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["url": .string(url)]))
                #expect(r.status == 400)
                #expect(r.json["message"]?["url"] == [.string(message)], "\(url): \(r.text)")
            }
        }
    }

    @Test("a blank jira_issue_transition_id saves as blank, as GitLab's allow_blank does")
    func blankTransitionID() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let first = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                form: "active=true&url=\(h.emulatorURL)&username=jira-bot&password=secret-token&jira_issue_transition_id=31")
            #expect(first.json["properties"]?["jira_issue_transition_id"] == "31")
            for blank in ["+", "%20%20%20", "%09"] {
                let saved = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", form: "jira_issue_transition_id=\(blank)")
                #expect(saved.status == 200, "\(saved.text)")
                #expect(saved.json["properties"]?["jira_issue_transition_id"] == "")
            }
            let json = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_issue_transition_id": " "])
            #expect(json.status == 200 && json.json["properties"]?["jira_issue_transition_id"] == "")
        }
    }

    @Test("settings save as JSON and as form data, in GitLab's response shape, without the password")
    func saveAndRead() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let form =
                "active=true&url=\(h.emulatorURL)/&username=jira-bot&password=secret-token&jira_issue_transition_id=11%2C21&"
                + "project_keys[]=+PROJ+&project_keys[]=&project_keys[]=PROJ&project_keys[]=OPS&commit_events=false&comment_on_event_enabled=0"
            let saved = try await h.admin(.PUT, "/api/v4/projects/acme%2Fweb%2Fshop/integrations/jira", form: form)
            #expect(saved.status == 200, "\(saved.text)")
            let doc = saved.json
            #expect(doc["title"] == "Jira issues")
            #expect(doc["slug"] == "jira")
            #expect(doc["active"] == true)
            #expect(doc["commit_events"] == false)
            #expect(doc["merge_requests_events"] == true)
            #expect(doc["comment_on_event_enabled"] == false)
            #expect(doc["inherited"] == false)
            for key in [
                "id", "created_at", "updated_at", "push_events", "issues_events", "alert_events", "confidential_issues_events",
                "tag_push_events", "deployment_events", "note_events", "confidential_note_events", "pipeline_events",
                "wiki_page_events", "job_events", "vulnerability_events",
            ] {
                #expect(doc[key] != nil, "missing \(key)")
            }
            let props = try #require(doc["properties"])
            #expect(props["url"] == .string(h.emulatorURL), "the trailing slash is dropped")
            #expect(props["project_keys"] == ["PROJ", "OPS"])
            #expect(props["jira_issue_transition_id"] == "11,21")
            #expect(props["deployment_type"] == "server")
            #expect(props["password"] == nil)
            #expect(!saved.text.contains("secret-token"))

            let read = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(read.json == saved.json)
            #expect(!read.text.contains("secret-token"))
            let list = try await h.admin(.GET, "/api/v4/projects/42/integrations")
            #expect(list.json.array?.count == 1)
            #expect(list.json.array?.first?["properties"] == nil)
        }
    }

    @Test("DELETE resets the integration; reading it afterwards is 404")
    func reset() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            #expect(try await h.admin(.DELETE, "/api/v4/projects/42/integrations/jira").status == 204)
            let r = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(r.status == 404)
            #expect(r.json["message"] == "404 Integration Not Found")
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations").json == [])
        }
    }

    @Test("the deployment type is detected from serverInfo, else from the URL")
    func deploymentDetection() async throws {
        var cloud = Harness.Options()
        cloud.deployment = .cloud
        try await Harness.run(cloud) { h in
            try await h.registerProject()
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            #expect(r.json["properties"]?["deployment_type"] == "cloud", "\(r.text)")
        }
        try await Harness.run { h in
            try await h.registerProject()
            await h.emulator.addFault(EmulatedFault(pathContains: "serverInfo", status: 500))
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            #expect(r.json["properties"]?["deployment_type"] == "server")
            #expect(h.logs.all.contains { $0.contains("Jira API returned no ServerInfo, setting deployment_type from URL") })
        }
    }

    @Test("use_inherited_settings without any default answers 404")
    func inheritWithoutDefault() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["use_inherited_settings": true])
            #expect(r.status == 404)
            #expect(r.json["message"] == "Default integration not found.")
        }
    }

    @Test("unknown projects are 404 in GitLab's words, by id and by path")
    func unknownProject() async throws {
        try await Harness.run { h in
            for path in ["/api/v4/projects/999/integrations/jira", "/api/v4/projects/no%2Fsuch/integrations/jira", "/api/v4/projects/7"] {
                let r = try await h.admin(.GET, path)
                #expect(r.status == 404)
                #expect(r.json["message"] == "404 Project Not Found")
            }
            let g = try await h.admin(.GET, "/api/v4/groups/nope")
            #expect(g.json["message"] == "404 Group Not Found")
        }
    }
}
