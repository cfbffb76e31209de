import Foundation
import Integration

/// A webhook body that cannot be read, with a message naming what is wrong.
public struct WebhookPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A parsed body, so a payload is parsed once for its project and then for its event.
public struct WebhookDocument: Sendable {
    let doc: JSONObject
}

/// A JSON object of a payload, as `JSONValue.parse` reads it.
typealias JSONObject = [String: JSONValue]

/// Reading fields of a forge payload: every forge's decoder uses these, so a field that is missing, of the
/// wrong type or out of range gets the same clear message whatever the forge.
enum Payload {
    /// The body's object, read by the core's byte-level reader (`JSONValue.parse`): Foundation's
    /// `JSONSerialization` and its bridging to `[String: Any]` were the largest single cost of intake.
    static func object<Body: Collection<UInt8>>(_ body: Body) throws(WebhookPayloadError) -> JSONObject {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(body)
        } catch {
            throw WebhookPayloadError("the body is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let doc) = parsed else { throw WebhookPayloadError("the body is not a JSON object") }
        return doc
    }

    static func string(_ value: JSONValue?, _ name: String, allowEmpty: Bool = false) throws(WebhookPayloadError) -> String {
        guard let s = value?.string else { throw WebhookPayloadError("\(name) is missing or not a string") }
        if !allowEmpty && s.isEmpty { throw WebhookPayloadError("\(name) is empty") }
        return s
    }

    /// A positive whole number (JSON booleans and fractions are not).
    static func int64(_ value: JSONValue?, _ name: String, fallback: JSONValue? = nil) throws(WebhookPayloadError) -> Int64 {
        for candidate in [value, fallback] {
            if let i = candidate?.integer, i > 0 { return i }
        }
        throw WebhookPayloadError("\(name) is missing or not a positive integer")
    }

    static func optionalString(_ value: JSONValue?) -> String? {
        guard let s = value?.string, !s.isEmpty else { return nil }
        return s
    }

    /// A web URL from the payload, only if it is a plain http(s) address.
    static func webURL(_ value: JSONValue?) -> String? {
        value?.string.flatMap { EventLimits.isWebURL($0) ? $0 : nil }
    }

    /// The commits of a push in GitHub's and Gitea's shape (`id`, `message`, `url`, `author{name,email}`),
    /// at most `EventLimits.commitsPerPush`; the rest are counted.
    /// A time as the forge wrote it, kept only when it is short enough to be one.
    static func timestamp(_ raw: JSONValue?) -> String? {
        guard let text = raw?.string, !text.isEmpty, text.utf8.count <= 40 else { return nil }
        return text
    }

    /// The files a commit added, modified and removed (lists of paths), counted; nil when none is given.
    static func fileCount(_ commit: JSONObject) -> Int? {
        let lists = ["added", "modified", "removed"].compactMap { commit[$0]?.array }
        return lists.isEmpty ? nil : lists.reduce(0) { $0 + $1.count }
    }

    static func commits(_ raw: JSONValue?, forge: Forge, projectURL: String) throws(WebhookPayloadError) -> (commits: [ForgeCommit], omitted: Int?) {
        guard let list = (raw ?? .array([])).array else { throw WebhookPayloadError("commits must be a list") }
        var commits: [ForgeCommit] = []
        for (i, item) in list.prefix(EventLimits.commitsPerPush).enumerated() {
            guard let c = item.object else { throw WebhookPayloadError("commits[\(i)] is not an object") }
            let id = try string(c["id"], "commits[\(i)].id")
            guard EventLimits.isCommitID(id) else { throw WebhookPayloadError("commits[\(i)].id is not a commit SHA") }
            let message = try string(c["message"], "commits[\(i)].message", allowEmpty: true)
            let author = c["author"]
            commits.append(
                ForgeCommit(
                    id: id, message: message, url: webURL(c["url"]) ?? forge.commitURL(project: projectURL, sha: id),
                    authorName: author?["name"]?.string ?? "", authorEmail: author?["email"]?.string,
                    timestamp: timestamp(c["timestamp"]), fileCount: fileCount(c)))
        }
        let omitted = list.count - commits.count
        return (commits, omitted > 0 ? omitted : nil)
    }
}

/// Webhook bodies as forges send them.
public enum WebhookBody {
    /// The JSON payload of a webhook body: the body itself, or the `payload` field of a form-encoded one
    /// (GitHub's and Gitea's `application/x-www-form-urlencoded` content type).
    public static func json(_ body: Data, contentType: String) throws(WebhookPayloadError) -> Data {
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else { return body }
        let text = String(decoding: body, as: UTF8.self)
        guard let payload = ParameterBody.formPairs(text).last(where: { $0.0 == "payload" })?.1 else {
            throw WebhookPayloadError("a form-encoded webhook needs its JSON in the payload field")
        }
        return Data(payload.utf8)
    }
}
