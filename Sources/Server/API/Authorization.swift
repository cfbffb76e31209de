import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store

/// Reads `PRIVATE-TOKEN` or `Authorization: Bearer` and attaches the caller's identity.
/// A request without a token passes through unauthenticated; routes decide whether that is enough.
///
/// Wrong tokens are counted per client address (`SignInThrottle`, 30 in 5 minutes): past that, a wrong
/// token is answered 429 with `Retry-After`, without looking it up; a right one always passes.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = BridgeRequestContext
    let store: any BridgeStore
    let adminToken: String
    var trustedProxies: [IPNetwork] = []
    let throttle = SignInThrottle(limit: SignInThrottle.apiLimit)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let presented =
            request.headers[privateTokenHeader]
            ?? request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if let presented, !presented.isEmpty {
            guard let found = try await TokenIdentities(store: store, adminToken: adminToken).identity(presented: presented) else {
                let address = context.clientAddress(request, trusting: trustedProxies)
                let now = store.clock.now()
                if let wait = throttle.retryAfter(address, now: now) {
                    var response = try JSONBody.response(
                        .object([
                            "message": .string(
                                "429 Too Many Requests: too many requests with a wrong token from your address; try again in \(wait) seconds")
                        ]),
                        status: .tooManyRequests)
                    response.headers[.retryAfter] = String(wait)
                    return response
                }
                throttle.failed(address, now: now)
                throw APIError.unauthorized
            }
            context.identity = found.identity
        }
        return try await next(request, context)
    }
}

private let privateTokenHeader = HTTPField.Name("PRIVATE-TOKEN")!

/// Loads where a project or group sits and asks the core's `Access` rule what an identity may do there.
struct AccessPolicy: Sendable {
    let store: any BridgeStore

    /// The chain of a project or group as stored (just itself and the instance if it vanished meanwhile).
    func chain(_ level: IntegrationLevel) async throws -> AncestorChain {
        try await store.ancestorChain(of: level) ?? AncestorChain.of(level, parents: [:])
    }

    func allows(_ identity: Identity, _ role: TokenRole, project: Project) async throws -> Bool {
        Access.allows(identity, role, on: try await chain(.project(project.id)))
    }

    func allows(_ identity: Identity, _ role: TokenRole, group: Group) async throws -> Bool {
        Access.allows(identity, role, on: try await chain(.group(group.id)))
    }

    /// A token that may not even read the project gets the same 404 as for a project that does not exist (as
    /// GitLab answers), so a token scoped elsewhere cannot learn which projects exist; one that may read it but
    /// lacks `role` gets 403.
    func require(_ context: BridgeRequestContext, _ role: TokenRole, project: Project) async throws {
        if let refusal = try await refusal(try context.requireIdentity(), role, project: project) { throw ServiceFailure(refusal, .project) }
    }

    /// As for projects: 404 for a group the token cannot see, 403 for one it sees without `role`.
    func require(_ context: BridgeRequestContext, _ role: TokenRole, group: Group) async throws {
        if let refusal = try await refusal(try context.requireIdentity(), role, group: group) { throw ServiceFailure(refusal, .group) }
    }

    /// Why `identity` may not act with `role` on the project (`Access.refusal`), or nil.
    func refusal(_ identity: Identity, _ role: TokenRole, project: Project) async throws -> AccessRefusal? {
        Access.refusal(identity, role, on: try await chain(.project(project.id)))
    }

    func refusal(_ identity: Identity, _ role: TokenRole, group: Group) async throws -> AccessRefusal? {
        Access.refusal(identity, role, on: try await chain(.group(group.id)))
    }

    func requireAdmin(_ context: BridgeRequestContext) throws {
        let identity = try context.requireIdentity()
        guard Access.isInstanceAdmin(identity) else { throw APIError.forbidden }
    }
}

/// The one path from a token to an identity, for the API, the sign-in form and web sessions: the admin
/// token from configuration, else a stored token that has not expired by the same clock.
struct TokenIdentities: Sendable {
    let store: any BridgeStore
    let adminToken: String

    /// Who signs with `presented`, and the name to show for them; nil for an unknown or expired token.
    func identity(presented: String, now: Millis? = nil) async throws -> (identity: Identity, name: String)? {
        let now = now ?? store.clock.now()
        guard !presented.isEmpty, presented.utf8.count <= 512 else { return nil }
        if TokenSecret.constantTimeEquals(presented, adminToken) { return (.instanceAdmin, "admin") }
        guard let token = try await store.token(secretHash: TokenSecret.hash(presented)) else { return nil }
        return Self.valid(token, now: now)
    }

    /// The identity behind a session's stored token id; nil when the token was deleted or has expired.
    func identity(tokenID: Int64, now: Millis? = nil) async throws -> (identity: Identity, name: String)? {
        let now = now ?? store.clock.now()
        guard let token = try await store.token(id: tokenID) else { return nil }
        return Self.valid(token, now: now)
    }

    static func valid(_ token: APIToken, now: Millis) -> (identity: Identity, name: String)? {
        guard Access.isUnexpired(expiresAt: token.expiresAt, now: now) else { return nil }
        return (Identity(tokenID: token.id, role: token.role, scope: token.scope), token.name)
    }
}
