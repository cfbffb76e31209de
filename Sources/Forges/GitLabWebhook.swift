import Foundation
import Integration

/// GitLab's `Push Hook` and `Merge Request Hook` payloads, decoded into forge-neutral events.
public enum GitLabWebhook {
    /// The events jira-bridge acts on; others are acknowledged and ignored.
    public static let handledEvents: Set<String> = ["Push Hook", "Merge Request Hook"]

    public typealias Document = WebhookDocument

    public static func parse(_ body: Data) throws(WebhookPayloadError) -> Document {
        Document(doc: try Payload.object(body))
    }

    /// The project a payload belongs to, read before anything else (to find its webhook secret).
    public static func projectReference(_ document: Document) throws(WebhookPayloadError) -> (id: Int64, path: String) {
        let doc = document.doc
        guard let project = doc["project"] as? [String: Any] else { throw WebhookPayloadError("project is missing") }
        let id = try Payload.int64(project["id"], "project.id", fallback: doc["project_id"])
        guard let path = project["path_with_namespace"] as? String, !path.isEmpty else {
            throw WebhookPayloadError("project.path_with_namespace is missing")
        }
        return (id, path)
    }

    public static func decode(event: String, document: Document) throws(WebhookPayloadError) -> ForgeEvent {
        try decode(event: event, document: document.doc)
    }

    static func decode(event: String, document doc: [String: Any]) throws(WebhookPayloadError) -> ForgeEvent {
        switch event {
        case "Push Hook": return .push(try push(doc))
        case "Merge Request Hook": return .mergeRequest(try mergeRequest(doc))
        default: throw WebhookPayloadError("unsupported event \(event)")
        }
    }

    static func project(_ doc: [String: Any]) throws(WebhookPayloadError) -> ForgeProject {
        guard let p = doc["project"] as? [String: Any] else { throw WebhookPayloadError("project is missing") }
        let id = try Payload.int64(p["id"], "project.id", fallback: doc["project_id"])
        let path = try Payload.string(p["path_with_namespace"], "project.path_with_namespace")
        let webURL = try Payload.string(p["web_url"], "project.web_url")
        // It becomes the link in every Jira comment and remote link: only a plain web address will do.
        guard EventLimits.isWebURL(webURL) else { throw WebhookPayloadError("project.web_url must be an http(s) URL") }
        let name = (p["name"] as? String) ?? String(path.split(separator: "/").last ?? "")
        return ForgeProject(id: id, pathWithNamespace: path, name: name, namespaceName: (p["namespace"] as? String) ?? "",
                            webURL: webURL, defaultBranch: (p["default_branch"] as? String) ?? "main")
    }

    static func push(_ doc: [String: Any]) throws(WebhookPayloadError) -> PushEvent {
        let project = try project(doc)
        let ref = try Payload.string(doc["ref"], "ref")
        let rawCommits = doc["commits"] ?? [Any]()
        guard let list = rawCommits as? [Any] else { throw WebhookPayloadError("commits must be a list") }
        var commits: [ForgeCommit] = []
        for (i, item) in list.prefix(EventLimits.commitsPerPush).enumerated() {
            guard let c = item as? [String: Any] else { throw WebhookPayloadError("commits[\(i)] is not an object") }
            let id = try Payload.string(c["id"], "commits[\(i)].id")
            guard EventLimits.isCommitID(id) else { throw WebhookPayloadError("commits[\(i)].id is not a commit SHA") }
            let message = try Payload.string(c["message"], "commits[\(i)].message", allowEmpty: true)
            let author = c["author"] as? [String: Any]
            let url = (c["url"] as? String).flatMap { EventLimits.isWebURL($0) ? $0 : nil } ?? "\(project.webURL)/-/commit/\(id)"
            commits.append(ForgeCommit(id: id, message: message, url: url,
                                       authorName: (author?["name"] as? String) ?? "", authorEmail: author?["email"] as? String))
        }
        let pusher = ForgeUser(name: (doc["user_name"] as? String) ?? "", username: (doc["user_username"] as? String) ?? "",
                               email: doc["user_email"] as? String)
        let omitted = list.count - commits.count
        return PushEvent(project: project, ref: ref, before: (doc["before"] as? String) ?? "", after: (doc["after"] as? String) ?? "",
                         commits: commits, pusher: pusher, omittedCommits: omitted > 0 ? omitted : nil)
    }

    static func mergeRequest(_ doc: [String: Any]) throws(WebhookPayloadError) -> MergeRequestEvent {
        let project = try project(doc)
        guard let a = doc["object_attributes"] as? [String: Any] else { throw WebhookPayloadError("object_attributes is missing") }
        let iid = try Payload.int64(a["iid"], "object_attributes.iid", fallback: nil)
        let title = try Payload.string(a["title"], "object_attributes.title", allowEmpty: true)
        let user = doc["user"] as? [String: Any]
        let lastCommit = a["last_commit"] as? [String: Any]
        let url = (a["url"] as? String).flatMap { EventLimits.isWebURL($0) ? $0 : nil } ?? "\(project.webURL)/-/merge_requests/\(iid)"
        return MergeRequestEvent(
            project: project, iid: iid, title: title, description: (a["description"] as? String) ?? "",
            action: MergeRequestEvent.Action(rawValue: (a["action"] as? String) ?? "") ?? .other,
            sourceBranch: (a["source_branch"] as? String) ?? "", targetBranch: try Payload.string(a["target_branch"], "object_attributes.target_branch"),
            lastCommitID: (lastCommit?["id"] as? String).flatMap { EventLimits.isCommitID($0) ? $0 : nil }, url: url,
            user: ForgeUser(name: (user?["name"] as? String) ?? "", username: (user?["username"] as? String) ?? "", email: user?["email"] as? String))
    }
}
