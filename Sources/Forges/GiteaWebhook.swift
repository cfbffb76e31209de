import Foundation
import Integration

/// Gitea's and Forgejo's `push`, `pull_request` and `delete` payloads, decoded into forge-neutral events.
public enum GiteaWebhook {
    /// `X-Gitea-Event` / `X-Forgejo-Event` values acted on; others are acknowledged and ignored. Gitea sends
    /// no `push` when a branch is deleted, only `delete` (GitHub sends both, so its `delete` is not needed).
    public static let handledEvents: Set<String> = ["push", "pull_request", "delete", "workflow_run"]

    public static func parse(_ json: Data) throws(WebhookPayloadError) -> WebhookDocument {
        WebhookDocument(doc: try Payload.object(json))
    }

    public static func projectReference(_ document: WebhookDocument) throws(WebhookPayloadError) -> (id: Int64, path: String) {
        try GitHubWebhook.projectReference(document)
    }

    /// The event, or nil for a pull request action that changes nothing. `type` is the finer
    /// `X-Gitea-Event-Type`: comments on a pull request arrive as `pull_request` events of another type.
    public static func decode(event: String, type: String?, document: WebhookDocument) throws(WebhookPayloadError) -> ForgeEvent? {
        let doc = document.doc
        switch event {
        case "push": return .push(try push(doc))
        case "pull_request":
            if let type, !type.isEmpty, type != "pull_request" { return nil }
            return try pullRequest(doc).map(ForgeEvent.mergeRequest)
        case "delete": return try deletion(doc).map(ForgeEvent.push)
        case "workflow_run": return .pipeline(try Runs.workflowRun(doc, project: try project(doc)))
        default: throw WebhookPayloadError("unsupported event \(event)")
        }
    }

    static func project(_ doc: JSONObject) throws(WebhookPayloadError) -> ForgeProject {
        var project = try GitHubWebhook.project(doc)
        project.forge = .gitea
        let owner = doc["repository"]?["owner"]?.object
        project.namespaceName =
            Payload.optionalString(owner?["full_name"]) ?? Payload.optionalString(owner?["username"])
            ?? Payload.optionalString(owner?["login"]) ?? ""
        return project
    }

    static func push(_ doc: JSONObject) throws(WebhookPayloadError) -> PushEvent {
        let project = try project(doc)
        let ref = try Payload.string(doc["ref"], "ref")
        let (commits, omitted) = try Payload.commits(doc["commits"], forge: .gitea, projectURL: project.webURL)
        let pusher = doc["pusher"]?.object ?? doc["sender"]?.object
        let username = Payload.optionalString(pusher?["username"]) ?? Payload.optionalString(pusher?["login"]) ?? ""
        return PushEvent(
            project: project, ref: ref, before: doc["before"]?.string ?? "", after: doc["after"]?.string ?? "",
            commits: commits,
            pusher: ForgeUser(
                name: Payload.optionalString(pusher?["full_name"]) ?? username, username: username,
                email: Payload.optionalString(pusher?["email"])),
            omittedCommits: omitted)
    }

    /// A deleted branch, as a push of no commits to the zero commit (how GitLab and GitHub report it); nil for
    /// a deleted tag. The payload names no commit: `before` stays empty.
    static func deletion(_ doc: JSONObject) throws(WebhookPayloadError) -> PushEvent? {
        let project = try project(doc)
        guard Payload.optionalString(doc["ref_type"]) == "branch" else { return nil }
        let name = try Payload.string(doc["ref"], "ref")
        guard !name.isEmpty else { throw WebhookPayloadError("ref is empty") }
        let sender = doc["sender"]?.object
        let username = Payload.optionalString(sender?["username"]) ?? Payload.optionalString(sender?["login"]) ?? ""
        return PushEvent(
            project: project, ref: name.hasPrefix("refs/") ? name : "refs/heads/" + name, before: "",
            after: String(repeating: "0", count: 40), commits: [],
            pusher: ForgeUser(name: Payload.optionalString(sender?["full_name"]) ?? username, username: username, email: nil),
            omittedCommits: nil)
    }

    static func pullRequest(_ doc: JSONObject) throws(WebhookPayloadError) -> MergeRequestEvent? {
        try ChangeRequest.decode(doc, project: try project(doc), synchronized: "synchronized")
    }
}
