import Forges
import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import NIOCore
import Store
import Synchronization
import Tracing

/// `POST /webhooks/gitlab`, `/webhooks/github` and `/webhooks/gitea`: checks the secret or signature,
/// commits the event, answers 202 with its id. The GitLab route is here; the others are in
/// `WebhookController+Forges.swift`.
struct WebhookController: Sendable {
    let store: any BridgeStore
    let instanceSecret: String?
    let access: AccessPolicy
    let metrics: BridgeMetrics
    let secretCache: SecretCache
    let committer: IntakeCommitter
    /// The most projects webhooks may register (`ServerConfiguration.maxProjects`).
    let maxProjects: Int

    static let maxBodyBytes = 25 << 20
    /// The most a webhook body may be when nothing in its headers ties it to a project with a secret (a
    /// GitHub hook of a repository not registered yet, an organisation's hook, a Gitea hook without an
    /// `Authorization` header): anyone can send such a request, so it may not take much before it is checked.
    static let unidentifiedBodyBytes = 1 << 20
    /// Webhook bodies read at once, in bytes, per forge: two of the largest, or many small ones. Each forge
    /// has its own, so a flood on one forge's route cannot delay another's.
    static let bodyBudgetBytes = 2 * maxBodyBytes
    let budgets = IntakeBudgets(capacity: WebhookController.bodyBudgetBytes)

    func addRoutes(to router: Router<BridgeRequestContext>) {
        router.post("/webhooks/gitlab") { request, context in
            try await counted(.gitlab) { try await gitlab(request, context) }
        }
        router.post("/webhooks/github") { request, context in
            try await counted(.github) { try await github(request, context) }
        }
        router.post("/webhooks/gitea") { request, context in
            try await counted(.gitea) { try await gitea(request, context) }
        }
        router.post("/webhooks/jira") { request, context in
            do {
                return try await jira(request, context)
            } catch let error as StoreError where error.isUnavailable {
                // Nothing was run again: Jira retries a webhook that fails.
                throw APIError(.serviceUnavailable, message: "503 Service Unavailable: \(error.unavailableMessage); send it again")
            }
        }
    }

    /// Counts refusals in the metrics, by forge.
    func counted(_ forge: Forge, _ handle: () async throws -> Response) async throws -> Response {
        do {
            return try await handle()
        } catch let error as APIError {
            let outcome: String
            switch error.status.code {
            case 401: outcome = "unauthorized"
            case 413: outcome = "too_large"
            case 408: outcome = "timed_out"
            case 400: outcome = "bad_request"
            default: outcome = "error"
            }
            metrics.webhook(forge: forge.rawValue, outcome: outcome)
            throw error
        } catch let error as StoreError where error.isUnavailable {
            // Nothing was stored: the forge must send it again (GitLab shows the 503 in the hook's log).
            metrics.webhook(forge: forge.rawValue, outcome: "unavailable")
            throw APIError(
                .serviceUnavailable, message: "503 Service Unavailable: \(error.unavailableMessage); the event was not stored, send it again")
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
        let (document, reference) = try await readBody(request, forge: .gitlab) { body in
            let document = try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.parse(body) }
            return (document, try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.projectReference(document) })
        }
        let kind = request.headers[gitlabEventHeader] ?? ""
        let accepted = try await webhookSecrets(forge: .gitlab, forgeID: reference.id, path: reference.path)
        let secrets = accepted.secrets
        guard !secrets.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: no webhook secret is configured for this project, its groups or the instance")
        }
        guard secrets.contains(where: { TokenSecret.constantTimeEquals(presented, $0) }) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitlab-Token header does not match the webhook secret")
        }
        guard GitLabWebhook.handledEvents.contains(kind) else {
            return ignored(.gitlab, kind.isEmpty ? "no X-Gitlab-Event" : kind)
        }
        let event = try Self.payload { () throws(WebhookPayloadError) in try GitLabWebhook.decode(event: kind, document: document) }
        let key = request.headers[idempotencyHeader] ?? request.headers[gitlabEventUUIDHeader]
        return try await accept(event, forge: .gitlab, deliveryKey: key, signedWith: accepted, context)
    }

    /// Reads the body within `forge`'s budget, taking its share as bytes arrive (413 above `limit`), and hands
    /// its bytes to `read` (one buffer: a copy of the largest body would cost another 25 MB while it is handled).
    /// A client that stops sending is cut off by the body deadline, and what it took is given back.
    func readBody<T>(
        _ request: Request, forge: Forge, limit: Int = WebhookController.maxBodyBytes,
        _ read: (ByteBufferView) throws -> T
    ) async throws -> T {
        let tooLarge =
            limit >= Self.maxBodyBytes
            ? "413 Payload Too Large: webhook bodies are limited to 25 MB"
            : "413 Payload Too Large: this webhook's headers name no registered project with a secret, so its body is limited to \(limit >> 20) MB until the project is registered (see docs/forges.md)"
        if let announced = request.headers[.contentLength].flatMap({ Int($0) }), announced > limit {
            throw APIError(.contentTooLarge, message: tooLarge)
        }
        let budget = budgets[forge]
        let reader = budget.open()
        var held = 0
        defer { budget.close(reader) }
        var buffer = ByteBuffer()
        do {
            for try await chunk in request.body {
                guard held + chunk.readableBytes <= limit else { throw APIError(.contentTooLarge, message: tooLarge) }
                await budget.reserve(chunk.readableBytes, for: reader)
                held += chunk.readableBytes
                buffer.writeImmutableBuffer(chunk)
            }
        } catch let error as APIError {
            throw error
        } catch {
            // The connection closed (the client gave up, or the body deadline cut it off): nobody reads an answer.
            throw APIError(.requestTimeout, message: "408 Request Timeout: the body did not arrive in time")
        }
        return try read(buffer.readableBytesView)
    }

    /// 202 for an event jira-bridge does not act on: nothing is stored.
    func ignored(_ forge: Forge, _ what: String) -> Response {
        metrics.webhook(forge: forge.rawValue, outcome: "ignored")
        return (try? JSONBody.response(.object(["event_id": .null, "message": .string("ignored: \(what)")]), status: .accepted))
            ?? Response(status: .accepted)
    }

    /// Commits the event (registering the project it names) and answers 202 with its id.
    /// `signedWith` is where the secret that verified the webhook is set: only the namespace's own secret lets a
    /// new project id take a path another id holds.
    func accept(
        _ event: ForgeEvent, forge: Forge, deliveryKey: String?, signedWith: AcceptedSecrets, _ context: BridgeRequestContext
    ) async throws -> Response {
        let project = event.project
        guard var registration = ProjectRegistration(project) else {
            throw APIError(.badRequest, message: "400 Bad Request: the project id is out of range")
        }
        registration.mayTakeOverPath = signedWith.provesNamespace
        registration.projectLimit = maxProjects
        do {
            // The intake's span: planning and the deliveries continue its trace (the event keeps its traceparent).
            let (id, duplicate) = try await withSpan("webhook intake") { span in
                span.attributes["jira_bridge.forge"] = forge.rawValue
                span.attributes["jira_bridge.event_kind"] = event.kind
                let result = try await committer.record(
                    IncomingEvent(deliveryKey: deliveryKey, event: event, traceContext: TraceContext.current()),
                    registration: registration)
                span.attributes["jira_bridge.event_id"] = result.id
                return result
            }
            metrics.webhook(forge: forge.rawValue, outcome: duplicate ? "duplicate" : "accepted")
            context.logger.info(
                "webhook accepted",
                metadata: [
                    "forge": "\(forge.rawValue)", "event_id": "\(id)", "duplicate": "\(duplicate)",
                    "project_id": "\(project.id)",
                ])
            var answer: [String: JSONValue] = ["event_id": .string(id)]
            // The forge shows the answer in the hook's recent deliveries: say what this event will not do.
            if case .push(let push) = event, let omitted = push.omittedCommits {
                answer["warnings"] = .array([.string("\(omitted) commits after the first \(EventLimits.commitsPerPush) are skipped")])
            }
            return try JSONBody.response(.object(answer), status: .accepted)
        } catch let error as StoreError where error.isConflict {
            metrics.webhook(forge: forge.rawValue, outcome: "conflict")
            context.logger.warning("webhook refused", metadata: ["forge": "\(forge.rawValue)", "project_id": "\(project.id)", "reason": "\(error)"])
            throw APIError(.conflict, message: "409 Conflict: \(error)")
        } catch let error as StoreError where error.isLimitReached {
            metrics.webhook(forge: forge.rawValue, outcome: "refused")
            context.logger.warning("webhook refused", metadata: ["forge": "\(forge.rawValue)", "project_id": "\(project.id)", "reason": "\(error)"])
            throw APIError(.forbidden, message: "403 Forbidden: \(error)")
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

    /// The secrets a webhook for this project may carry (`WebhookSecrets.accepted`), cached for a few seconds
    /// so a burst of webhooks costs no database reads (a changed secret applies within `SecretCache.ttl`).
    func webhookSecrets(forge: Forge, forgeID: Int64, path: String) async throws -> AcceptedSecrets {
        guard let projectID = forge.storageID(forgeID: forgeID) else { return AcceptedSecrets(secrets: [], level: nil) }
        let storedPath = forge.qualifiedPath(path)
        if let cached = secretCache.lookup(projectID: projectID, path: storedPath) { return cached }
        let secrets = try await resolveWebhookSecrets(projectID: projectID, path: storedPath)
        secretCache.store(projectID: projectID, path: storedPath, secrets: secrets)
        return secrets
    }

    /// Loads the chain (the project's, or for a project not registered yet its namespace's known groups)
    /// and the secrets on it; `WebhookSecrets.accepted` picks those that apply.
    func resolveWebhookSecrets(projectID: Int64, path: String) async throws -> AcceptedSecrets {
        let chain: AncestorChain
        if let registered = try await store.ancestorChain(of: .project(projectID)) {
            chain = registered
        } else {
            chain = try await store.namespaceChain(path: path)
        }
        return WebhookSecrets.acceptedWithLevel(chain, instanceSecret: instanceSecret, secrets: try await store.webhookSecrets(on: chain))
    }
}

private let gitlabTokenHeader = HTTPField.Name("X-Gitlab-Token")!
private let gitlabEventHeader = HTTPField.Name("X-Gitlab-Event")!
private let gitlabEventUUIDHeader = HTTPField.Name("X-Gitlab-Event-UUID")!
private let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

/// One body budget per forge.
final class IntakeBudgets: Sendable {
    let gitlab: BodyBudget
    let github: BodyBudget
    let gitea: BodyBudget

    init(capacity: Int) {
        gitlab = BodyBudget(capacity: capacity)
        github = BodyBudget(capacity: capacity)
        gitea = BodyBudget(capacity: capacity)
    }

    subscript(forge: Forge) -> BodyBudget {
        switch forge {
        case .gitlab: gitlab
        case .github: github
        case .gitea: gitea
        }
    }
}

/// Resolved webhook secrets by project, for a short time. Cleared whenever a secret is set through this
/// process's API; other processes' changes apply after `ttl`.
final class SecretCache: Sendable {
    struct Entry { var secrets: AcceptedSecrets; var path: String; var expires: ContinuousClock.Instant }
    static let ttl: Duration = .seconds(5)
    private let entries = Mutex<[Int64: Entry]>([:])
    /// Registered projects and whether a secret applies to them (signed forges' early refusal).
    private let registeredProjects = Mutex<[Int64: (hasSecret: Bool, expires: ContinuousClock.Instant)]>([:])
    /// Tokens already checked against every configured secret.
    let knownTokens = KnownTokenCache()

    func registered(projectID: Int64) -> Bool? {
        registeredProjects.withLock { map in
            guard let e = map[projectID], e.expires > .now else { return nil }
            return e.hasSecret
        }
    }

    func storeRegistered(projectID: Int64, hasSecret: Bool) {
        registeredProjects.withLock { map in
            if map.count > 10_000 { map.removeAll() }
            map[projectID] = (hasSecret, .now + Self.ttl)
        }
    }

    func lookup(projectID: Int64, path: String) -> AcceptedSecrets? {
        entries.withLock { map in
            guard let e = map[projectID], e.path == path, e.expires > .now else { return nil }
            return e.secrets
        }
    }

    func store(projectID: Int64, path: String, secrets: AcceptedSecrets) {
        entries.withLock { map in
            if map.count > 10_000 { map.removeAll() }
            map[projectID] = Entry(secrets: secrets, path: path, expires: .now + Self.ttl)
        }
    }

    func clear() {
        entries.withLock { $0.removeAll() }
        registeredProjects.withLock { $0.removeAll() }
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
