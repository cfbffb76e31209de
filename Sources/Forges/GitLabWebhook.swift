import Foundation
import Integration

/// GitLab's `Push Hook`, `Merge Request Hook`, `Pipeline Hook` and `Deployment Hook` payloads, decoded into
/// forge-neutral events.
public enum GitLabWebhook {
    /// The events jira-bridge acts on; others are acknowledged and ignored.
    public static let handledEvents: Set<String> = ["Push Hook", "Merge Request Hook", "Pipeline Hook", "Deployment Hook"]

    public typealias Document = WebhookDocument

    /// The body as bytes in memory (`Data`, or the request's buffer itself: no copy of a 25 MB body).
    public static func parse<Body: Collection<UInt8>>(_ body: Body) throws(WebhookPayloadError) -> Document {
        Document(doc: try Payload.object(body))
    }

    /// The project a payload belongs to, read before anything else (to find its webhook secret).
    public static func projectReference(_ document: Document) throws(WebhookPayloadError) -> (id: Int64, path: String) {
        let doc = document.doc
        guard let project = doc["project"]?.object else { throw WebhookPayloadError("project is missing") }
        let id = try Payload.int64(project["id"], "project.id", fallback: doc["project_id"])
        guard let path = project["path_with_namespace"]?.string, !path.isEmpty else {
            throw WebhookPayloadError("project.path_with_namespace is missing")
        }
        return (id, path)
    }

    public static func decode(event: String, document: Document) throws(WebhookPayloadError) -> ForgeEvent {
        try decode(event: event, document: document.doc)
    }

    static func decode(event: String, document doc: JSONObject) throws(WebhookPayloadError) -> ForgeEvent {
        switch event {
        case "Push Hook": return .push(try push(doc))
        case "Merge Request Hook": return .mergeRequest(try mergeRequest(doc))
        case "Pipeline Hook": return .pipeline(try Runs.gitlabPipeline(doc, project: try project(doc)))
        case "Deployment Hook": return .deployment(try Runs.gitlabDeployment(doc, project: try project(doc)))
        default: throw WebhookPayloadError("unsupported event \(event)")
        }
    }

    static func project(_ doc: JSONObject) throws(WebhookPayloadError) -> ForgeProject {
        guard let p = doc["project"]?.object else { throw WebhookPayloadError("project is missing") }
        let id = try Payload.int64(p["id"], "project.id", fallback: doc["project_id"])
        let path = try Payload.string(p["path_with_namespace"], "project.path_with_namespace")
        let webURL = try Payload.string(p["web_url"], "project.web_url")
        // It becomes the link in every Jira comment and remote link: only a plain web address will do.
        guard EventLimits.isWebURL(webURL) else { throw WebhookPayloadError("project.web_url must be an http(s) URL") }
        let name = p["name"]?.string ?? String(path.split(separator: "/").last ?? "")
        return ForgeProject(
            id: id, pathWithNamespace: path, name: name, namespaceName: p["namespace"]?.string ?? "",
            webURL: webURL, defaultBranch: p["default_branch"]?.string ?? "main")
    }

    static func push(_ doc: JSONObject) throws(WebhookPayloadError) -> PushEvent {
        let project = try project(doc)
        let ref = try Payload.string(doc["ref"], "ref")
        guard let list = (doc["commits"] ?? .array([])).array else { throw WebhookPayloadError("commits must be a list") }
        var commits: [ForgeCommit] = []
        for (i, item) in list.prefix(EventLimits.commitsPerPush).enumerated() {
            guard let c = item.object else { throw WebhookPayloadError("commits[\(i)] is not an object") }
            let id = try Payload.string(c["id"], "commits[\(i)].id")
            guard EventLimits.isCommitID(id) else { throw WebhookPayloadError("commits[\(i)].id is not a commit SHA") }
            let message = try Payload.string(c["message"], "commits[\(i)].message", allowEmpty: true)
            let author = c["author"]?.object
            let url = c["url"]?.string.flatMap { EventLimits.isWebURL($0) ? $0 : nil } ?? Forge.gitlab.commitURL(project: project.webURL, sha: id)
            commits.append(
                ForgeCommit(
                    id: id, message: message, url: url,
                    authorName: author?["name"]?.string ?? "", authorEmail: author?["email"]?.string,
                    timestamp: Payload.timestamp(c["timestamp"]), fileCount: Payload.fileCount(c)))
        }
        let pusher = ForgeUser(
            name: doc["user_name"]?.string ?? "", username: doc["user_username"]?.string ?? "",
            email: doc["user_email"]?.string)
        let omitted = list.count - commits.count
        return PushEvent(
            project: project, ref: ref, before: doc["before"]?.string ?? "", after: doc["after"]?.string ?? "",
            commits: commits, pusher: pusher, omittedCommits: omitted > 0 ? omitted : nil)
    }

    static func mergeRequest(_ doc: JSONObject) throws(WebhookPayloadError) -> MergeRequestEvent {
        let project = try project(doc)
        guard let a = doc["object_attributes"]?.object else { throw WebhookPayloadError("object_attributes is missing") }
        let iid = try Payload.int64(a["iid"], "object_attributes.iid", fallback: nil)
        let title = try Payload.string(a["title"], "object_attributes.title", allowEmpty: true)
        let user = doc["user"]?.object
        let lastCommit = a["last_commit"]?.object
        let url = a["url"]?.string.flatMap { EventLimits.isWebURL($0) ? $0 : nil } ?? "\(project.webURL)/-/merge_requests/\(iid)"
        return MergeRequestEvent(
            project: project, iid: iid, title: title, description: a["description"]?.string ?? "",
            action: Self.leftDraft(doc) ? .ready : MergeRequestEvent.Action(rawValue: a["action"]?.string ?? "") ?? .other,
            sourceBranch: a["source_branch"]?.string ?? "", targetBranch: try Payload.string(a["target_branch"], "object_attributes.target_branch"),
            lastCommitID: lastCommit?["id"]?.string.flatMap { EventLimits.isCommitID($0) ? $0 : nil }, url: url,
            user: ForgeUser(name: user?["name"]?.string ?? "", username: user?["username"]?.string ?? "", email: user?["email"]?.string),
            details: details(a, doc))
    }

    /// GitLab's `state` (`opened`, `merged`, `closed`, `locked`), `draft` (`work_in_progress` before 13.x),
    /// `updated_at` and the reviewers listed beside the attributes.
    static func details(_ a: JSONObject, _ doc: JSONObject) -> ChangeDetails {
        ChangeDetails(
            state: state(a), draft: a["draft"]?.bool ?? a["work_in_progress"]?.bool ?? false, updatedAt: Payload.timestamp(a["updated_at"]),
            author: nil, commentCount: 0, reviewers: reviewers(doc["reviewers"]))
    }

    /// Whether an update took the merge request out of draft: `changes.draft` (`work_in_progress` before 13.x)
    /// from true to false.
    static func leftDraft(_ doc: JSONObject) -> Bool {
        guard doc["object_attributes"]?["action"]?.string == "update" else { return false }
        for field in ["draft", "work_in_progress"] {
            if let change = doc["changes"]?[field], change["previous"]?.bool == true, change["current"]?.bool == false { return true }
        }
        return false
    }

    /// A merge request's `state` (`opened`, `merged`, `closed`, `locked`).
    static func state(_ a: JSONObject) -> ChangeDetails.State {
        switch a["state"]?.string ?? "" {
        case "merged": return .merged
        case "closed": return .closed
        default: return .open
        }
    }

    /// The reviewers' names (or usernames), at most `EventLimits.reviewersPerChange`.
    static func reviewers(_ list: JSONValue?) -> [String] {
        (list?.array ?? []).prefix(EventLimits.reviewersPerChange).compactMap {
            Payload.optionalString($0["name"]) ?? Payload.optionalString($0["username"])
        }
    }
}
