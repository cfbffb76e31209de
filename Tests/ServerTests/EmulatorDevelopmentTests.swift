import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import NIOCore
import NIOHTTP1
import Testing

/// The emulator's Atlassian gateway for OAuth credentials (token, development information), over HTTP, with
/// Atlassian's semantics: replace only on a greater sequence number, unknown keys, limits, 401 and 403.
@Suite("Emulator: development information")
struct EmulatorDevelopmentTests {
    struct Answer {
        var status: Int
        var json: JSONValue?
    }

    static func call(_ h: Harness, _ method: HTTPMethod, _ path: String, token: String? = nil, body: JSONValue? = nil) async throws -> Answer {
        var req = HTTPClientRequest(url: h.emulatorURL + path)
        req.method = method
        if let token { req.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            var writer = JSONWriter()
            writer.value(body)
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: writer.bytes))
        }
        let response = try await h.http.execute(req, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), json: try? JSONValue.parse(String(buffer: data)))
    }

    static func token(
        _ h: Harness, id: String = EmulatedDevelopment.defaultClientID, secret: String = EmulatedDevelopment.defaultClientSecret
    )
        async throws -> Answer
    {
        try await call(
            h, .POST, "/oauth/token",
            body: [
                "grant_type": "client_credentials", "client_id": .string(id), "client_secret": .string(secret), "audience": "api.atlassian.com",
            ])
    }

    static func pullRequest(_ status: String, sequence: Int64, keys: [String] = ["PROJ-1"]) -> JSONValue {
        .object([
            "repositories": .array([
                .object([
                    "id": "gitlab-42", "name": "acme/shop", "url": "https://gitlab.example.com/acme/shop",
                    "updateSequenceId": .number(Double(sequence)),
                    "pullRequests": .array([
                        .object([
                            "id": "7", "issueKeys": .array(keys.map(JSONValue.string)), "updateSequenceId": .number(Double(sequence)),
                            "status": .string(status), "title": "PROJ-1 login", "author": ["name": "Jane"], "commentCount": 0,
                            "sourceBranch": "feature", "lastUpdate": "2024-01-02T03:04:05.000Z",
                            "url": "https://gitlab.example.com/acme/shop/-/merge_requests/7",
                            "displayId": "!7",
                        ])
                    ]),
                ])
            ]),
            "preventTransitions": true,
        ])
    }

    var bulk: String { "/jira/devinfo/0.1/cloud/4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19/bulk" }

    @Test("a token for the right credentials only; a greater sequence number replaces, a smaller one does not; unknown keys come back")
    func semantics() async throws {
        var options = Harness.Options()
        options.deployment = .cloud
        options.recordsContract = false  // refused on purpose
        try await Harness.run(options) { h in
            let key = await h.emulator.addIssue(projectKey: "PROJ", summary: "s").key
            #expect(key == "PROJ-1")
            #expect(try await Self.token(h, secret: "wrong").status == 401)
            let answer = try await Self.token(h)
            #expect(answer.status == 200)
            #expect(answer.json?["token_type"] == "Bearer")
            #expect(answer.json?["expires_in"] == 3600)
            let token = try #require(answer.json?["access_token"]?.string)

            #expect(try await Self.call(h, .POST, bulk, body: Self.pullRequest("OPEN", sequence: 10)).status == 401, "no token")
            #expect(try await Self.call(h, .POST, bulk, token: "forged", body: Self.pullRequest("OPEN", sequence: 10)).status == 401)
            let open = try await Self.call(h, .POST, bulk, token: token, body: Self.pullRequest("OPEN", sequence: 10, keys: ["PROJ-1", "NOPE-9"]))
            #expect(open.status == 202)
            #expect(open.json?["acceptedDevinfoEntities"]?["gitlab-42"]?["pullRequests"] == ["7"])
            #expect(open.json?["unknownIssueKeys"] == ["NOPE-9"])
            #expect(try await Self.call(h, .POST, bulk, token: token, body: Self.pullRequest("MERGED", sequence: 20)).status == 202)
            #expect(try await Self.call(h, .POST, bulk, token: token, body: Self.pullRequest("OPEN", sequence: 15)).status == 202)
            let panel = try await Self.call(h, .GET, "/_emulator/development/PROJ-1")
            #expect(panel.json?["pullRequests"]?.array?.first?["status"] == "MERGED", "the older update did not overwrite the merge")

            let deleted = try await Self.call(
                h, .DELETE, "/jira/devinfo/0.1/cloud/4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19/repository/gitlab-42/pull_request/7", token: token)
            #expect(deleted.status == 202)
            #expect(try await Self.call(h, .GET, "/_emulator/development/PROJ-1").json?["pullRequests"] == nil)
        }
    }

    @Test("limits: 413 past 400 of a type or 1,000 in all, 400 without repositories; 403 without the permission; 404 for another site")
    func refusals() async throws {
        var options = Harness.Options()
        options.deployment = .cloud
        options.recordsContract = false  // refused on purpose
        try await Harness.run(options) { h in
            let token = try #require(try await Self.token(h).json?["access_token"]?.string)
            let commit: JSONValue = [
                "id": "a", "issueKeys": ["PROJ-1"], "updateSequenceId": 1, "message": "m", "author": ["name": "J"], "fileCount": 0,
                "url": "https://g/c", "authorTimestamp": "2024-01-02T03:04:05.000Z", "displayId": "a",
            ]
            func repo(_ id: String, commits: Int) -> JSONValue {
                [
                    "id": .string(id), "name": "r", "url": "https://g/r", "updateSequenceId": 1,
                    "commits": .array(Array(repeating: commit, count: commits)),
                ]
            }
            #expect(try await Self.call(h, .POST, bulk, token: token, body: ["repositories": [repo("a", commits: 401)]]).status == 413)
            #expect(
                try await Self.call(
                    h, .POST, bulk, token: token, body: ["repositories": [repo("a", commits: 400), repo("b", commits: 400), repo("c", commits: 201)]]
                ).status == 413)
            #expect(try await Self.call(h, .POST, bulk, token: token, body: ["repositories": []]).status == 400)
            #expect(try await Self.call(h, .POST, bulk, token: token, body: ["repositories": [repo("a", commits: 400)]]).status == 202)
            let other = "/jira/devinfo/0.1/cloud/00000000-0000-0000-0000-000000000000/bulk"
            #expect(try await Self.call(h, .POST, other, token: token, body: ["repositories": [repo("a", commits: 1)]]).status == 404)

            _ = try await Self.call(
                h, .POST, "/_emulator/oauth_clients", body: ["client_id": "builds-only", "client_secret": "s", "permissions": ["builds"]])
            let limited = try #require(try await Self.token(h, id: "builds-only", secret: "s").json?["access_token"]?.string)
            let refused = try await Self.call(h, .POST, bulk, token: limited, body: ["repositories": [repo("a", commits: 1)]])
            #expect(refused.status == 403)
            #expect(refused.json?["errorMessages"]?.array?.first?["message"] == "the OAuth credentials lack the Development information permission")

            _ = try await Self.call(h, .POST, "/_emulator/oauth", body: ["expire_tokens": true])
            #expect(try await Self.call(h, .POST, bulk, token: token, body: ["repositories": [repo("a", commits: 1)]]).status == 401, "expired")
        }
    }

    @Test("what the core renders from a forge event is accepted as it is")
    func coreRendering() async throws {
        var options = Harness.Options()
        options.deployment = .cloud
        try await Harness.run(options) { h in
            _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "s")
            let token = try #require(try await Self.token(h).json?["access_token"]?.string)
            let project = ForgeProject(
                id: 42, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "Acme", webURL: "https://gitlab.example.com/acme/shop",
                defaultBranch: "main")
            let sha = String(repeating: "b", count: 40)
            let push = ForgeEvent.push(
                PushEvent(
                    project: project, ref: "refs/heads/PROJ-1-login", before: "", after: sha,
                    commits: [
                        ForgeCommit(
                            id: sha, message: "PROJ-1 log in", url: "", authorName: "Jane", authorEmail: "jane@example.com",
                            timestamp: "2024-01-02T03:04:05Z", fileCount: 2)
                    ], pusher: ForgeUser(name: "Jane", username: "jane")))
            guard case .store(let repository)? = DevelopmentInfo.changes(push, extractor: try ReferenceExtractor()).first else {
                Issue.record("a repository")
                return
            }
            let sent = try await Self.call(h, .POST, bulk, token: token, body: ["repositories": [repository.json], "preventTransitions": true])
            #expect(sent.status == 202)
            let panel = try await Self.call(h, .GET, "/_emulator/development/PROJ-1")
            #expect(panel.json?["commits"]?.array?.count == 1)
            #expect(panel.json?["branches"]?.array?.first?["name"] == "PROJ-1-login")
        }
    }
}
