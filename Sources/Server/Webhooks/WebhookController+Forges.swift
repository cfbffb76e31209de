import Forges
import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store

/// GitHub's and Gitea's (and Forgejo's) webhooks: an HMAC-SHA256 signature instead of a token, so the body
/// is read (within the budget) before the secret can be checked. A missing signature is refused first.
extension WebhookController {
    func github(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        guard let header = request.headers[githubSignatureHeader], !header.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Hub-Signature-256 header is missing")
        }
        guard header.hasPrefix("sha256="), header.utf8.count <= 128 else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Hub-Signature-256 header is not sha256=<hex>")
        }
        let signature = String(header.dropFirst("sha256=".count))
        let kind = request.headers[githubEventHeader] ?? ""
        let contentType = request.headers[.contentType] ?? ""
        let limit = try await githubBodyLimit(request)
        // GitHub signs the raw body, form-encoded or not.
        let (raw, document) = try await readBody(request, forge: .github, limit: limit) { view in
            let body = Data(view)
            let json = try Self.payload { () throws(WebhookPayloadError) in try WebhookBody.json(body, contentType: contentType) }
            return (body, try Self.payload { () throws(WebhookPayloadError) in try GitHubWebhook.parse(json) })
        }
        let secrets: AcceptedSecrets
        if kind == "ping", (try? GitHubWebhook.projectReference(document)) == nil {
            // An organisation's hook pings without a repository: its secret is the organisation's group's.
            secrets = AcceptedSecrets(
                secrets: try await namespaceSecrets(forge: .github, namespace: GitHubWebhook.organization(document)), level: nil)
        } else {
            let reference = try Self.payload { () throws(WebhookPayloadError) in try GitHubWebhook.projectReference(document) }
            secrets = try await webhookSecrets(forge: .github, forgeID: reference.id, path: reference.path)
        }
        try verify(signature, of: raw, against: secrets.secrets, header: "X-Hub-Signature-256")
        if kind == "ping" {
            metrics.webhook(forge: Forge.github.rawValue, outcome: "ping")
            return try JSONBody.response(.object(["event_id": .null, "message": .string("pong")]), status: .ok)
        }
        guard GitHubWebhook.handledEvents.contains(kind) else { return ignored(.github, kind.isEmpty ? "no X-GitHub-Event" : kind) }
        guard let event = try Self.payload({ () throws(WebhookPayloadError) in try GitHubWebhook.decode(event: kind, document: document) }) else {
            return ignored(.github, "\(kind) action \(GitHubWebhook.action(document) ?? "none")")
        }
        return try await accept(event, forge: .github, deliveryKey: request.headers[githubDeliveryHeader], signedWith: secrets, context)
    }

    func gitea(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        // Forgejo sends its own headers and Gitea's; either set is read.
        let signature = request.headers[forgejoSignatureHeader] ?? request.headers[giteaSignatureHeader] ?? ""
        guard !signature.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitea-Signature (or X-Forgejo-Signature) header is missing")
        }
        guard signature.utf8.count <= 128 else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the X-Gitea-Signature header is not a hex HMAC-SHA256")
        }
        let kind = request.headers[forgejoEventHeader] ?? request.headers[giteaEventHeader] ?? ""
        let type = request.headers[forgejoEventTypeHeader] ?? request.headers[giteaEventTypeHeader]
        let contentType = request.headers[.contentType] ?? ""
        let limit = try await giteaBodyLimit(request)
        // Gitea signs the JSON payload, also when the body is form-encoded.
        let (json, document) = try await readBody(request, forge: .gitea, limit: limit) { view in
            let body = Data(view)
            let json = try Self.payload { () throws(WebhookPayloadError) in try WebhookBody.json(body, contentType: contentType) }
            return (json, try Self.payload { () throws(WebhookPayloadError) in try GiteaWebhook.parse(json) })
        }
        let reference = try Self.payload { () throws(WebhookPayloadError) in try GiteaWebhook.projectReference(document) }
        let secrets = try await webhookSecrets(forge: .gitea, forgeID: reference.id, path: reference.path)
        try verify(signature, of: json, against: secrets.secrets, header: "X-Gitea-Signature")
        guard GiteaWebhook.handledEvents.contains(kind) else { return ignored(.gitea, kind.isEmpty ? "no X-Gitea-Event" : kind) }
        guard let event = try Self.payload({ () throws(WebhookPayloadError) in try GiteaWebhook.decode(event: kind, type: type, document: document) })
        else {
            return ignored(.gitea, "\(type ?? kind) action \(GitHubWebhook.action(document) ?? "none")")
        }
        let key = request.headers[forgejoDeliveryHeader] ?? request.headers[giteaDeliveryHeader]
        return try await accept(event, forge: .gitea, deliveryKey: key, signedWith: secrets, context)
    }

    /// What GitHub's headers tell before the body is read. `X-GitHub-Hook-Installation-Target-Type: repository`
    /// with `-Target-ID` names the repository: a registered one with no secret anywhere on its chain is refused
    /// at once (401), a registered one with a secret may send up to 25 MB. Anything else (a repository not
    /// registered yet, an organisation's hook, no such headers) may send `unidentifiedBodyBytes`.
    func githubBodyLimit(_ request: Request) async throws -> Int {
        guard request.headers[githubTargetTypeHeader]?.lowercased() == "repository",
            let text = request.headers[githubTargetIDHeader], text.utf8.count <= 19, let id = Int64(text),
            let projectID = Forge.github.storageID(forgeID: id)
        else { return Self.unidentifiedBodyBytes }
        switch try await projectHasSecret(projectID) {
        case nil: return Self.unidentifiedBodyBytes
        case true?: return Self.maxBodyBytes
        case false?:
            throw APIError(.unauthorized, message: "401 Unauthorized: no webhook secret is configured for this repository, its owner or the instance")
        }
    }

    /// Gitea and Forgejo sign the body only, but a hook can also send an `Authorization` header (Gitea 1.19 and
    /// later): `Bearer <secret>` (or the secret alone) that is a configured webhook secret lets the body be
    /// 25 MB, a wrong one is refused before the body is read; without it the body may be `unidentifiedBodyBytes`.
    func giteaBodyLimit(_ request: Request) async throws -> Int {
        guard let header = request.headers[.authorization], !header.isEmpty else { return Self.unidentifiedBodyBytes }
        let presented = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : header
        guard try await isConfiguredSecret(presented) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the Authorization header does not match any webhook secret")
        }
        return Self.maxBodyBytes
    }

    /// Whether a registered project (by storage id) has a webhook secret on its chain; nil when it is not
    /// registered. Remembered for a few seconds, as the secrets are.
    func projectHasSecret(_ projectID: Int64) async throws -> Bool? {
        if let known = secretCache.registered(projectID: projectID) { return known }
        guard let chain = try await store.ancestorChain(of: .project(projectID)) else { return nil }
        let has = !WebhookSecrets.accepted(chain, instanceSecret: instanceSecret, secrets: try await store.webhookSecrets(on: chain)).isEmpty
        secretCache.storeRegistered(projectID: projectID, hasSecret: has)
        return has
    }

    /// The signature must be the HMAC-SHA256 of `data` under one of the accepted secrets.
    func verify(_ signature: String, of data: Data, against secrets: [String], header: String) throws {
        guard !secrets.isEmpty else {
            throw APIError(.unauthorized, message: "401 Unauthorized: no webhook secret is configured for this repository, its owner or the instance")
        }
        guard secrets.contains(where: { TokenSecret.isSignature(signature, of: data, secret: $0) }) else {
            throw APIError(.unauthorized, message: "401 Unauthorized: the \(header) header does not match the webhook secret")
        }
    }

    /// The secrets of an owner or organisation (its group, else the instance's).
    func namespaceSecrets(forge: Forge, namespace: String?) async throws -> [String] {
        let chain = try await store.namespaceChain(path: forge.qualifiedPath((namespace ?? "") + "/-"))
        return WebhookSecrets.accepted(chain, instanceSecret: instanceSecret, secrets: try await store.webhookSecrets(on: chain))
    }
}

private let githubSignatureHeader = HTTPField.Name("X-Hub-Signature-256")!
private let githubEventHeader = HTTPField.Name("X-GitHub-Event")!
private let githubTargetTypeHeader = HTTPField.Name("X-GitHub-Hook-Installation-Target-Type")!
private let githubTargetIDHeader = HTTPField.Name("X-GitHub-Hook-Installation-Target-ID")!
private let githubDeliveryHeader = HTTPField.Name("X-GitHub-Delivery")!
private let giteaSignatureHeader = HTTPField.Name("X-Gitea-Signature")!
private let giteaEventHeader = HTTPField.Name("X-Gitea-Event")!
private let giteaEventTypeHeader = HTTPField.Name("X-Gitea-Event-Type")!
private let giteaDeliveryHeader = HTTPField.Name("X-Gitea-Delivery")!
private let forgejoSignatureHeader = HTTPField.Name("X-Forgejo-Signature")!
private let forgejoEventHeader = HTTPField.Name("X-Forgejo-Event")!
private let forgejoEventTypeHeader = HTTPField.Name("X-Forgejo-Event-Type")!
private let forgejoDeliveryHeader = HTTPField.Name("X-Forgejo-Delivery")!
