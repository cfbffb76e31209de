import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store

/// Jira's issue webhooks (`POST /webhooks/jira`): a change to an issue runs again the Jira issue checks that
/// depend on it, so a commit status turns green by itself once the issue is fixed in Jira.
///
/// Jira Cloud signs a webhook that has a secret with `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`.
/// The secret is a webhook secret of jira-bridge: the project's (`?project=<id or path>`), a group's
/// (`?group=<id or path>`, for all its projects), or the instance's (no parameter, for every project).
extension WebhookController {
    /// The issue events that can change a check's outcome.
    static let jiraEvents: Set<String> = ["jira:issue_updated", "jira:issue_created", "jira:issue_deleted"]
    /// Checks looked at per webhook, newest first: those of the last days on a busy instance.
    static let recheckWindow = 1000

    func jira(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        guard let header = request.headers[jiraSignatureHeader], !header.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Hub-Signature header is missing (give the Jira webhook a secret)")
        }
        guard header.hasPrefix("sha256="), header.utf8.count <= 128 else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Hub-Signature header is not sha256=<hex>")
        }
        let (scope, chain) = try await jiraScope(request)
        let secrets = WebhookSecrets.accepted(chain, instanceSecret: instanceSecret, secrets: try await store.webhookSecrets(on: chain))
        // Nothing ties the request to a secret before its body is read: it may not take much.
        let raw = try await readBody(request, forge: .gitlab, limit: Self.unidentifiedBodyBytes) { Data($0) }
        try verify(String(header.dropFirst("sha256=".count)), of: raw, against: secrets, header: "X-Hub-Signature")
        guard let doc = try? JSONValue.parse(raw), doc.object != nil else {
            throw APIError(.badRequest, message: "400 Bad Request: the body is not a JSON object")
        }
        let event = doc["webhookEvent"]?.string ?? ""
        guard Self.jiraEvents.contains(event) else {
            return try JSONBody.response(
                .object(["rechecked": .number(0), "message": .string("ignored: \(event.isEmpty ? "no webhookEvent" : String(event.prefix(100)))")]),
                status: .accepted)
        }
        guard let key = doc["issue"]?["key"]?.string, JiraIssueCheck.isIssueKey(key) else {
            throw APIError(.badRequest, message: "400 Bad Request: issue.key is missing or is not a Jira issue key")
        }
        // The checks that named the issue, run again (those still waiting or running will read Jira anyway).
        let recent = try await store.recentDeliveries(action: .commitStatus, scope: scope, limit: Self.recheckWindow)
        let ids = recent.compactMap { d -> Int64? in
            guard case .commitStatus(let work) = d.work, work.commits.contains(where: { $0.key == key }) else { return nil }
            return d.id
        }
        let rechecked = try await store.runAgain(ids: ids, now: store.clock.now())
        context.logger.info("Jira issue webhook", metadata: ["event": "\(event)", "issue_key": "\(key)", "rechecked": "\(rechecked)"])
        return try JSONBody.response(.object(["rechecked": .number(Double(rechecked))]), status: .accepted)
    }

    /// Which projects the webhook's secret covers, and the chain its secrets come from. A project or group
    /// that does not exist is refused as a wrong secret would be: the answer tells no outsider what exists.
    func jiraScope(_ request: Request) async throws -> (TokenScope, AncestorChain) {
        let query = request.uri.queryParameters
        let unknown = APIError(
            .unauthorized, message: "401 Unauthorized: no webhook secret is configured for this project, its groups or the instance")
        if let reference = query["project"].map(String.init), !reference.isEmpty {
            guard reference.utf8.count <= 300, let project = try await Lookup(store: store).project(reference: reference),
                let chain = try await store.ancestorChain(of: .project(project.id))
            else { throw unknown }
            return (.project(project.id), chain)
        }
        if let reference = query["group"].map(String.init), !reference.isEmpty {
            guard reference.utf8.count <= 300 else { throw unknown }
            var group = try await store.group(path: reference)
            if group == nil, let id = Int64(reference), id > 0 { group = try await store.group(id: id) }
            guard let group, let chain = try await store.ancestorChain(of: .group(group.id)) else { throw unknown }
            return (.group(group.id), chain)
        }
        return (.instance, AncestorChain(namespaceGroups: []))
    }
}

private let jiraSignatureHeader = HTTPField.Name("X-Hub-Signature")!
