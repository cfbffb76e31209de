import Foundation
import Integration
import JiraEmulator
import Store
import Testing

/// Group and instance defaults through the HTTP API (gitlab-jira-behavior.md (g)).
///
/// The tree used here:
///
///     instance default
///     ├── acme                 (group)
///     │   ├── acme/api         (project 43)
///     │   └── acme/web         (group)
///     │       └── acme/web/shop (project 42)
///     └── other                (group)
///         └── other/tool       (project 44)
@Suite("Group and instance defaults")
struct DefaultsTests {
    static let admin = "/api/v4/admin/integrations/jira"
    static func project(_ id: Int) -> String { "/api/v4/projects/\(id)/integrations/jira" }
    static func group(_ path: String) -> String { "/api/v4/groups/\(path.replacingOccurrences(of: "/", with: "%2F"))/integrations/jira" }

    func tree(_ h: Harness) async throws {
        try await h.registerProject(id: 42, path: "acme/web/shop")
        try await h.registerProject(id: 43, path: "acme/api")
        try await h.registerProject(id: 44, path: "other/tool")
    }

    func put(_ h: Harness, _ path: String, _ body: [String: JSONValue], status: Int = 200) async throws -> TestResponse {
        let r = try await h.admin(.PUT, path, json: .object(body))
        #expect(r.status == status, "PUT \(path): \(r.text)")
        return r
    }

    func prefix(_ h: Harness, _ path: String) async throws -> String? {
        try await h.admin(.GET, path).json["properties"]?["jira_issue_prefix"]?.string
    }

    @Test("the instance default reaches every project and group without its own, including projects registered later")
    func instanceDefault() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.project(44), h.workingSettings(["jira_issue_prefix": "own#"]).object!)
            #expect(try await h.admin(.GET, Self.project(42)).status == 404, "no integration before any default")

            let saved = try await put(h, Self.admin, h.workingSettings(["jira_issue_prefix": "inst#"]).object!)
            #expect(saved.json["inherited"] == false)
            for id in [42, 43] {
                let doc = try await h.admin(.GET, Self.project(id)).json
                #expect(doc["inherited"] == true, "project \(id)")
                #expect(doc["active"] == true)
                #expect(doc["properties"]?["url"] == .string(h.emulatorURL))
                #expect(doc["properties"]?["jira_issue_prefix"] == "inst#")
                #expect(doc["properties"]?["password"] == nil, "the password is never returned")
            }
            #expect(try await h.admin(.GET, Self.group("acme/web")).json["inherited"] == true)
            let custom = try await h.admin(.GET, Self.project(44)).json
            #expect(custom["inherited"] == false)
            #expect(custom["properties"]?["jira_issue_prefix"] == "own#")

            // Later projects: by the API and by their first webhook.
            try await h.registerProject(id: 45, path: "newgroup/later")
            #expect(try await h.admin(.GET, Self.project(45)).json["inherited"] == true)
            let raw = Payloads.load("push")
            let hook = try await h.webhook("Push Hook", String(decoding: try JSONSerialization.data(withJSONObject: raw), as: UTF8.self))
            #expect(hook.status == 202)
            let pushed = try #require((raw["project"] as? [String: Any])?["id"] as? Int)
            #expect(pushed != 42 && pushed != 45)
            let inherited = try await h.admin(.GET, Self.project(pushed)).json
            #expect(inherited["inherited"] == true, "a project first seen in a webhook inherits too: \(inherited)")
            // The effective settings are what the pipeline reads.
            let record = try #require(try await h.store.integration(at: .project(43)))
            #expect(record.settings.password == "secret-token")
            #expect(record.inheritFromID != nil)
        }
    }

    @Test("a group default overrides the instance's for its subtree, at two levels of nesting; reset re-points")
    func nestedGroups() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.admin, h.workingSettings(["jira_issue_prefix": "inst#"]).object!)
            // The instance default gave both groups inheriting integrations: custom settings need the flag.
            _ = try await put(h, Self.group("acme"), h.workingSettings(["jira_issue_prefix": "acme#", "use_inherited_settings": false]).object!)
            _ = try await put(h, Self.group("acme/web"), h.workingSettings(["jira_issue_prefix": "web#", "use_inherited_settings": false]).object!)
            #expect(try await prefix(h, Self.project(42)) == "web#")
            #expect(try await prefix(h, Self.project(43)) == "acme#")
            #expect(try await prefix(h, Self.project(44)) == "inst#")
            #expect(try await h.admin(.GET, Self.project(42)).json["inherited"] == true)

            // Reset the nearest group default: the project re-points to the next one up.
            #expect(try await h.admin(.DELETE, Self.group("acme/web")).status == 204)
            #expect(try await prefix(h, Self.project(42)) == "acme#")
            // Reset the other: both re-point to the instance default.
            #expect(try await h.admin(.DELETE, Self.group("acme")).status == 204)
            #expect(try await prefix(h, Self.project(42)) == "inst#")
            #expect(try await prefix(h, Self.project(43)) == "inst#")
            #expect(try await h.admin(.GET, Self.group("acme")).status == 404, "the reset group has no integration left")
            #expect(try await h.admin(.GET, Self.group("acme/web")).status == 404)
        }
    }

    @Test("changing a default's url and password reaches inheriting projects, not custom ones, and the next Jira call uses them")
    func propagationOfSecrets() async throws {
        try await Harness.run { h in
            try await tree(h)
            await h.emulator.addUser(
                EmulatedUser(
                    name: "rotator", email: "rotator@example.com", displayName: "Rotator",
                    accountId: "rot-1", password: "old-pass"))
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let oldURL = h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            _ = try await put(h, Self.group("acme"), ["active": true, "url": .string(oldURL), "username": "rotator", "password": "old-pass"])
            _ = try await put(h, Self.project(43), h.workingSettings(["jira_issue_prefix": "own#", "use_inherited_settings": false]).object!)

            _ = try await put(h, Self.group("acme"), ["url": .string(h.emulatorURL), "password": "new-pass"])
            await h.emulator.setPassword(user: "rotator", to: "new-pass")
            let inheriting = try await h.admin(.GET, Self.project(42)).json
            #expect(inheriting["properties"]?["url"] == .string(h.emulatorURL))
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "new-pass")
            let custom = try await h.store.integration(at: .project(43))
            #expect(custom?.settings.password == "secret-token" && custom?.settings.url == h.emulatorURL && custom?.inheritFromID == nil)

            let push = Payloads.push(ref: "refs/heads/feature", commits: [("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "Touch PROJ-1")])
            #expect(try await h.webhook("Push Hook", push).status == 202)
            let log = try await h.settle(expecting: 2)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            #expect(await h.issue("PROJ-1").comments.map(\.author) == ["rotator"], "written with the rotated password")
        }
    }

    @Test("switching a project to custom settings and back")
    func customAndBack() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.admin, h.workingSettings(["jira_issue_prefix": "inst#"]).object!)
            let custom = try await put(h, Self.project(42), ["use_inherited_settings": false, "jira_issue_prefix": "mine#"])
            #expect(custom.json["inherited"] == false)
            #expect(custom.json["properties"]?["url"] == .string(h.emulatorURL), "custom settings start from the default's values")
            #expect(try await h.store.integration(at: .project(42))?.settings.password == "secret-token", "and keep its password")

            _ = try await put(h, Self.admin, ["jira_issue_prefix": "changed#"])
            #expect(try await prefix(h, Self.project(42)) == "mine#", "a custom integration is never touched")
            #expect(try await prefix(h, Self.project(43)) == "changed#")

            let back = try await put(h, Self.project(42), ["use_inherited_settings": true])
            #expect(back.json["inherited"] == true)
            #expect(back.json["properties"]?["jira_issue_prefix"] == "changed#")
        }
    }

    @Test("a PUT without use_inherited_settings on an inheriting integration re-applies the default (GitLab's behavior)")
    func putWithoutFlag() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.admin, h.workingSettings(["jira_issue_prefix": "inst#"]).object!)
            let r = try await put(h, Self.project(42), ["jira_issue_prefix": "ignored#"])
            #expect(r.json["inherited"] == true)
            #expect(r.json["properties"]?["jira_issue_prefix"] == "inst#", "the submitted values are ignored")
        }
    }

    @Test("resetting the instance default removes the integrations that inherited from it, and only those")
    func instanceReset() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.admin, h.workingSettings(["jira_issue_prefix": "inst#"]).object!)
            _ = try await put(h, Self.group("other"), h.workingSettings(["jira_issue_prefix": "other#", "use_inherited_settings": false]).object!)
            _ = try await put(h, Self.project(43), ["use_inherited_settings": false, "jira_issue_prefix": "mine#"])
            #expect(try await h.admin(.DELETE, Self.admin).status == 204)
            #expect(try await h.admin(.GET, Self.admin).status == 404)
            #expect(try await h.admin(.GET, Self.project(42)).status == 404, "inherited from the instance: removed")
            #expect(try await h.admin(.GET, Self.group("acme")).status == 404)
            #expect(try await prefix(h, Self.project(43)) == "mine#", "custom settings stay")
            #expect(try await prefix(h, Self.project(44)) == "other#", "under another default: stays")
            #expect(try await h.admin(.DELETE, Self.admin).status == 404, "nothing left to reset")
        }
    }

    @Test("the overrides list: projects with custom settings under a default, paginated")
    func overrides() async throws {
        try await Harness.run { h in
            try await tree(h)
            try await h.registerProject(id: 46, path: "acme/extra")
            _ = try await put(h, Self.admin, h.workingSettings().object!)
            for id in [43, 44, 46] {
                _ = try await put(h, Self.project(id), ["use_inherited_settings": false, "jira_issue_prefix": "own#"])
            }
            let first = try await h.admin(.GET, Self.admin + "/overrides?per_page=2")
            #expect(first.status == 200)
            #expect(first.json.array?.compactMap { $0["id"]?.number } == [43, 44])
            #expect(first.headers.first { $0.0.lowercased() == "x-total" }?.1 == "3")
            #expect(first.headers.first { $0.0.lowercased() == "x-next-page" }?.1 == "2")
            let second = try await h.admin(.GET, Self.admin + "/overrides?per_page=2&page=2")
            #expect(second.json.array?.compactMap { $0["path_with_namespace"]?.string } == ["acme/extra"])
            let group = try await h.admin(.GET, Self.group("acme") + "/overrides")
            #expect(group.json.array?.compactMap { $0["id"]?.number } == [43, 46], "only the group's subtree")
            #expect(try await h.admin(.GET, Self.project(42) + "/overrides").status == 404, "projects have no overrides")
        }
    }

    @Test("no default: switching to default settings answers 404 at project and group level")
    func noDefault() async throws {
        try await Harness.run { h in
            try await tree(h)
            for path in [Self.project(42), Self.group("acme/web")] {
                let r = try await h.admin(.PUT, path, json: ["use_inherited_settings": true])
                #expect(r.status == 404)
                #expect(r.json["message"] == "Default integration not found.")
            }
            _ = try await put(h, Self.group("acme"), h.workingSettings().object!)
            #expect(try await h.admin(.PUT, Self.group("acme/web"), json: ["use_inherited_settings": true]).json["inherited"] == true)
            let other = try await h.admin(.PUT, Self.group("other"), json: ["use_inherited_settings": true])
            #expect(other.status == 404, "acme's default does not cover other")
        }
    }

    @Test("a maintainer of group A manages A's default and its projects, not group B's or the instance's")
    func roles() async throws {
        try await Harness.run { h in
            try await tree(h)
            let maintainer = try await h.token(role: "maintainer", scope: "group", extra: ["group_id": "acme"])
            let reporter = try await h.token(role: "reporter", scope: "group", extra: ["group_id": "acme"])
            let body = h.workingSettings()
            #expect(try await h.request(.PUT, Self.group("acme"), token: maintainer, json: body).status == 200)
            #expect(try await h.request(.PUT, Self.group("acme/web"), token: maintainer, json: body).status == 200, "a subgroup")
            #expect(try await h.request(.PUT, Self.project(42), token: maintainer, json: ["use_inherited_settings": true]).status == 200)
            #expect(try await h.request(.GET, Self.group("acme") + "/overrides", token: maintainer).status == 200)
            #expect(try await h.request(.PUT, Self.group("other"), token: maintainer, json: body).status == 404)
            #expect(try await h.request(.DELETE, Self.group("other"), token: maintainer).status == 404)
            #expect(try await h.request(.PUT, Self.admin, token: maintainer, json: body).status == 403)
            #expect(try await h.request(.GET, Self.admin, token: maintainer).status == 403)
            #expect(try await h.request(.PUT, Self.group("acme"), token: reporter, json: body).status == 403)
            #expect(try await h.request(.GET, Self.admin).status == 401)
        }
    }

    @Test("Test settings works for a group default")
    func groupTest() async throws {
        try await Harness.run { h in
            try await tree(h)
            _ = try await put(h, Self.group("acme"), h.workingSettings().object!)
            let r = try await h.admin(.POST, Self.group("acme") + "/test")
            #expect(r.json["success"] == true, "\(r.text)")
            #expect(try await h.admin(.POST, Self.admin + "/test").status == 404, "no Test settings at instance level, as in GitLab")
        }
    }

    @Test("2,000 projects under one group: creating and changing the default is one quick request")
    func manyProjects() async throws {
        try await Harness.run { h in
            for i in 0..<2_000 {
                _ = try await h.store.registerProject(
                    ProjectRegistration(
                        id: Int64(1_000 + i), pathWithNamespace: "big/p\(i)", name: "P\(i)", webURL: "https://gitlab.example.com/big/p\(i)",
                        defaultBranch: "main"))
            }
            let otherURL = h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            let clock = ContinuousClock()
            var created: TestResponse? = nil
            let createTime = try await clock.measure { created = try await put(h, Self.group("big"), h.workingSettings().object!) }
            #expect(created?.status == 200)
            var changed: TestResponse? = nil
            let changeTime = try await clock.measure {
                changed = try await put(h, Self.group("big"), ["url": .string(otherURL), "password": "rotated"])
            }
            #expect(changed?.status == 200)
            for id in [1_000, 1_999, 2_999] {
                let record = try #require(try await h.store.integration(at: .project(Int64(id))))
                #expect(record.inheritFromID != nil && record.settings.password == "rotated" && record.settings.url == otherURL)
            }
            print("defaults: 2,000 projects: create default \(createTime), change url and password \(changeTime)")
        }
    }
}
