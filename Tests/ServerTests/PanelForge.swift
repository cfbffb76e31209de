import Foundation
import Integration
import JiraEmulator
import Testing

/// One forge as the Development panel's end-to-end tests drive it: its repository registered with the
/// integration, and its real webhook payloads (the fixtures) with only the branch, commits, merge state and
/// times changed. GitLab: project 42 (`acme/web/shop`); GitHub: 186853002 (`Codertocat/Hello-World`); Gitea:
/// 61 (`gogits/hello-world`).
enum PanelForge: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case gitlab, github, gitea

    var testDescription: String { rawValue }

    /// The project's address in the API.
    var address: String {
        switch self {
        case .gitlab: return "42"
        case .github: return "github%3A186853002"
        case .gitea: return "gitea%3A61"
        }
    }

    /// The repository's id in Jira.
    var repositoryID: String {
        switch self {
        case .gitlab: return "gitlab-42"
        case .github: return "github-186853002"
        case .gitea: return "gitea-61"
        }
    }

    var webURL: String {
        switch self {
        case .gitlab: return "https://gitlab.example.com/acme/web/shop"
        case .github: return "https://github.com/Codertocat/Hello-World"
        case .gitea: return "http://try.gitea.io/gogits/hello-world"
        }
    }

    /// How the forge shows a merge or pull request's number.
    func displayID(_ number: Int) -> String { self == .gitlab ? "!\(number)" : "#\(number)" }

    /// Registers the repository with an active integration and `settings`.
    func configure(_ h: Harness, _ settings: [String: JSONValue]) async throws {
        switch self {
        case .gitlab: try await h.configure(settings)
        case .github:
            try await h.configureRepository(
                forge: "github", id: 186853002, path: "Codertocat/Hello-World", webURL: webURL, secret: "gh-secret", extra: settings)
        case .gitea:
            try await h.configureRepository(
                forge: "gitea", id: 61, path: "gogits/hello-world", webURL: webURL, secret: "gitea-secret", extra: settings)
        }
    }

    /// Sends the webhook `event` with `body`, as the forge would, with its delivery id.
    func send(_ h: Harness, _ event: String, _ body: String, delivery: String) async throws -> Int {
        switch self {
        case .gitlab: return try await h.webhook(event, body, key: delivery).status
        case .github: return try await h.github(event, body, delivery: delivery).status
        case .gitea: return try await h.gitea(event, body, delivery: delivery).status
        }
    }

    /// A push of `commits` (`(sha, message)`) to `branch`.
    func push(_ h: Harness, branch: String, commits: [(String, String)], delivery: String) async throws -> Int {
        let ref = "refs/heads/" + branch
        switch self {
        case .gitlab: return try await send(h, "Push Hook", Payloads.push(ref: ref, commits: commits), delivery: delivery)
        case .github: return try await send(h, "push", ForgePayloads.githubPush(ref: ref, commits: commits), delivery: delivery)
        case .gitea: return try await send(h, "push", ForgePayloads.giteaPush(ref: ref, commits: commits), delivery: delivery)
        }
    }

    /// The forge's report that `branch`, whose head was `head`, was deleted: GitLab's and GitHub's push to the
    /// zero commit, Gitea's `delete` event (which names no commit).
    func deleteBranch(_ h: Harness, branch: String, head: String, delivery: String) async throws -> Int {
        let zero = String(repeating: "0", count: 40)
        switch self {
        case .gitlab:
            var doc = Payloads.load("push")
            Payloads.retarget(&doc, defaultBranch: "main")
            doc["ref"] = "refs/heads/" + branch
            doc["before"] = head
            doc["after"] = zero
            doc["checkout_sha"] = NSNull()
            doc["commits"] = []
            doc["total_commits_count"] = 0
            return try await send(h, "Push Hook", ForgePayloads.text(doc), delivery: delivery)
        case .github:
            var doc = ForgePayloads.load("github", "push.branch_delete")
            ForgePayloads.retarget(&doc, (186853002, "Codertocat/Hello-World"))
            doc["ref"] = "refs/heads/" + branch
            doc["before"] = head
            return try await send(h, "push", ForgePayloads.text(doc), delivery: delivery)
        case .gitea:
            var doc = ForgePayloads.load("gitea", "delete.branch")
            doc["ref"] = branch
            return try await send(h, "delete", ForgePayloads.text(doc), delivery: delivery)
        }
    }

    enum ChangeState { case opened, updated, merged, closed }

    /// Merge or pull request `number`, titled `title`, in `state` as of `updated` (ISO 8601).
    func change(_ h: Harness, _ state: ChangeState, number: Int = 7, title: String, updated: String, delivery: String) async throws -> Int {
        switch self {
        case .gitlab:
            var doc = Payloads.load("merge_request")
            Payloads.retarget(&doc, defaultBranch: "main")
            var attrs = doc["object_attributes"] as! [String: Any]
            switch state {
            case .opened: (attrs["action"], attrs["state"]) = ("open", "opened")
            case .updated: (attrs["action"], attrs["state"]) = ("update", "opened")
            case .merged: (attrs["action"], attrs["state"]) = ("merge", "merged")
            case .closed: (attrs["action"], attrs["state"]) = ("close", "closed")
            }
            attrs["updated_at"] = updated
            attrs["iid"] = number
            attrs["title"] = title
            attrs["url"] = "\(webURL)/-/merge_requests/\(number)"
            doc["object_attributes"] = attrs
            return try await send(h, "Merge Request Hook", ForgePayloads.text(doc), delivery: delivery)
        case .github, .gitea:
            let closing = state == .merged || state == .closed
            var doc =
                self == .github
                ? ForgePayloads.load("github", closing ? "pull_request.closed" : "pull_request.opened")
                : ForgePayloads.load("gitea", closing ? "pull_request_closed" : "pull_request_opened")
            if self == .gitea {
                // Gitea's example pull request is of another repository: this one's, as the push example has it.
                doc["repository"] = ForgePayloads.load("gitea", "push")["repository"]
            }
            switch state {
            case .opened: doc["action"] = "opened"
            case .updated: doc["action"] = self == .github ? "synchronize" : "synchronized"
            case .merged, .closed: doc["action"] = "closed"
            }
            var pr = doc["pull_request"] as! [String: Any]
            pr["number"] = number
            pr["title"] = title
            pr["body"] = ""
            pr["state"] = closing ? "closed" : "open"
            pr["merged"] = state == .merged
            pr["updated_at"] = updated
            pr["html_url"] = self == .github ? "\(webURL)/pull/\(number)" : "\(webURL)/pulls/\(number)"
            doc["pull_request"] = pr
            doc["number"] = number
            return try await send(h, "pull_request", ForgePayloads.text(doc), delivery: delivery)
        }
    }

    /// The repository's delivery log, once nothing waits.
    @discardableResult
    func settle(_ h: Harness) async throws -> [JSONValue] {
        try await h.settle(project: address)
    }

    /// The repository's delivery log as it is now.
    func deliveries(_ h: Harness) async throws -> [JSONValue] {
        try await h.admin(.GET, "/api/v4/projects/\(address)/integrations/jira/deliveries?per_page=100").json.array ?? []
    }
}
