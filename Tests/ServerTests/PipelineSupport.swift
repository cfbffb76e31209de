import Foundation
import Integration
import JiraEmulator
import Store
import TestDatabases
import Testing

/// Real GitLab payloads from the fixtures, with only their texts changed.
enum Payloads {
    static func load(_ name: String) -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures/gitlab/\(name)", withExtension: "json")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Points a payload at project 42, `acme/web/shop`, with the given default branch.
    static func retarget(_ doc: inout [String: Any], defaultBranch: String) {
        var project = doc["project"] as! [String: Any]
        project["id"] = 42
        project["path_with_namespace"] = "acme/web/shop"
        project["web_url"] = "https://gitlab.example.com/acme/web/shop"
        project["namespace"] = "Web"
        project["name"] = "Shop"
        project["default_branch"] = defaultBranch
        doc["project"] = project
    }

    /// GitLab's push example for project 42 (`acme/web/shop`), on `ref`, with commits `(sha, message)`.
    static func push(ref: String = "refs/heads/main", commits: [(String, String)], defaultBranch: String = "main") -> String {
        var doc = load("push")
        retarget(&doc, defaultBranch: defaultBranch)
        doc["project_id"] = 42
        doc["ref"] = ref
        let template = (doc["commits"] as! [[String: Any]])[0]
        doc["commits"] = commits.map { sha, message -> [String: Any] in
            var c = template
            c["id"] = sha
            c["message"] = message
            c["title"] = String(message.split(separator: "\n").first ?? "")
            c["url"] = "https://gitlab.example.com/acme/web/shop/-/commit/\(sha)"
            c["author"] = ["name": "John Smith", "email": "john@example.com"]
            return c
        }
        return String(decoding: try! JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
    }

    /// GitLab's merge request example for project 42 with the given action, texts and target.
    static func mergeRequest(
        action: String, title: String, description: String = "", target: String = "main",
        lastCommit: String = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    ) -> String {
        var doc = load("merge_request")
        retarget(&doc, defaultBranch: "main")
        var attrs = doc["object_attributes"] as! [String: Any]
        attrs["action"] = action
        attrs["title"] = title
        attrs["description"] = description
        attrs["target_branch"] = target
        attrs["iid"] = 7
        attrs["url"] = "https://gitlab.example.com/acme/web/shop/-/merge_requests/7"
        var last = attrs["last_commit"] as! [String: Any]
        last["id"] = lastCommit
        attrs["last_commit"] = last
        doc["object_attributes"] = attrs
        return String(decoding: try! JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
    }
}

extension Harness {
    /// Sends a GitLab webhook with the instance secret.
    func webhook(_ event: String, _ body: String, secret: String? = "instance-hook-secret", key: String? = nil) async throws -> TestResponse {
        var headers = [("X-Gitlab-Event", event), ("Content-Type", "application/json")]
        if let secret { headers.append(("X-Gitlab-Token", secret)) }
        if let key { headers.append(("Idempotency-Key", key)) }
        return try await request(.POST, "/webhooks/gitlab", raw: body, headers: headers)
    }

    /// Registers project 42 with an active integration against the emulator.
    func configure(_ extra: [String: JSONValue] = [:]) async throws {
        try await registerProject()
        let r = try await admin(.PUT, "/api/v4/projects/42/integrations/jira", json: workingSettings(extra))
        precondition(r.status == 200, r.text)
    }

    /// The delivery log of project 42.
    func deliveries() async throws -> [JSONValue] {
        let r = try await admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries?per_page=100")
        // An answer that is no list is a failure to see, not an empty log.
        guard r.status == 200, let list = r.json.array else { throw LogUnreadable(status: r.status, text: String(r.text.prefix(300))) }
        return list
    }

    struct LogUnreadable: Error { var status: Int; var text: String }

    /// Waits until every delivery of project 42 has finished (none pending or running), and returns them.
    @discardableResult
    func settle(expecting count: Int? = nil, timeout: Duration = .seconds(20)) async throws -> [JSONValue] {
        var settled: [JSONValue]? = nil
        try await eventually(timeout: timeout) {
            // The events first: once none waits to be planned, the list read after it has all their deliveries.
            let depth = try await store.queueDepth()
            guard let all = try? await deliveries() else { return false }
            let open = all.filter { $0["status"] == "pending" || $0["status"] == "running" }
            if open.isEmpty && depth.events == 0 && (count == nil || all.count == count) { settled = all }
            return settled != nil
        }
        if let settled { return settled }
        Issue.record("deliveries did not settle: \(try await deliveries())")
        return try await deliveries()
    }

    func issue(_ key: String) async -> EmulatedIssue { await emulator.issue(key)! }

    /// The Jira requests the emulator received for REST paths containing `fragment`.
    func jiraRequests(_ fragment: String = "/rest/") async -> [RecordedRequest] {
        await emulator.requests.filter { $0.path.contains(fragment) && !$0.path.contains("serverInfo") }
    }
}

/// A store of its own on the test's database (SQLite, or PostgreSQL with `JIRA_BRIDGE_TEST_STORE`), with no
/// server's workers claiming from it; dropped after `body`.
func withStandaloneStore(_ body: (SQLStore) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let made = try await TestDatabases.make(sqlitePath: dir.appendingPathComponent("store.sqlite").path)
    let store = SQLStore(database: made.database, secrets: SecretBox(base64Key: SecretBox.generateKey())!)
    do {
        try await store.migrate()
        try await body(store)
    } catch {
        await made.drop()
        throw error
    }
    await made.drop()
}
