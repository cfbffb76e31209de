import Foundation
import Integration
import Store
import Testing

/// The integration parameters of Jira Cloud's development panel, builds and deployments (interface.md, "Jira's
/// development panel"): saved and returned at every level, the OAuth client secret under the rules of
/// `password`.
@Suite("OAuth credentials for the development panel")
struct OAuthCredentialsTests {
    static func panel(_ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        ["development_panel_enabled": true, "jira_oauth_client_id": "client-1", "jira_oauth_client_secret": "oauth-secret"].merging(
            extra
        ) { $1 }
    }

    @Test("the parameters are saved and returned at project, group and instance level; the secret never is")
    func savedAtEveryLevel() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let paths = ["/api/v4/projects/42/integrations/jira", "/api/v4/groups/1/integrations/jira", "/api/v4/admin/integrations/jira"]
            for path in paths {
                let r = try await h.admin(
                    .PUT, path, json: h.workingSettings(Self.panel(["builds_enabled": true, "deployments_enabled": false])))
                #expect(r.status == 200, "\(path): \(r.text)")
                let properties = r.json["properties"]
                #expect(properties?["development_panel_enabled"] == true, "\(path)")
                #expect(properties?["builds_enabled"] == true)
                #expect(properties?["deployments_enabled"] == false)
                #expect(properties?["jira_oauth_client_id"] == "client-1")
                #expect(properties?["jira_oauth_client_secret"] == nil)
                #expect(!r.text.contains("oauth-secret"))
                let read = try await h.admin(.GET, path)
                #expect(read.json["properties"]?["jira_oauth_client_id"] == "client-1")
                #expect(!read.text.contains("oauth-secret"))
            }
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == "oauth-secret")
        }
    }

    @Test("turned on without credentials: each blank one is named, in GitLab's message style")
    func requiredWhenOn() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            for part in ["development_panel_enabled", "builds_enabled", "deployments_enabled"] {
                let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings([part: true]))
                #expect(r.status == 400, "\(part)")
                #expect(r.json["message"]?["jira_oauth_client_id"] == ["can't be blank"])
                #expect(r.json["message"]?["jira_oauth_client_secret"] == ["can't be blank"])
            }
            let off = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            #expect(off.status == 200, "all three off: no credentials needed")
            let broken = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(Self.panel(["jira_oauth_client_secret": "a\nb"])))
            #expect(broken.status == 400)
            #expect(broken.json["message"]?["jira_oauth_client_secret"] != nil, "a line break in a credential is refused")
        }
    }

    @Test("a blank secret keeps the stored one; a changed url or api_url without a new one clears it")
    func secretRules() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(Self.panel()))
            let blank = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_oauth_client_secret": "", "jira_issue_prefix": "x"])
            #expect(blank.status == 200, "\(blank.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == "oauth-secret")

            let moved = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: ["url": .string(h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")), "password": "new-token"])
            #expect(moved.status == 400, "the secret went with the old URL, and the panel is still on")
            #expect(moved.json["message"]?["jira_oauth_client_secret"] == ["can't be blank"])
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == "oauth-secret", "a failed save changes nothing")

            let movedWithSecret = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: [
                    "url": .string(h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")), "password": "new-token",
                    "jira_oauth_client_secret": "second-secret",
                ])
            #expect(movedWithSecret.status == 200, "\(movedWithSecret.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == "second-secret")

            let off = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: [
                    "development_panel_enabled": false, "api_url": .string(h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")),
                    "password": "third",
                ])
            #expect(off.status == 200, "\(off.text)")
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == nil, "a changed api_url cleared it")
        }
    }

    @Test("a project inherits the group's credentials, and a reset to the default takes the default's")
    func inherited() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let group = try await h.admin(.PUT, "/api/v4/groups/1/integrations/jira", json: h.workingSettings(Self.panel()))
            #expect(group.status == 200, "\(group.text)")
            let project = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["use_inherited_settings": true])
            #expect(project.status == 200, "\(project.text)")
            #expect(project.json["properties"]?["development_panel_enabled"] == true)
            #expect(project.json["properties"]?["jira_oauth_client_id"] == "client-1")
            #expect(!project.text.contains("oauth-secret"))
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == "oauth-secret")
        }
    }

    @Test("the secret is never logged and never stored in clear")
    func neverLeaks() async throws {
        let secret = "oauth-\(UUID().uuidString)"
        try await Harness.run { h in
            try await h.registerProject()
            var responses: [String] = []
            responses.append(
                try await h.admin(
                    .PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(Self.panel(["jira_oauth_client_secret": .string(secret)]))
                ).text)
            responses.append(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").text)
            responses.append(try await h.admin(.GET, "/api/v4/projects/42/integrations").text)
            responses.append(try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_issue_regex": "(("]).text)
            for text in responses { #expect(!text.contains(secret)) }
            #expect(!h.logs.all.contains { $0.contains(secret) })
            let database = try await h.storedBytes()
            #expect(database.range(of: Data(secret.utf8)) == nil)
            #expect(try await h.store.integration(at: .project(42))?.settings.oauthClientSecret == secret, "it decrypts back")
        }
    }
}
