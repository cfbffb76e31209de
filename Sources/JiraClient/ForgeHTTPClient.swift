import Foundation
import Integration
import Logging
import NIOHTTP1

/// One project on a forge, as its API names it, with the token jira-bridge calls it with.
public struct ForgeAPITarget: Sendable, Equatable {
    public var forge: Forge
    /// The API's base (`https://gitlab.example.com/api/v4`, `https://api.github.com`, `https://gitea.example.com/api/v1`).
    public var apiURL: JiraURL
    public var token: String
    /// GitLab's numeric project id; GitHub's and Gitea's `owner/name`.
    public var projectID: Int64
    public var path: String

    public init(forge: Forge, apiURL: JiraURL, token: String, projectID: Int64, path: String) {
        self.forge = forge
        self.apiURL = apiURL
        self.token = token
        self.projectID = projectID
        self.path = path
    }

    /// The repository's part of a path: GitLab `/projects/42`, GitHub and Gitea `/repos/owner/name`.
    var repository: String {
        switch forge {
        case .gitlab: return "/projects/\(projectID)"
        case .github, .gitea:
            return "/repos/" + path.split(separator: "/", maxSplits: 1).map { JiraHTTPClient.pathSegment(String($0)) }.joined(separator: "/")
        }
    }
}

/// A commit status as jira-bridge sets it (GitHub's four states; GitLab's names are mapped).
public struct CommitStatus: Sendable, Equatable {
    public enum State: String, Sendable { case pending, success, failure, error }

    public var state: State
    /// GitHub's and Gitea's `context`, GitLab's `name` (`jira-bridge/jira-issue`).
    public var context: String
    /// At most 140 characters on GitHub, 255 on GitLab: cut to 140.
    public var description: String
    public var targetURL: String?

    public init(state: State, context: String, description: String, targetURL: String?) {
        self.state = state
        self.context = context
        self.description = description
        self.targetURL = targetURL
    }
}

/// The forges' REST APIs, for what jira-bridge says back: the same transport as Jira's (the outbound guard,
/// deadlines, redaction, Retry-After), with the token sent as `Authorization: Bearer`, which GitLab's, GitHub's
/// and Gitea's tokens all accept. A forge's rate-limit 403 is read as a 429.
extension JiraHTTPClient {
    /// `POST /projects/:id/statuses/:sha` (GitLab), `POST /repos/{owner}/{repo}/statuses/{sha}` (GitHub, Gitea).
    public func setCommitStatus(_ target: ForgeAPITarget, sha: String, status: CommitStatus, logger: Logger) async throws(JiraError) {
        let c = JiraConnection(base: target.apiURL, credentials: .bearer(token: target.token))
        let description = String(status.description.prefix(140))
        var body: [String: JSONValue] = ["description": .string(description)]
        switch target.forge {
        case .gitlab:
            let states: [CommitStatus.State: String] = [.pending: "pending", .success: "success", .failure: "failed", .error: "failed"]
            body["state"] = .string(states[status.state]!)
            body["name"] = .string(status.context)
        case .github, .gitea:
            body["state"] = .string(status.state.rawValue)
            body["context"] = .string(status.context)
        }
        // GitLab refuses a target_url longer than 255 characters.
        if let url = status.targetURL, url.utf8.count <= 255 { body["target_url"] = .string(url) }
        _ = try await send(
            c, .POST, target.repository + "/statuses/" + Self.pathSegment(sha), body: .object(body), forgeLimits: true, logger: logger)
    }
}

/// The lists a backfill reads, newest first, one page at a time.
extension JiraHTTPClient {
    /// GitLab `GET /projects/:id/merge_requests?state=all&order_by=updated_at`, GitHub and Gitea
    /// `GET /repos/{owner}/{repo}/pulls?state=all` sorted by their last update.
    public func listMergeRequests(_ target: ForgeAPITarget, page: Int, perPage: Int, logger: Logger) async throws(JiraError) -> JSONValue {
        let query: [(String, String)]
        let path: String
        switch target.forge {
        case .gitlab:
            path = target.repository + "/merge_requests"
            query = [("state", "all"), ("order_by", "updated_at"), ("sort", "desc"), ("per_page", "\(perPage)"), ("page", "\(page)")]
        case .github:
            path = target.repository + "/pulls"
            query = [("state", "all"), ("sort", "updated"), ("direction", "desc"), ("per_page", "\(perPage)"), ("page", "\(page)")]
        case .gitea:
            path = target.repository + "/pulls"
            query = [("state", "all"), ("sort", "recentupdate"), ("limit", "\(perPage)"), ("page", "\(page)")]
        }
        return try await forgeGet(target, path, query: query, logger: logger)
    }

    /// GitLab `GET /projects/:id/repository/branches`, GitHub and Gitea `GET /repos/{owner}/{repo}/branches`.
    public func listBranches(_ target: ForgeAPITarget, page: Int, perPage: Int, logger: Logger) async throws(JiraError) -> JSONValue {
        switch target.forge {
        case .gitlab:
            return try await forgeGet(
                target, target.repository + "/repository/branches", query: [("per_page", "\(perPage)"), ("page", "\(page)")], logger: logger)
        case .github:
            return try await forgeGet(
                target, target.repository + "/branches", query: [("per_page", "\(perPage)"), ("page", "\(page)")], logger: logger)
        case .gitea:
            return try await forgeGet(target, target.repository + "/branches", query: [("limit", "\(perPage)"), ("page", "\(page)")], logger: logger)
        }
    }

    /// GitHub `GET /repos/{owner}/{repo}/commits?sha=<branch>&per_page=1`: the branch's head commit, with its message.
    public func branchHead(_ target: ForgeAPITarget, branch: String, logger: Logger) async throws(JiraError) -> JSONValue {
        try await forgeGet(target, target.repository + "/commits", query: [("sha", branch), ("per_page", "1")], logger: logger)
    }

    func forgeGet(_ target: ForgeAPITarget, _ path: String, query: [(String, String)], logger: Logger) async throws(JiraError) -> JSONValue {
        let c = JiraConnection(base: target.apiURL, credentials: .bearer(token: target.token))
        return try await send(c, .GET, path, query: query, forgeLimits: true, logger: logger)
    }
}

/// Creating a branch (Jira's "Create branch").
extension JiraHTTPClient {
    public enum BranchCreation: Sendable, Equatable {
        case created
        /// The forge has a branch of that name already.
        case exists
    }

    /// GitLab `POST /projects/:id/repository/branches` (`branch`, `ref`); GitHub `POST /repos/{owner}/{repo}/git/refs`
    /// (`refs/heads/<name>` at the head of `from`, read first); Gitea and Forgejo `POST /repos/{owner}/{repo}/branches`
    /// (`new_branch_name`, `old_ref_name`, and `old_branch_name` for versions before 1.21). A branch that exists is
    /// `.exists` (GitLab's 400 "Branch already exists", GitHub's 422 "Reference already exists", Gitea's 409).
    public func createBranch(_ target: ForgeAPITarget, name: String, from: String, logger: Logger) async throws(JiraError) -> BranchCreation {
        let c = JiraConnection(base: target.apiURL, credentials: .bearer(token: target.token))
        do throws(JiraError) {
            switch target.forge {
            case .gitlab:
                _ = try await send(
                    c, .POST, target.repository + "/repository/branches", body: .object(["branch": .string(name), "ref": .string(from)]),
                    forgeLimits: true, logger: logger)
            case .github:
                let heads = try await branchHead(target, branch: from, logger: logger)
                guard let sha = heads.array?.first?["sha"]?.string else {
                    throw JiraError(kind: .http(status: 404), detail: "GitHub has no branch \(from) to start from")
                }
                _ = try await send(
                    c, .POST, target.repository + "/git/refs", body: .object(["ref": .string("refs/heads/" + name), "sha": .string(sha)]),
                    forgeLimits: true, logger: logger)
            case .gitea:
                _ = try await send(
                    c, .POST, target.repository + "/branches",
                    body: .object(["new_branch_name": .string(name), "old_ref_name": .string(from), "old_branch_name": .string(from)]),
                    forgeLimits: true, logger: logger)
            }
            return .created
        } catch {
            let said = error.jiraMessages.joined(separator: " ").lowercased()
            switch (target.forge, error.status) {
            case (.gitlab, 400) where said.contains("already exists"), (.github, 422) where said.contains("already exists"), (.gitea, 409):
                return .exists
            default: throw error
            }
        }
    }
}

/// What catch-up reads: the forge's record of its webhooks (GitHub, GitLab), or its commits and pull requests
/// (Gitea and Forgejo, which keep no record).
extension JiraHTTPClient {
    /// GitHub `GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries?per_page=100[&cursor=]`, newest first, with the
    /// next page's cursor from the `Link` header.
    public func hookDeliveries(
        _ target: ForgeAPITarget, hookID: Int64, cursor: String?, logger: Logger
    ) async throws(JiraError) -> (
        page: JSONValue, next: String?
    ) {
        let c = JiraConnection(base: target.apiURL, credentials: .bearer(token: target.token))
        var query = [("per_page", "100")]
        if let cursor { query.append(("cursor", cursor)) }
        let (page, headers) = try await exchange(
            c, .GET, target.repository + "/hooks/\(hookID)/deliveries", query: query, forgeLimits: true, logger: logger)
        return (page, CatchUp.nextCursor(link: headers.first(name: "Link")))
    }

    /// GitHub `GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}`: the delivery with its request
    /// headers and payload.
    public func hookDelivery(_ target: ForgeAPITarget, hookID: Int64, deliveryID: Int64, logger: Logger) async throws(JiraError) -> JSONValue {
        try await forgeGet(target, target.repository + "/hooks/\(hookID)/deliveries/\(deliveryID)", query: [], logger: logger)
    }

    /// GitLab `GET /projects/:id/hooks/:hook_id/events?per_page=100&page=n` (the last 7 days).
    public func hookEvents(_ target: ForgeAPITarget, hookID: Int64, page: Int, logger: Logger) async throws(JiraError) -> JSONValue {
        try await forgeGet(target, target.repository + "/hooks/\(hookID)/events", query: [("per_page", "100"), ("page", "\(page)")], logger: logger)
    }

    /// Gitea `GET /repos/{owner}/{repo}/commits?sha=<branch>&since=<ISO 8601>&limit=50&page=n`, without the stats,
    /// verification and files it would otherwise compute for each commit.
    public func commits(_ target: ForgeAPITarget, branch: String, since: String, page: Int, logger: Logger) async throws(JiraError) -> JSONValue {
        try await forgeGet(
            target, target.repository + "/commits",
            query: [
                ("sha", branch), ("since", since), ("limit", "50"), ("page", "\(page)"), ("stat", "false"), ("verification", "false"),
                ("files", "false"),
            ], logger: logger)
    }
}
