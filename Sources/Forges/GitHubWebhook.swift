import Foundation
import Integration

/// GitHub's `push`, `pull_request`, `workflow_run` and `deployment_status` payloads, decoded into forge-neutral
/// events.
public enum GitHubWebhook {
    /// `X-GitHub-Event` values acted on; `ping` is answered and stores nothing, others are acknowledged and ignored.
    public static let handledEvents: Set<String> = ["push", "pull_request", "workflow_run", "deployment_status"]

    public static func parse(_ json: Data) throws(WebhookPayloadError) -> WebhookDocument {
        WebhookDocument(doc: try Payload.object(json))
    }

    /// The repository a payload belongs to (GitHub's numeric id and `owner/name`).
    public static func projectReference(_ document: WebhookDocument) throws(WebhookPayloadError) -> (id: Int64, path: String) {
        let repository = try repositoryObject(document.doc)
        return (try Payload.int64(repository["id"], "repository.id"), try Payload.string(repository["full_name"], "repository.full_name"))
    }

    /// The event, or nil for a pull request action that changes nothing (labels, reviews, assignments).
    public static func decode(event: String, document: WebhookDocument) throws(WebhookPayloadError) -> ForgeEvent? {
        let doc = document.doc
        switch event {
        case "push": return .push(try push(doc))
        case "pull_request": return try pullRequest(doc).map(ForgeEvent.mergeRequest)
        case "workflow_run": return .pipeline(try Runs.workflowRun(doc, project: try project(doc)))
        case "deployment_status": return try Runs.deploymentStatus(doc, project: try project(doc)).map(ForgeEvent.deployment)
        default: throw WebhookPayloadError("unsupported event \(event)")
        }
    }

    /// The organisation of an organisation hook's `ping`, which names no repository.
    public static func organization(_ document: WebhookDocument) -> String? {
        Payload.optionalString(document.doc["organization"]?.object?["login"])
    }

    /// The `action` of a pull request payload.
    public static func action(_ document: WebhookDocument) -> String? {
        Payload.optionalString(document.doc["action"])
    }

    static func repositoryObject(_ doc: JSONObject) throws(WebhookPayloadError) -> JSONObject {
        guard let repository = doc["repository"]?.object else { throw WebhookPayloadError("repository is missing") }
        return repository
    }

    static func project(_ doc: JSONObject) throws(WebhookPayloadError) -> ForgeProject {
        let r = try repositoryObject(doc)
        let id = try Payload.int64(r["id"], "repository.id")
        let path = try Payload.string(r["full_name"], "repository.full_name")
        let webURL = try Payload.string(r["html_url"], "repository.html_url")
        guard EventLimits.isWebURL(webURL) else { throw WebhookPayloadError("repository.html_url must be an http(s) URL") }
        let owner = r["owner"]?.object
        let name = r["name"]?.string ?? String(path.split(separator: "/").last ?? "")
        return ForgeProject(
            id: id, pathWithNamespace: path, name: name,
            namespaceName: Payload.optionalString(owner?["login"]) ?? Payload.optionalString(owner?["name"]) ?? "",
            webURL: webURL, defaultBranch: Payload.optionalString(r["default_branch"]) ?? "main", forge: .github)
    }

    static func push(_ doc: JSONObject) throws(WebhookPayloadError) -> PushEvent {
        let project = try project(doc)
        let ref = try Payload.string(doc["ref"], "ref")
        let (commits, omitted) = try Payload.commits(doc["commits"], forge: .github, projectURL: project.webURL)
        let pusher = doc["pusher"]?.object
        let sender = doc["sender"]?.object
        let login = Payload.optionalString(sender?["login"]) ?? Payload.optionalString(pusher?["name"]) ?? ""
        return PushEvent(
            project: project, ref: ref, before: doc["before"]?.string ?? "", after: doc["after"]?.string ?? "",
            commits: commits,
            pusher: ForgeUser(
                name: Payload.optionalString(pusher?["name"]) ?? login, username: login,
                email: pusher?["email"]?.string),
            omittedCommits: omitted)
    }

    static func pullRequest(_ doc: JSONObject) throws(WebhookPayloadError) -> MergeRequestEvent? {
        try ChangeRequest.decode(doc, project: try project(doc), synchronized: "synchronize")
    }
}

/// The fields GitHub and Gitea pull requests share.
enum ChangeRequest {
    /// A pull request payload: opened, reopened, edited and `synchronized` (GitHub's `synchronize`, Gitea's
    /// `synchronized`) re-read the text; closed is a merge when `merged` is true, else a close; other actions
    /// (labels, reviews, assignments) are nil.
    static func decode(_ doc: JSONObject, project: ForgeProject, synchronized: String) throws(WebhookPayloadError) -> MergeRequestEvent? {
        guard let pr = doc["pull_request"]?.object else { throw WebhookPayloadError("pull_request is missing") }
        let number = try Payload.int64(pr["number"] ?? doc["number"], "pull_request.number")
        let merged = pr["merged"]?.bool ?? false
        let action: MergeRequestEvent.Action
        switch doc["action"]?.string ?? "" {
        case "opened": action = .open
        case "reopened": action = .reopen
        case "edited", synchronized: action = ChangeRequest.leftDraft(doc) ? .ready : .update
        case "ready_for_review": action = .ready
        case "closed": action = merged ? .merge : .close
        default: return nil
        }
        return event(project: project, number: number, pr: pr, action: action, sender: doc["sender"]?.object)
    }

    static func event(
        project: ForgeProject, number: Int64, pr: JSONObject, action: MergeRequestEvent.Action,
        sender: JSONObject?
    ) -> MergeRequestEvent {
        let head = pr["head"]?.object
        let base = pr["base"]?.object
        // A merge closes with its merge commit ("Issue solved with <merge commit>"); otherwise the head.
        let commit = action == .merge ? Payload.optionalString(pr["merge_commit_sha"]) : Payload.optionalString(head?["sha"])
        let user = sender ?? pr["user"]?.object
        let login = Payload.optionalString(user?["login"]) ?? Payload.optionalString(user?["username"]) ?? ""
        return MergeRequestEvent(
            project: project, iid: number, title: pr["title"]?.string ?? "", description: pr["body"]?.string ?? "",
            action: action, sourceBranch: head?["ref"]?.string ?? "", targetBranch: base?["ref"]?.string ?? project.defaultBranch,
            lastCommitID: commit.flatMap { EventLimits.isCommitID($0) ? $0 : nil },
            url: Payload.webURL(pr["html_url"]) ?? project.forge.changeURL(project: project.webURL, number: number),
            user: ForgeUser(
                name: Payload.optionalString(user?["full_name"]) ?? login, username: login, email: Payload.optionalString(user?["email"])),
            details: details(pr))
    }

    /// Whether an edit took the title's draft marker away (Gitea's and Forgejo's drafts are `WIP:` or `Draft:`
    /// titles): `changes.title.from` had one, the title has none.
    static func leftDraft(_ doc: JSONObject) -> Bool {
        guard let from = doc["changes"]?["title"]?["from"]?.string, let title = doc["pull_request"]?["title"]?.string else { return false }
        return isDraftTitle(from) && !isDraftTitle(title)
    }

    static func isDraftTitle(_ title: String) -> Bool {
        let t = title.lowercased()
        return ["wip:", "[wip]", "draft:", "[draft]"].contains { t.hasPrefix($0) }
    }

    /// `state` (`open`, `closed`) with `merged`, `draft`, `updated_at`, the author, the comments (GitHub counts
    /// review comments apart) and the requested reviewers.
    static func details(_ pr: JSONObject) -> ChangeDetails {
        let merged = pr["merged"]?.bool ?? false
        let state: ChangeDetails.State = merged ? .merged : (pr["state"]?.string == "closed" ? .closed : .open)
        let author = pr["user"]?.object
        func count(_ name: String) -> Int { pr[name]?.number.flatMap { Int(exactly: $0) }.map { max(0, min($0, 1_000_000)) } ?? 0 }
        let reviewers = (pr["requested_reviewers"]?.array ?? []).prefix(EventLimits.reviewersPerChange).compactMap {
            Payload.optionalString($0["login"]) ?? Payload.optionalString($0["username"])
        }
        return ChangeDetails(
            state: state, draft: pr["draft"]?.bool ?? false, updatedAt: Payload.timestamp(pr["updated_at"]),
            author: Payload.optionalString(author?["login"]) ?? Payload.optionalString(author?["username"]),
            commentCount: count("comments") + count("review_comments"), reviewers: reviewers)
    }
}
