import Foundation
import Integration
import Store
import Testing

@Suite("Tokens, roles and scopes")
struct AuthTests {
    @Test("no token or an unknown one is 401 in GitLab's shape; Bearer works like PRIVATE-TOKEN")
    func unauthenticated() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let none = try await h.request(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(none.status == 401)
            #expect(none.json == ["message": "401 Unauthorized"])
            #expect(try await h.request(.GET, "/api/v4/projects/42", token: "jb_nope").status == 401)
            let bearer = try await h.request(.GET, "/api/v4/projects/42", headers: [("Authorization", "Bearer \(h.adminToken)")])
            #expect(bearer.status == 200)
        }
    }

    @Test("a reporter reads settings but cannot change them")
    func reporter() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings())
            let token = try await h.token(role: "reporter", scope: "project", extra: ["project_id": 42])
            #expect(try await h.request(.GET, "/api/v4/projects/42/integrations/jira", token: token).status == 200)
            let put = try await h.request(.PUT, "/api/v4/projects/42/integrations/jira", token: token, json: ["active": false])
            #expect(put.status == 403)
            #expect(put.json == ["message": "403 Forbidden"])
            #expect(try await h.request(.POST, "/api/v4/projects/42/integrations/jira/test", token: token).status == 403)
            #expect(try await h.request(.DELETE, "/api/v4/projects/42/integrations/jira", token: token).status == 403)
        }
    }

    @Test("a project maintainer manages its project only")
    func projectScope() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            try await h.registerProject(id: 43, path: "other/thing")
            let token = try await h.token(role: "maintainer", scope: "project", extra: ["project_id": "acme/web/shop"])
            #expect(try await h.request(.PUT, "/api/v4/projects/42/integrations/jira", token: token, json: h.workingSettings()).status == 200)
            #expect(
                try await h.request(.PUT, "/api/v4/projects/43/integrations/jira", token: token, json: h.workingSettings()).status == 404,
                "hidden as GitLab hides it")
            #expect(try await h.request(.GET, "/api/v4/projects/43", token: token).status == 404)
            #expect(try await h.request(.POST, "/api/v4/projects", token: token, json: ["id": 44, "path_with_namespace": "x/y"]).status == 403)
        }
    }

    @Test("a group maintainer covers projects in nested subgroups, not other groups")
    func groupScope() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            try await h.registerProject(id: 43, path: "other/thing")
            let token = try await h.token(role: "maintainer", scope: "group", extra: ["group_id": "acme"])
            #expect(try await h.request(.PUT, "/api/v4/projects/42/integrations/jira", token: token, json: h.workingSettings()).status == 200)
            #expect(try await h.request(.GET, "/api/v4/groups/acme%2Fweb", token: token).status == 200)
            #expect(try await h.request(.GET, "/api/v4/groups/other", token: token).status == 404)
            #expect(
                try await h.request(.PUT, "/api/v4/projects/43/integrations/jira", token: token, json: h.workingSettings()).status == 404,
                "hidden as GitLab hides it")
        }
    }

    @Test("maintainers create weaker tokens within their scope only; secrets are shown once and stored hashed")
    func tokenCreation() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            try await h.registerProject(id: 43, path: "other/thing")
            let maintainer = try await h.token(role: "maintainer", scope: "project", extra: ["project_id": 42])
            let ok = try await h.request(
                .POST, "/api/v4/tokens", token: maintainer,
                json: ["name": "ci", "role": "reporter", "scope": "project", "project_id": 42, "expires_at": "2999-01-01"])
            #expect(ok.status == 201, "\(ok.text)")
            #expect(ok.json["project_id"] == 42)
            #expect(ok.json["role"] == "reporter")
            #expect(ok.json["expires_at"]?.string?.hasPrefix("2999-01-01") == true)
            let secret = try #require(ok.json["token"]?.string)
            #expect(
                try await h.request(
                    .POST, "/api/v4/tokens", token: maintainer,
                    json: ["name": "x", "role": "admin", "scope": "instance"]
                ).status == 403)
            #expect(
                try await h.request(
                    .POST, "/api/v4/tokens", token: maintainer,
                    json: ["name": "x", "role": "reporter", "scope": "project", "project_id": 43]
                ).status == 404)
            #expect(
                try await h.request(
                    .POST, "/api/v4/tokens", token: secret,
                    json: ["name": "x", "role": "reporter", "scope": "project", "project_id": 42]
                ).status == 403)
            let bad = try await h.admin(.POST, "/api/v4/tokens", json: ["name": "x", "role": "owner"])
            #expect(bad.status == 400)
            let past = try await h.admin(.POST, "/api/v4/tokens", json: ["name": "x", "role": "reporter", "expires_at": "2001-01-01"])
            #expect(past.status == 400)

            let list = try await h.admin(.GET, "/api/v4/tokens")
            #expect(list.json.array?.count == 2)
            #expect(!list.text.contains(secret))
            #expect(!list.text.contains("\"token\""))
            let database = try await h.storedBytes()
            #expect(database.range(of: Data(secret.utf8)) == nil)

            let id = Int(ok.json["id"]!.number!)
            #expect(try await h.admin(.DELETE, "/api/v4/tokens/\(id)").status == 204)
            #expect(try await h.request(.GET, "/api/v4/projects/42", token: secret).status == 401)
        }
    }

    @Test("an expired token is refused")
    func expired() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let secret = TokenSecret.generate()
            _ = try await h.store.createToken(name: "old", role: .admin, scope: .instance, expiresAt: 1_000, secretHash: TokenSecret.hash(secret))
            #expect(try await h.request(.GET, "/api/v4/projects/42", token: secret).status == 401)
        }
    }

    @Test("projects register with their groups; webhook secrets are write-only")
    func projectsAndGroups() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let p = try await h.admin(.GET, "/api/v4/projects/acme%2Fweb%2Fshop")
            #expect(p.json["id"] == 42)
            #expect(p.json["namespace"]?["full_path"] == "acme/web")
            let group = try await h.admin(.GET, "/api/v4/groups/acme%2Fweb")
            #expect(group.json["parent_id"] != .null)
            let put = try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": "hook-secret-1", "default_branch": "trunk"])
            #expect(put.status == 200)
            #expect(put.json["webhook_secret_set"] == true)
            #expect(put.json["default_branch"] == "trunk")
            #expect(!put.text.contains("hook-secret-1"))
            #expect(try await h.store.webhookSecret(for: .project(42)) == "hook-secret-1")
            let g = try await h.admin(.PUT, "/api/v4/groups/acme", json: ["webhook_secret": "group-secret"])
            #expect(g.json["webhook_secret_set"] == true)
            #expect(!g.text.contains("group-secret"))
            let created = try await h.admin(.POST, "/api/v4/groups", json: ["full_path": "platform/tools", "name": "Tools"])
            #expect(created.status == 201)
            #expect(created.json["name"] == "Tools")
            #expect(try await h.admin(.POST, "/api/v4/groups", json: ["full_path": "../x"]).status == 400)
            #expect(try await h.admin(.POST, "/api/v4/projects", json: ["id": 50, "path_with_namespace": "acme/web/shop"]).status == 409)
            #expect(try await h.admin(.POST, "/api/v4/projects", json: ["id": "x", "path_with_namespace": "a/b"]).status == 400)
        }
    }
}
