import HTTPTypes
import Foundation
import Hummingbird
import Store

/// Reads `PRIVATE-TOKEN` or `Authorization: Bearer` and attaches the caller's identity.
/// A request without a token passes through unauthenticated; routes decide whether that is enough.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = BridgeRequestContext
    let store: any BridgeStore
    let adminToken: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let presented = request.headers[privateTokenHeader]
            ?? request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if let presented, !presented.isEmpty {
            guard let found = try await TokenIdentities(store: store, adminToken: adminToken).identity(presented: presented) else {
                throw APIError.unauthorized
            }
            context.identity = found.identity
        }
        return try await next(request, context)
    }
}

private let privateTokenHeader = HTTPField.Name("PRIVATE-TOKEN")!

/// Decides what an identity may do, given where a project or group sits in the group tree.
struct AccessPolicy: Sendable {
    let store: any BridgeStore

    /// The ids of `groupID` and all its ancestors, nearest first.
    func groupChain(_ groupID: Int64?) async throws -> [Int64] {
        var chain: [Int64] = []
        var current = groupID
        while let id = current, chain.count < 100 {
            chain.append(id)
            current = try await store.group(id: id)?.parentID
        }
        return chain
    }

    /// Whether `identity` holds at least `role` over the project.
    func allows(_ identity: Identity, _ role: TokenRole, project: Project) async throws -> Bool {
        guard identity.role.includes(role) else { return false }
        switch identity.scope {
        case .instance: return true
        case .project(let id): return id == project.id
        case .group(let gid): return try await groupChain(project.groupID).contains(gid)
        }
    }

    /// Whether `identity` holds at least `role` over the group (its own group or an ancestor's scope).
    func allows(_ identity: Identity, _ role: TokenRole, group: Group) async throws -> Bool {
        guard identity.role.includes(role) else { return false }
        switch identity.scope {
        case .instance: return true
        case .project: return false
        case .group(let gid): return try await groupChain(group.id).contains(gid)
        }
    }

    func require(_ context: BridgeRequestContext, _ role: TokenRole, project: Project) async throws {
        let identity = try context.requireIdentity()
        guard try await allows(identity, role, project: project) else { throw APIError.forbidden }
    }

    func require(_ context: BridgeRequestContext, _ role: TokenRole, group: Group) async throws {
        let identity = try context.requireIdentity()
        guard try await allows(identity, role, group: group) else { throw APIError.forbidden }
    }

    func requireAdmin(_ context: BridgeRequestContext) throws {
        let identity = try context.requireIdentity()
        guard identity.role == .admin, identity.scope == .instance else { throw APIError.forbidden }
    }
}

/// The one path from a token to an identity, for the API, the sign-in form and web sessions: the admin
/// token from configuration, else a stored token that has not expired by the same clock.
struct TokenIdentities: Sendable {
    let store: any BridgeStore
    let adminToken: String

    /// Who signs with `presented`, and the name to show for them; nil for an unknown or expired token.
    func identity(presented: String, now: Millis = currentMillis()) async throws -> (identity: Identity, name: String)? {
        guard !presented.isEmpty, presented.utf8.count <= 512 else { return nil }
        if TokenSecret.constantTimeEquals(presented, adminToken) { return (.instanceAdmin, "admin") }
        guard let token = try await store.token(secretHash: TokenSecret.hash(presented)) else { return nil }
        return Self.valid(token, now: now)
    }

    /// The identity behind a session's stored token id; nil when the token was deleted or has expired.
    func identity(tokenID: Int64, now: Millis = currentMillis()) async throws -> (identity: Identity, name: String)? {
        guard let token = try await store.token(id: tokenID) else { return nil }
        return Self.valid(token, now: now)
    }

    static func valid(_ token: APIToken, now: Millis) -> (identity: Identity, name: String)? {
        if let expires = token.expiresAt, expires <= now { return nil }
        return (Identity(tokenID: token.id, role: token.role, scope: token.scope), token.name)
    }
}
