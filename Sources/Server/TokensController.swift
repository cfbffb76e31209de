import Foundation
import Hummingbird
import Integration
import Store

/// `POST/GET /api/v4/tokens`, `DELETE /api/v4/tokens/:id`: tokens shown once, stored hashed.
struct TokensController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.post("/api/v4/tokens") { request, context in
            let identity = try context.requireIdentity()
            let params = try await RequestParameters.read(request, context: context)
            let request = try await TokenRequest.parse(params, store: store)
            try await authorize(identity, creating: request)
            let created = try await TokenIssuer(store: store).issue(request)
            return try JSONBody.response(EntityJSON.token(created.token, secret: created.secret), status: .created)
        }
        router.get("/api/v4/tokens") { request, context in
            let identity = try context.requireIdentity()
            let page = try QueryForm(request).pageRequest()
            // The tokens a maintainer manages are those scoped inside its own scope (`Access.managesTokens`).
            let listed = try await Access.reach(identity, .maintainer).asyncFlatMap {
                try await store.tokens(within: $0, offset: page.offset, limit: page.perPage)
            } ?? Listed(items: [], total: 0)
            return try JSONBody.response(.array(listed.items.map { EntityJSON.token($0) }), headers: Pagination.headers(page, total: listed.total))
        }
        router.delete("/api/v4/tokens/:id") { _, context in
            let identity = try context.requireIdentity()
            guard let id = Int64(try context.parameters.require("id")),
                  let token = try await store.token(id: id) else { throw APIError.notFound }
            // A token the caller does not manage is not there for it (GitLab's 404), not a 403 that says it exists.
            guard try await manages(identity, scope: token.scope) else { throw APIError.notFound }
            _ = try await store.deleteToken(id: id)
            return Response(status: .noContent)
        }
    }

    /// `Access.mayCreateToken`, on the chain of the token's scope.
    private func authorize(_ identity: Identity, creating request: TokenRequest) async throws {
        if Access.isInstanceAdmin(identity) { return }
        guard let chain = try await chain(of: request.scope), Access.mayCreateToken(identity, role: request.role, on: chain) else {
            // A project or group the caller cannot see is not found, as on its own routes.
            switch request.scope {
            case .project(let id) where !(try await canSee(identity, .project(id))): throw ServiceFailure.notFound(.project)
            case .group(let id) where !(try await canSee(identity, .group(id))): throw ServiceFailure.notFound(.group)
            default: throw APIError.forbidden
            }
        }
    }

    private func canSee(_ identity: Identity, _ level: IntegrationLevel) async throws -> Bool {
        Access.allows(identity, .reporter, on: try await access.chain(level))
    }

    private func manages(_ identity: Identity, scope: TokenScope) async throws -> Bool {
        guard let chain = try await chain(of: scope) else { return false }
        return Access.managesTokens(identity, on: chain)
    }

    /// The chain of a token's scope; nil for a project that is not registered.
    private func chain(of scope: TokenScope) async throws -> AncestorChain? {
        if case .project(let id) = scope { return try await store.ancestorChain(of: .project(id)) }
        return try await access.chain(scope.level)
    }
}

/// A validated request for a new token.
struct TokenRequest: Sendable {
    var name: String
    var role: TokenRole
    var scope: TokenScope
    var expiresAt: Millis?

    static func parse(_ params: [String: ParameterValue], store: any BridgeStore) async throws -> TokenRequest {
        guard let name = params.string("name")?.trimmingWhitespace(), !name.isEmpty, name.count <= 255 else {
            throw APIError.badParameter("name is missing")
        }
        guard let roleText = params.string("role"), let role = TokenRole(rawValue: roleText) else {
            throw APIError.badParameter("role does not have a valid value (admin, maintainer, reporter)")
        }
        let scope: TokenScope
        switch params.string("scope") ?? "instance" {
        case "instance": scope = .instance
        case "group":
            guard let ref = params.string("group_id") else { throw APIError.badParameter("group_id is missing") }
            let group: Group?
            if let id = Int64(ref) { group = try await store.group(id: id) } else { group = try await store.group(path: ref) }
            guard let group else { throw APIError.groupNotFound }
            scope = .group(group.id)
        case "project":
            guard let ref = params.string("project_id") else { throw APIError.badParameter("project_id is missing") }
            let project: Project?
            project = try await Lookup(store: store).project(reference: ref)
            guard let project else { throw APIError.projectNotFound }
            scope = .project(project.id)
        default:
            throw APIError.badParameter("scope does not have a valid value (instance, group, project)")
        }
        if role == .admin, scope != .instance {
            throw APIError.badParameter("role admin requires scope instance")
        }
        var expiresAt: Millis? = nil
        if let text = params.string("expires_at"), !text.isEmpty {
            guard let date = TokenRequest.parseDate(text) else { throw APIError.badParameter("expires_at is invalid") }
            let millis = Millis(date.timeIntervalSince1970 * 1000)
            guard millis > store.clock.now() else { throw APIError.badParameter("expires_at must be in the future") }
            expiresAt = millis
        }
        return TokenRequest(name: name, role: role, scope: scope, expiresAt: expiresAt)
    }

    /// `2026-12-31` (end of that day, UTC) or a full ISO 8601 timestamp.
    static func parseDate(_ text: String) -> Date? {
        // The calendar date must exist: Foundation rolls 2027-02-30 over to March 2.
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard text.utf8.count >= 10, parts.count == 3, isCalendarDate(year: parts[0], month: parts[1], day: parts[2]) else { return nil }
        if let d = try? Date(text, strategy: .iso8601) { return d }
        if let d = try? Date(text + "T23:59:59Z", strategy: .iso8601) { return d }
        return nil
    }

    /// Whether the day exists in the proleptic Gregorian calendar.
    static func isCalendarDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}

/// Creates tokens for the API and the CLI alike.
public struct TokenIssuer: Sendable {
    let store: any BridgeStore

    public init(store: any BridgeStore) { self.store = store }

    func issue(_ r: TokenRequest) async throws -> (token: APIToken, secret: String) {
        let secret = TokenSecret.generate()
        let token = try await store.createToken(name: r.name, role: r.role, scope: r.scope, expiresAt: r.expiresAt, secretHash: TokenSecret.hash(secret))
        return (token, secret)
    }

    /// For `jira-bridge token create`: the same rules as the API, answering the same JSON.
    public func issue(parameters: [String: String]) async throws -> String {
        let r = try await TokenRequest.parse(parameters.mapValues { .string($0) }, store: store)
        let (token, secret) = try await issue(r)
        var writer = JSONWriter()
        writer.value(EntityJSON.token(token, secret: secret))
        return writer.text
    }

    /// For `jira-bridge token list`: every token as `GET /api/v4/tokens` shows it to an admin (never a secret).
    public func list() async throws -> String {
        var writer = JSONWriter()
        writer.value(.array(try await store.tokens().map { EntityJSON.token($0) }))
        return writer.text
    }

    /// For `jira-bridge token revoke`: deletes the token; false when there is none with that id.
    public func revoke(id: Int64) async throws -> Bool {
        try await store.deleteToken(id: id)
    }
}
