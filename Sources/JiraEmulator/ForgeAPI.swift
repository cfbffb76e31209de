import Foundation
import Hummingbird

/// The forges' APIs, as far as jira-bridge calls them, under `/forge/gitlab/api/v4`, `/forge/github` and
/// `/forge/gitea/api/v1` (a test sets a project's `forge_api_url` to one of them): commit statuses, with
/// the forges' answer shapes (GitLab's `doc/api/commits.md`, GitHub's and Gitea's API descriptions in
/// `../shared/reference/forge-apis/`). A token must be one the emulator knows (`Authorization: Bearer`, or
/// GitLab's `PRIVATE-TOKEN`); a wrong one is the forge's 401.
public actor EmulatedForges {
    public struct Status: Sendable, Equatable {
        public var forge: String
        /// GitLab's project id, or GitHub's and Gitea's `owner/name`.
        public var project: String
        public var sha: String
        public var context: String
        public var state: String
        public var description: String
        public var targetURL: String?
    }

    public static let defaultToken = "forge-token"

    private var tokens: Set<String> = [EmulatedForges.defaultToken]
    /// Every status set, in order (a forge keeps them all; the latest of a context is the commit's).
    public private(set) var statuses: [Status] = []
    /// Seeded repositories by `forge/project` (`ForgeRepositories.swift`).
    var repositories: [String: EmulatedRepository] = [:]
    /// Webhook deliveries by `forge/project/hook` (`ForgeRepositories.swift`).
    var hookDeliveries: [String: [EmulatedHookDelivery]] = [:]
    var nextDeliveryID = 1000
    private var nextID = 1

    public init() {}

    public func reset() {
        tokens = [Self.defaultToken]
        statuses = []
        repositories = [:]
        hookDeliveries = [:]
        nextID = 1
    }

    public func addToken(_ token: String) { tokens.insert(token) }

    /// The latest status of each context on `sha`.
    public func latest(sha: String) -> [Status] {
        var byContext: [String: Status] = [:]
        for s in statuses where s.sha == sha { byContext[s.context] = s }
        return byContext.values.sorted { $0.context < $1.context }
    }

    /// Answers a request under `/forge/`, or nil for another path.
    func respond(
        method: String, path: String, query: [String: String] = [:], authorization: String?, privateToken: String?, body: Data
    ) -> Response? {
        guard path.hasPrefix("/forge/") else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
        // ["", "forge", forge, ...]
        guard parts.count > 3 else { return json(404, ["message": "Not Found"]) }
        let forge = parts[2]
        let presented =
            privateToken
            ?? authorization.flatMap { a -> String? in
                for scheme in ["Bearer ", "token "] where a.hasPrefix(scheme) { return String(a.dropFirst(scheme.count)) }
                return nil
            }
        guard let presented, tokens.contains(presented) else {
            return forge == "gitlab" ? json(401, ["message": "401 Unauthorized"]) : json(401, ["message": "Bad credentials"])
        }
        let rest = Array(parts.dropFirst(3))
        if method == "GET", let answer = hookRecord(forge: forge, rest: rest, query: query) { return answer }
        if method == "GET", let answer = list(forge: forge, rest: rest, query: query) { return answer }
        if method == "POST", let answer = createBranch(forge: forge, rest: rest, body: body) { return answer }
        switch (forge, method) {
        case ("gitlab", "POST"):
            // api/v4/projects/:id/statuses/:sha
            guard rest.count == 6, rest[0] == "api", rest[1] == "v4", rest[2] == "projects", rest[4] == "statuses" else { break }
            return gitlabStatus(project: rest[3], sha: rest[5], body: body)
        case ("github", "POST"), ("gitea", "POST"):
            // [api/v1/]repos/:owner/:repo/statuses/:sha
            let r = forge == "gitea" && rest.count >= 2 && rest[0] == "api" && rest[1] == "v1" ? Array(rest.dropFirst(2)) : rest
            guard r.count == 5, r[0] == "repos", r[3] == "statuses" else { break }
            return status(forge: forge, project: r[1] + "/" + r[2], sha: r[4], body: body)
        default: break
        }
        return json(404, ["message": "Not Found"])
    }

    private func gitlabStatus(project: String, sha: String, body: Data) -> Response {
        guard let doc = object(body), let state = doc["state"] as? String else { return json(400, ["error": "state is missing"]) }
        guard ["pending", "running", "success", "failed", "canceled", "skipped"].contains(state) else {
            return json(400, ["error": "state does not have a valid value"])
        }
        let name = doc["name"] as? String ?? doc["context"] as? String ?? "default"
        let description = doc["description"] as? String ?? ""
        let target = doc["target_url"] as? String
        if description.count > 255 || (target?.count ?? 0) > 255 { return json(400, ["message": "is too long (maximum is 255 characters)"]) }
        let id = record(Status(forge: "gitlab", project: project, sha: sha, context: name, state: state, description: description, targetURL: target))
        let now = ISO8601DateFormatter().string(from: Date())
        return json(
            201,
            [
                "id": id, "sha": sha, "ref": NSNull(), "status": state, "name": name, "target_url": target ?? NSNull(),
                "description": description, "created_at": now, "started_at": NSNull(), "finished_at": NSNull(), "allow_failure": false,
                "coverage": NSNull(), "author": ["id": 1, "username": "jira-bridge", "name": "jira-bridge", "state": "active"],
            ] as [String: Any])
    }

    private func status(forge: String, project: String, sha: String, body: Data) -> Response {
        let states = forge == "github" ? ["error", "failure", "pending", "success"] : ["pending", "success", "error", "failure", "warning"]
        guard let doc = object(body), let state = doc["state"] as? String, states.contains(state) else {
            return json(422, ["message": "Validation Failed", "errors": [["resource": "Status", "field": "state", "code": "invalid"]]])
        }
        let context = doc["context"] as? String ?? "default"
        let description = doc["description"] as? String ?? ""
        let target = doc["target_url"] as? String
        if forge == "github", description.count > 140 {
            return json(422, ["message": "Validation Failed", "errors": [["resource": "Status", "field": "description", "code": "custom"]]])
        }
        let id = record(Status(forge: forge, project: project, sha: sha, context: context, state: state, description: description, targetURL: target))
        let now = ISO8601DateFormatter().string(from: Date())
        var answer: [String: Any] = [
            "id": id, "url": "https://\(forge).example/repos/\(project)/statuses/\(sha)", "description": description,
            "target_url": target ?? NSNull(), "context": context, "created_at": now, "updated_at": now,
            "creator": ["id": 1, "login": "jira-bridge"],
        ]
        // GitHub names the state `state`, with its `simple-user` creator; Gitea's CommitStatus names it `status`.
        if forge == "github" {
            let user = "https://api.github.com/users/jira-bridge"
            answer["node_id"] = "SC_\(id)"
            answer["state"] = state
            answer["avatar_url"] = "https://avatars.githubusercontent.com/u/1?v=4"
            answer["target_url"] = target ?? ""
            answer["creator"] =
                [
                    "login": "jira-bridge", "id": 1, "node_id": "U_1", "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
                    "gravatar_id": "", "url": user, "html_url": "https://github.com/jira-bridge", "followers_url": user + "/followers",
                    "following_url": user + "/following{/other_user}", "gists_url": user + "/gists{/gist_id}",
                    "starred_url": user + "/starred{/owner}{/repo}", "subscriptions_url": user + "/subscriptions",
                    "organizations_url": user + "/orgs", "repos_url": user + "/repos", "events_url": user + "/events{/privacy}",
                    "received_events_url": user + "/received_events", "type": "Bot", "site_admin": false,
                ] as [String: Any]
        } else {
            answer["status"] = state
        }
        return json(201, answer)
    }

    private func record(_ status: Status) -> Int {
        statuses.append(status)
        defer { nextID += 1 }
        return nextID
    }
}
