import Foundation
import Integration
import Store
import TestDatabases
import Testing

/// GitHub's and Gitea's real payloads from the fixtures, with only their texts, merge state and branch changed.
enum ForgePayloads {
    static func load(_ forge: String, _ name: String) -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures/\(forge)/\(name)", withExtension: "json")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func text(_ doc: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
    }

    /// GitHub's push example (repository 186853002, `Codertocat/Hello-World`, default branch master), with
    /// commits `(sha, message)` on `ref`.
    static func githubPush(ref: String = "refs/heads/feature", commits: [(String, String)], repository: (id: Int, path: String)? = nil) -> String {
        var doc = load("github", "push")
        doc["ref"] = ref
        retarget(&doc, repository)
        let template = (doc["commits"] as! [[String: Any]])[0]
        let web = ((doc["repository"] as! [String: Any])["html_url"] as! String)
        doc["commits"] = commits.map { sha, message -> [String: Any] in
            var c = template
            c["id"] = sha
            c["message"] = message
            c["url"] = "\(web)/commit/\(sha)"
            return c
        }
        return text(doc)
    }

    /// GitHub's pull request example (#2) with `action`, texts, and, for `closed`, whether it was merged.
    static func githubPullRequest(
        action: String, title: String, body: String = "", merged: Bool = false,
        mergeCommit: String = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
    ) -> String {
        var doc = load("github", action == "closed" ? "pull_request.closed" : "pull_request.opened")
        doc["action"] = action
        var pr = doc["pull_request"] as! [String: Any]
        pr["title"] = title
        pr["body"] = body
        pr["merged"] = merged
        pr["merge_commit_sha"] = mergeCommit
        doc["pull_request"] = pr
        return text(doc)
    }

    /// Points a payload at another repository (`id`, `owner/name`), keeping GitHub's URL shape.
    static func retarget(_ doc: inout [String: Any], _ repository: (id: Int, path: String)?) {
        guard let repository else { return }
        var r = doc["repository"] as! [String: Any]
        r["id"] = repository.id
        r["full_name"] = repository.path
        r["name"] = String(repository.path.split(separator: "/").last!)
        r["html_url"] = "https://github.com/\(repository.path)"
        doc["repository"] = r
    }

    /// Gitea's push example (repository 61, `gogits/hello-world`, default branch master).
    static func giteaPush(ref: String = "refs/heads/master", commits: [(String, String)]) -> String {
        var doc = load("gitea", "push")
        doc["ref"] = ref
        let template = (doc["commits"] as! [[String: Any]])[0]
        doc["commits"] = commits.map { sha, message -> [String: Any] in
            var c = template
            c["id"] = sha
            c["message"] = message
            c["url"] = "http://try.gitea.io/gogits/hello-world/commit/\(sha)"
            return c
        }
        return text(doc)
    }

    /// Gitea's pull request example (#1 of repository 6589, `jcitizen/my-repo`).
    static func giteaPullRequest(action: String, title: String, merged: Bool = false, mergeCommit: String? = nil) -> String {
        var doc = load("gitea", action == "closed" ? "pull_request_closed" : "pull_request_opened")
        doc["action"] = action
        var pr = doc["pull_request"] as! [String: Any]
        pr["title"] = title
        pr["merged"] = merged
        if let mergeCommit { pr["merge_commit_sha"] = mergeCommit }
        doc["pull_request"] = pr
        return text(doc)
    }
}

extension Harness {
    /// Sends a GitHub webhook signed with `secret` (nil: unsigned), as `contentType`.
    func github(
        _ event: String, _ body: String, secret: String? = "gh-secret", delivery: String? = nil, form: Bool = false
    ) async throws -> TestResponse {
        let raw = form ? "payload=" + (body.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? body) : body
        var headers = [("X-GitHub-Event", event), ("Content-Type", form ? "application/x-www-form-urlencoded" : "application/json")]
        if let secret { headers.append(("X-Hub-Signature-256", "sha256=" + TokenSecret.signature(of: Data(raw.utf8), secret: secret))) }
        if let delivery { headers.append(("X-GitHub-Delivery", delivery)) }
        return try await request(.POST, "/webhooks/github", raw: raw, headers: headers)
    }

    /// Sends a Gitea webhook signed (over the JSON payload) with `secret`; Forgejo's headers when `forgejo`.
    func gitea(
        _ event: String, _ body: String, secret: String? = "gitea-secret", form: Bool = false, forgejo: Bool = false,
        delivery: String? = nil
    ) async throws -> TestResponse {
        let raw = form ? "payload=" + (body.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? body) : body
        let prefix = forgejo ? "X-Forgejo" : "X-Gitea"
        var headers = [("\(prefix)-Event", event), ("Content-Type", form ? "application/x-www-form-urlencoded" : "application/json")]
        if let secret { headers.append(("\(prefix)-Signature", TokenSecret.signature(of: Data(body.utf8), secret: secret))) }
        if let delivery { headers.append(("\(prefix)-Delivery", delivery)) }
        return try await request(.POST, "/webhooks/gitea", raw: raw, headers: headers)
    }

    /// Registers a repository of `forge` with an active integration against the emulator and a webhook secret.
    func configureRepository(
        forge: String, id: Int, path: String, webURL: String, secret: String, jiraURL: String? = nil,
        extra: [String: JSONValue] = [:]
    ) async throws {
        let r = try await admin(
            .POST, "/api/v4/projects",
            json: [
                "forge": .string(forge), "id": .number(Double(id)),
                "path_with_namespace": .string(path), "web_url": .string(webURL),
                "default_branch": "master",
            ])
        precondition(r.status == 201, "\(r.status) \(r.text)")
        var settings = workingSettings(extra)
        if let jiraURL, case .object(var doc) = settings { doc["url"] = .string(jiraURL); settings = .object(doc) }
        let s = try await admin(.PUT, "/api/v4/projects/\(forge)%3A\(id)/integrations/jira", json: settings)
        precondition(s.status == 200, s.text)
        let w = try await admin(.PUT, "/api/v4/projects/\(forge):\(id)", json: ["webhook_secret": .string(secret)])
        precondition(w.status == 200, w.text)
    }

    /// Waits until the deliveries of the project at `address` have finished, and returns them.
    @discardableResult
    func settle(project address: String, expecting count: Int? = nil) async throws -> [JSONValue] {
        var settled: [JSONValue]? = nil
        try await eventually {
            // The deliveries, then the events, then the deliveries again: settled when nothing is open, no event
            // waits, and the two reads agree. A delivery that takes events in (a catch-up) writes them before it
            // ends, so it shows as running in the first read, or its events' deliveries show in the second.
            let before = try await admin(.GET, "/api/v4/projects/\(address)/integrations/jira/deliveries?per_page=100")
            let planned = try await store.queueDepth().events == 0
            let r = try await admin(.GET, "/api/v4/projects/\(address)/integrations/jira/deliveries?per_page=100")
            if planned, r.status == 200, before.status == 200, let all = r.json.array, before.json.array == all {
                let open = all.filter { $0["status"] == "pending" || $0["status"] == "running" }
                if open.isEmpty, count == nil || all.count == count { settled = all }
            }
            return settled != nil
        }
        if let settled { return settled }
        Issue.record("deliveries of \(address) did not settle")
        return try await admin(.GET, "/api/v4/projects/\(address)/integrations/jira/deliveries?per_page=100").json.array ?? []
    }
}
