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
