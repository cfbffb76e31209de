import HTTPTypes
import Foundation
import Synchronization
import Forges
import Hummingbird
import Integration
import Logging
import Store

/// `POST /webhooks/gitlab`: checks the secret, commits the event, answers 202 with its id.
struct WebhookController: Sendable {
    let store: any BridgeStore
    let instanceSecret: String?
    let access: AccessPolicy
    let metrics: BridgeMetrics
    let secretCache: SecretCache
    let committer: IntakeCommitter

    static let maxBodyBytes = 25 << 20
    /// Webhook bodies read at once, in bytes: two of the largest, or many small ones.
    static let bodyBudgetBytes = 2 * maxBodyBytes
    let budget = BodyBudget(capacity: WebhookController.bodyBudgetBytes)

    func addRoutes(to router: Router<BridgeRequestContext>) {
        router.post("/webhooks/gitlab") { request, context in
            do {
                return try await gitlab(request, context)
            } catch let error as APIError {
                let outcome: String
                switch error.status.code {
                case 401: outcome = "unauthorized"
                case 413: outcome = "too_large"
                case 400: outcome = "bad_request"
                default: outcome = "error"
                }
                metrics.webhook(forge: "gitlab", outcome: outcome)
                throw error
            }
        }
    }

    func gitlab(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        // GitLab's token is a header: a request whose token is no configured secret is refused before a
        // byte of its body is read, so wrong-token floods cost neither time nor memory.
        guard let presented = request.headers[gitlabTokenHeader], !presented.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitlab-Token header is missing")
        }
        guard try await isConfiguredSecret(presented) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitlab-Token header does not match any webhook secret")
        }
        let announced = request.headers[.contentLength].flatMap { Int($0) }
        if let announced, announced > Self.maxBodyBytes {
            throw APIError(.contentTooLarge, message: "413 Payload Too Large: webhook bodies are limited to 25 MB")
        }
        let (document, reference, kind) = try await budget.withReservation(bytes: announced ?? Self.maxBodyBytes) {
            () async throws -> (GitLabWebhook.Document, (id: Int64, path: String), String) in
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
            } catch {
                throw APIError(.contentTooLarge, message: "413 Payload Too Large: webhook bodies are limited to 25 MB")
            }
            let document = try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.parse(Data(buffer.readableBytesView)) }
            let reference = try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.projectReference(document) }
            return (document, reference, request.headers[gitlabEventHeader] ?? "")
        }
        guard let secret = try await webhookSecret(projectID: reference.id, path: reference.path) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: no webhook secret is configured for this project, its groups or the instance")
        }
        guard TokenSecret.constantTimeEquals(presented, secret) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitlab-Token header does not match the webhook secret")
        }
        guard GitLabWebhook.handledEvents.contains(kind) else {
            metrics.webhook(forge: "gitlab", outcome: "ignored")
            return try JSONBody.response(.object(["event_id": .null, "message": .string("ignored: \(kind.isEmpty ? "no X-Gitlab-Event" : kind)")]), status: .accepted)
        }
        let event = try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.decode(event: kind, document: document) }
        let project = event.project
        let registration = ProjectRegistration(project)
        let key = request.headers[idempotencyHeader] ?? request.headers[gitlabEventUUIDHeader]
        do {
            let (id, duplicate) = try await committer.record(IncomingEvent(forge: "gitlab", deliveryKey: key, event: event), registration: registration)
            metrics.webhook(forge: "gitlab", outcome: duplicate ? "duplicate" : "accepted")
            context.logger.info("webhook accepted", metadata: ["forge": "gitlab", "event_id": "\(id)", "duplicate": "\(duplicate)", "project_id": "\(project.id)"])
            var answer: [String: JSONValue] = ["event_id": .string(id)]
            // GitLab shows the answer in the hook's "Recent events": say what this event will not do.
            if case .push(let push) = event, let omitted = push.omittedCommits {
                answer["warnings"] = .array([.string("\(omitted) commits after the first \(EventLimits.commitsPerPush) are skipped")])
            }
            return try JSONBody.response(.object(answer), status: .accepted)
        } catch let error as StoreError where error.isConflict {
            throw APIError(.conflict, message: "409 Conflict: \(error)")
        }
    }

    /// Runs a payload decoder; what it cannot read is a 400 with its message.
    static func payload<T>(_ decode: () throws(WebhookPayloadError) -> T) throws(APIError) -> T {
        do {
            return try decode()
        } catch {
            throw APIError(.badRequest, message: "400 Bad Request: \(error.message)")
        }
    }

    /// Whether `presented` is the instance secret or any project's or group's (by keyed fingerprint),
    /// remembered for a few seconds either way.
    func isConfiguredSecret(_ presented: String) async throws -> Bool {
        if let instanceSecret, !instanceSecret.isEmpty, TokenSecret.constantTimeEquals(presented, instanceSecret) { return true }
        guard presented.utf8.count <= 1024 else { return false }
        let key = TokenSecret.hash(presented)
        if let known = secretCache.knownTokens.lookup(key) { return known }
        let known = try await store.isKnownWebhookSecret(presented)
        secretCache.knownTokens.store(key, known: known)
        return known
    }

    /// The project's secret, else the nearest group's, else the instance's; cached for a few seconds so a
    /// burst of webhooks costs no database reads (a changed secret applies within `SecretCache.ttl`).
    func webhookSecret(projectID: Int64, path: String) async throws -> String? {
        if let cached = secretCache.lookup(projectID: projectID, path: path) { return cached.secret }
        let secret = try await resolveWebhookSecret(projectID: projectID, path: path)
        secretCache.store(projectID: projectID, path: path, secret: secret)
        return secret
    }

    /// Loads the chain (the project's, or for a project not registered yet its namespace's known groups)
    /// and the secrets on it; `WebhookSecrets.resolve` picks the one that applies.
    func resolveWebhookSecret(projectID: Int64, path: String) async throws -> String? {
        let chain: AncestorChain
        if let registered = try await store.ancestorChain(of: .project(projectID)) {
            chain = registered
        } else {
            chain = try await store.namespaceChain(path: path)
        }
        return WebhookSecrets.resolve(chain, instanceSecret: instanceSecret, secrets: try await store.webhookSecrets(on: chain))
    }
}

private let gitlabTokenHeader = HTTPField.Name("X-Gitlab-Token")!
private let gitlabEventHeader = HTTPField.Name("X-Gitlab-Event")!
private let gitlabEventUUIDHeader = HTTPField.Name("X-Gitlab-Event-UUID")!
private let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

/// Resolved webhook secrets by project, for a short time. Cleared whenever a secret is set through this
/// process's API; other processes' changes apply after `ttl`.
final class SecretCache: Sendable {
    struct Entry { var secret: String?; var path: String; var expires: ContinuousClock.Instant }
    static let ttl: Duration = .seconds(5)
    private let entries = Mutex<[Int64: Entry]>([:])
    /// Tokens already checked against every configured secret.
    let knownTokens = KnownTokenCache()

    func lookup(projectID: Int64, path: String) -> (secret: String?, Void)? {
        entries.withLock { map in
            guard let e = map[projectID], e.path == path, e.expires > .now else { return nil }
            return (e.secret, ())
        }
    }

    func store(projectID: Int64, path: String, secret: String?) {
        entries.withLock { map in
            if map.count > 10_000 { map.removeAll() }
            map[projectID] = Entry(secret: secret, path: path, expires: .now + Self.ttl)
        }
    }

    func clear() {
        entries.withLock { $0.removeAll() }
        knownTokens.clear()
    }
}

/// Whether a presented webhook token (by its SHA-256) is some configured secret, for a few seconds. Bounded:
/// a flood of random tokens empties it instead of growing it.
final class KnownTokenCache: Sendable {
    static let ttl: Duration = .seconds(5)
    private let entries = Mutex<[String: (known: Bool, expires: ContinuousClock.Instant)]>([:])

    func lookup(_ key: String) -> Bool? {
        entries.withLock { map in
            guard let e = map[key], e.expires > .now else { return nil }
            return e.known
        }
    }

    func store(_ key: String, known: Bool) {
        entries.withLock { map in
            if map.count > 10_000 { map.removeAll() }
            map[key] = (known, .now + Self.ttl)
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }
}
