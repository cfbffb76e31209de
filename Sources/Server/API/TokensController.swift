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
            let listed =
                try await Access.reach(identity, .maintainer).asyncFlatMap {
                    try await store.tokens(within: $0, offset: page.offset, limit: page.perPage)
                } ?? Listed(items: [], total: 0)
            return try JSONBody.response(.array(listed.items.map { EntityJSON.token($0) }), headers: Pagination.headers(page, total: listed.total))
        }
        router.delete("/api/v4/tokens/:id") { _, context in
            let identity = try context.requireIdentity()
            guard let id = Int64(try context.parameters.require("id")),
                let token = try await store.token(id: id)
            else { throw APIError.notFound }
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
