import Foundation
import Integration

/// A webhook body that cannot be read, with a message naming what is wrong.
public struct WebhookPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// GitLab's `Push Hook` and `Merge Request Hook` payloads, decoded into forge-neutral events.
public enum GitLabWebhook {
    /// The events jira-bridge acts on; others are acknowledged and ignored.
    public static let handledEvents: Set<String> = ["Push Hook", "Merge Request Hook"]

    /// A parsed body, so a payload is parsed once for its project and then for its event.
    public struct Document: @unchecked Sendable {
        let doc: [String: Any]
    }

    public static func parse(_ body: Data) throws(WebhookPayloadError) -> Document {
        Document(doc: try object(body))
    }

    /// The project a payload belongs to, read before anything else (to find its webhook secret).
    public static func projectReference(_ document: Document) throws(WebhookPayloadError) -> (id: Int64, path: String) {
        let doc = document.doc
        guard let project = doc["project"] as? [String: Any] else { throw WebhookPayloadError("project is missing") }
        let id = try int64(project["id"], "project.id", fallback: doc["project_id"])
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

    static func object(_ body: Data) throws(WebhookPayloadError) -> [String: Any] {
        guard let parsed = try? JSONSerialization.jsonObject(with: body) else {
            throw WebhookPayloadError("the body is not valid JSON")
        }
        guard let doc = parsed as? [String: Any] else { throw WebhookPayloadError("the body is not a JSON object") }
        return doc
    }

    static func project(_ doc: [String: Any]) throws(WebhookPayloadError) -> ForgeProject {
        guard let p = doc["project"] as? [String: Any] else { throw WebhookPayloadError("project is missing") }
        let id = try int64(p["id"], "project.id", fallback: doc["project_id"])
        let path = try string(p["path_with_namespace"], "project.path_with_namespace")
        let webURL = try string(p["web_url"], "project.web_url")
        // It becomes the link in every Jira comment and remote link: only a plain web address will do.
        guard EventLimits.isWebURL(webURL) else { throw WebhookPayloadError("project.web_url must be an http(s) URL") }
        let name = (p["name"] as? String) ?? String(path.split(separator: "/").last ?? "")
        return ForgeProject(id: id, pathWithNamespace: path, name: name, namespaceName: (p["namespace"] as? String) ?? "",
                            webURL: webURL, defaultBranch: (p["default_branch"] as? String) ?? "main")
    }

    static func push(_ doc: [String: Any]) throws(WebhookPayloadError) -> PushEvent {
        let project = try project(doc)
        let ref = try string(doc["ref"], "ref")
        let rawCommits = doc["commits"] ?? [Any]()
        guard let list = rawCommits as? [Any] else { throw WebhookPayloadError("commits must be a list") }
        var commits: [ForgeCommit] = []
        for (i, item) in list.prefix(EventLimits.commitsPerPush).enumerated() {
            guard let c = item as? [String: Any] else { throw WebhookPayloadError("commits[\(i)] is not an object") }
            let id = try string(c["id"], "commits[\(i)].id")
            guard EventLimits.isCommitID(id) else { throw WebhookPayloadError("commits[\(i)].id is not a commit SHA") }
            let message = try string(c["message"], "commits[\(i)].message", allowEmpty: true)
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
        let iid = try int64(a["iid"], "object_attributes.iid", fallback: nil)
        let title = try string(a["title"], "object_attributes.title", allowEmpty: true)
        let user = doc["user"] as? [String: Any]
        let lastCommit = a["last_commit"] as? [String: Any]
        let url = (a["url"] as? String).flatMap { EventLimits.isWebURL($0) ? $0 : nil } ?? "\(project.webURL)/-/merge_requests/\(iid)"
        return MergeRequestEvent(
            project: project, iid: iid, title: title, description: (a["description"] as? String) ?? "",
            action: MergeRequestEvent.Action(rawValue: (a["action"] as? String) ?? "") ?? .other,
            sourceBranch: (a["source_branch"] as? String) ?? "", targetBranch: try string(a["target_branch"], "object_attributes.target_branch"),
            lastCommitID: (lastCommit?["id"] as? String).flatMap { EventLimits.isCommitID($0) ? $0 : nil }, url: url,
            user: ForgeUser(name: (user?["name"] as? String) ?? "", username: (user?["username"] as? String) ?? "", email: user?["email"] as? String))
    }

    static func string(_ value: Any?, _ name: String, allowEmpty: Bool = false) throws(WebhookPayloadError) -> String {
        guard let s = value as? String else { throw WebhookPayloadError("\(name) is missing or not a string") }
        if !allowEmpty && s.isEmpty { throw WebhookPayloadError("\(name) is empty") }
        return s
    }

    static func int64(_ value: Any?, _ name: String, fallback: Any?) throws(WebhookPayloadError) -> Int64 {
        for candidate in [value, fallback] {
            if let n = candidate as? NSNumber, String(cString: n.objCType) != "c" {
                if let i = n.doubleValue.exactInteger, i > 0 { return i }
            }
        }
        throw WebhookPayloadError("\(name) is missing or not a positive integer")
    }
}
