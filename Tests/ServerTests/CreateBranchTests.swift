import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import Testing

/// Jira's "Create branch" end to end: the page behind sign-in, the projects it offers, the form with its CSRF
/// token and the maintainer role, and the branch created through each forge's emulated API.
@Suite("Create branch from Jira, end to end")
struct CreateBranchTests {
    static let page = "/jira/create-branch?issueKey=PROJ-1&issueSummary=Log%20in%20with%20SSO%20(%C3%A9t%C3%A9)"

    func setUp(_ h: Harness, _ forge: PanelForge, token: Bool = true) async throws {
        try await forge.configure(h, ["commit_events": false, "merge_requests_events": false])
        var api: [String: JSONValue] = ["forge_api_url": .string(ForgeChecksTests.apiURL(h, forge))]
        if token { api["forge_api_token"] = .string(EmulatedForges.defaultToken) }
        #expect(try await h.admin(.PUT, "/api/v4/projects/\(forge.address)", json: .object(api)).status == 200)
    }

    /// A signed-in session of `token` and the CSRF token of the page at `path`, with the page.
    func open(_ h: Harness, _ path: String, token: String) async throws -> (cookie: String, csrf: String, page: TestResponse) {
        let web = WebSignInTests()
        let signed = try await web.signIn(h, token: token, form: try await web.signInForm(h))
        let cookie = try #require(
            signed.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix(WebSessionCookie.name) }?.1.split(separator: ";").first
                .map(String.init))
        let page = try await h.request(.GET, path, headers: [("Cookie", cookie)])
        let csrf = page.text.range(of: #"name="_csrf" value=""#).map { String(page.text[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
        return (cookie, csrf, page)
    }

    func submit(_ h: Harness, _ session: (cookie: String, csrf: String), _ fields: [(String, String)]) async throws -> TestResponse {
        let body = ([("_csrf", session.csrf)] + fields).map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
            .joined(separator: "&")
        return try await h.request(
            .POST, "/jira/create-branch", raw: body, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", session.cookie)])
    }

    func branches(_ h: Harness, _ forge: PanelForge) async throws -> [String] {
        let path: String
        switch forge {
        case .gitlab: path = "/forge/gitlab/api/v4/projects/42/repository/branches?per_page=100"
        case .github: path = "/forge/github/repos/Codertocat/Hello-World/branches?per_page=100"
        case .gitea: path = "/forge/gitea/api/v1/repos/gogits/hello-world/branches?limit=50"
        }
        let r = try await h.get(h.emulatorURL + path, headers: ["Authorization": "Bearer " + EmulatedForges.defaultToken])
        return (try JSONValue.parse(r.text).array ?? []).compactMap { $0["name"]?.string }
    }

    @Test(
        "signed out it goes to sign-in and back; it offers the project with PROJ-1-<summary>; the form creates the branch from the default branch and goes to it; a second click creates nothing",
        arguments: PanelForge.allCases)
    func createBranch(_ forge: PanelForge) async throws {
        try await Harness.run { h in
            try await setUp(h, forge)
            let anonymous = try await h.request(.GET, Self.page)
            #expect(anonymous.status == 303)
            let next = anonymous.headers.first { $0.0.lowercased() == "location" }?.1 ?? ""
            #expect(next.hasPrefix("/?next=") && next.removingPercentEncoding?.contains("issueKey=PROJ-1") == true, "\(next)")
            let session = try await open(h, Self.page, token: h.adminToken)
            #expect(session.page.status == 200)
            #expect(session.page.text.contains(#"value="PROJ-1-log-in-with-sso-ete""#), "\(session.page.text)")
            #expect(session.page.text.contains(#"name="project" value="\#(forge.address.removingPercentEncoding!)""#))
            // Without the session's form token: refused, nothing created.
            let forged = try await submit(
                h, (session.cookie, "guess"), [("project", forge.address.removingPercentEncoding!), ("issueKey", "PROJ-1"), ("branch", "x")])
            #expect(forged.status == 403)
            let fields = [
                ("project", forge.address.removingPercentEncoding!), ("issueKey", "PROJ-1"), ("branch", "PROJ-1-log-in-with-sso-ete"),
                ("from", "master"),
            ]
            let created = try await submit(h, (session.cookie, session.csrf), fields)
            #expect(created.status == 303, "\(created.text)")
            let location = created.headers.first { $0.0.lowercased() == "location" }?.1
            #expect(location == Forge(rawValue: forge.rawValue)!.branchURL(project: forge.webURL, branch: "PROJ-1-log-in-with-sso-ete"))
            #expect(try await branches(h, forge).filter { $0 == "PROJ-1-log-in-with-sso-ete" }.count == 1)
            // Again (a second click): the branch is there, so the user is sent to it.
            let again = try await submit(h, (session.cookie, session.csrf), fields)
            #expect(again.status == 303)
            #expect(try await branches(h, forge).filter { $0 == "PROJ-1-log-in-with-sso-ete" }.count == 1)
            // What git refuses never reaches the forge.
            let bad = try await submit(h, (session.cookie, session.csrf), [("project", fields[0].1), ("issueKey", "PROJ-1"), ("branch", "a..b")])
            #expect(bad.status == 400 && bad.text.contains(".."), "\(bad.text)")
        }
    }

    @Test("a reporter is offered nothing and refused; a project whose keys do not name PROJ is not offered; without a forge token it says so")
    func roles() async throws {
        try await Harness.run { h in
            try await setUp(h, .gitlab)
            let reporter = try await h.admin(
                .POST, "/api/v4/tokens", json: ["name": "r", "role": "reporter", "scope": "project", "project_id": 42])
            let token = try #require(reporter.json["token"]?.string, "\(reporter.text)")
            let session = try await open(h, Self.page, token: token)
            #expect(session.page.status == 200)
            #expect(session.page.text.contains(#"id="no-projects""#))
            let refused = try await submit(
                h, (session.cookie, session.csrf), [("project", "42"), ("issueKey", "PROJ-1"), ("branch", "PROJ-1-x"), ("from", "main")])
            #expect(refused.status == 403 && refused.text.contains("maintainer"), "\(refused.text)")
            #expect(try await branches(h, .gitlab).contains("PROJ-1-x") == false)
            // The project's integration covers OPS only.
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["project_keys": "OPS"])
            let admin = try await open(h, Self.page, token: h.adminToken)
            #expect(admin.page.text.contains(#"id="no-projects""#))
            let uncovered = try await submit(
                h, (admin.cookie, admin.csrf), [("project", "42"), ("issueKey", "PROJ-1"), ("branch", "PROJ-1-x"), ("from", "main")])
            #expect(uncovered.status == 400 && uncovered.text.contains("does not cover PROJ"), "\(uncovered.text)")
            // Covered again, but with no forge token: offered, with the reason instead of the form.
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["project_keys": "PROJ, OPS"])
            _ = try await h.admin(.PUT, "/api/v4/projects/42", json: ["forge_api_token": .null])
            let noToken = try await open(h, Self.page, token: h.adminToken)
            #expect(noToken.page.text.contains("No forge API token"), "\(noToken.page.text)")
            #expect(!noToken.page.text.contains("Create branch in"))
            let bad = try await open(h, "/jira/create-branch?issueKey=%3Cscript%3E", token: h.adminToken)
            #expect(bad.page.status == 400)
        }
    }
}
