import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Integration
import JiraClient
import Store
import Testing

@testable import Server

/// The router in process (`app.test(.router)`): routes, authentication and error documents, where a
/// real socket adds nothing. The end-to-end suites keep one case per behaviour over loopback.
@Suite("Router in process")
struct RouterTests {
    static func withRouter(_ body: @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-router-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = SecretBox.generateKey()
        let store = try SQLStore(path: dir.appendingPathComponent("r.sqlite").path, secrets: SecretBox(base64Key: key)!)
        try await store.migrate()
        let jira = JiraHTTPClient(configuration: .init(allowLocalRequests: false))
        let admin = TokenSecret.generate()
        let configuration = ServerConfiguration(dataDirectory: dir.path, adminToken: admin, secretKey: key, webhookSecret: "hook")
        let app = Application(router: buildRouter(store: store, jira: jira, configuration: configuration))
        do {
            try await app.test(.router) { client in try await body(client, admin) }
        } catch {
            try? await jira.shutdown()
            throw error
        }
        try await jira.shutdown()
    }

    static func json(_ buffer: ByteBuffer) throws -> JSONValue {
        try JSONValue.parse(Data(buffer.readableBytesView))
    }

    @Test("health answers without a token")
    func health() async throws {
        try await Self.withRouter { client, _ in
            try await client.execute(uri: "/-/health", method: .get) { response in
                #expect(response.status == .ok)
                let doc = try Self.json(response.body)
                #expect(doc["status"] == .string("ok"))
            }
        }
    }

    @Test("the API refuses a missing token with 401 and an unknown one with 401, GitLab's message")
    func unauthorized() async throws {
        try await Self.withRouter { client, _ in
            try await client.execute(uri: "/api/v4/projects/1/integrations/jira", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/api/v4/projects/1/integrations/jira", method: .get,
                headers: [HTTPField.Name("PRIVATE-TOKEN")!: "nope"]
            ) { response in
                #expect(response.status == .unauthorized)
                let doc = try Self.json(response.body)
                #expect(doc["message"] == .string("401 Unauthorized"))
            }
        }
    }

    @Test("a project registered through the API reads back; an unknown one is GitLab's 404")
    func registerAndRead() async throws {
        try await Self.withRouter { client, admin in
            let auth: HTTPFields = [HTTPField.Name("PRIVATE-TOKEN")!: admin, .contentType: "application/json"]
            let body = ByteBuffer(string: #"{"id": 15, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}"#)
            try await client.execute(uri: "/api/v4/projects", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .created || response.status == .ok)
            }
            try await client.execute(uri: "/api/v4/projects/acme%2Fshop", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let doc = try Self.json(response.body)
                #expect(doc["id"] == .number(15))
            }
            try await client.execute(uri: "/api/v4/projects/99/integrations/jira", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
                let doc = try Self.json(response.body)
                #expect(doc["message"] == .string("404 Project Not Found"))
            }
        }
    }

    @Test("page parameters that are no numbers are a 400 naming the parameter")
    func badPage() async throws {
        try await Self.withRouter { client, admin in
            let auth: HTTPFields = [HTTPField.Name("PRIVATE-TOKEN")!: admin, .contentType: "application/json"]
            try await client.execute(
                uri: "/api/v4/projects", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"id": 15, "path_with_namespace": "acme/shop", "web_url": "https://g/acme/shop"}"#)
            ) { _ in }
            try await client.execute(uri: "/api/v4/projects/15/integrations/jira/deliveries?page=ten", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
                let doc = try Self.json(response.body)
                #expect(doc["error"]?.string?.contains("page") == true)
            }
        }
    }

    @Test("a webhook without X-Gitlab-Token is refused before its body is read")
    func webhookWithoutToken() async throws {
        try await Self.withRouter { client, _ in
            try await client.execute(
                uri: "/webhooks/gitlab", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .unauthorized)
                let doc = try Self.json(response.body)
                #expect(doc["message"]?.string?.contains("X-Gitlab-Token header is missing") == true)
            }
        }
    }
}
