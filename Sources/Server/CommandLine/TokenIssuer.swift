import Foundation
import Hummingbird
import Integration
import Store

/// Creates tokens for the API and the CLI alike.
public struct TokenIssuer: Sendable {
    let store: any AccessStore & ProjectStore

    public init(store: any AccessStore & ProjectStore) { self.store = store }

    func issue(_ r: TokenRequest) async throws -> (token: APIToken, secret: String) {
        let secret = TokenSecret.generate()
        let token = try await store.createToken(
            name: r.name, role: r.role, scope: r.scope, expiresAt: r.expiresAt, secretHash: TokenSecret.hash(secret))
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

    /// For `jira-bridge token list` without `--json`: a header and one row per token, as the JSON names them.
    public func table() async throws -> [[String]] {
        var rows = [["ID", "NAME", "ROLE", "SCOPE", "EXPIRES", "CREATED"]]
        for token in try await store.tokens() {
            let doc = EntityJSON.token(token)
            var scope = doc["scope"]?.string ?? ""
            if let project = doc["project_id"]?.number {
                scope += " " + (doc["project_forge"]?.string.map { $0 + ":" } ?? "") + String(Int64(project))
            } else if let group = doc["group_id"]?.number {
                scope += " \(Int64(group))"
            }
            rows.append([
                String(token.id), String(token.name.prefix(60)).replacingOccurrences(of: "\n", with: " "), token.role.rawValue, scope,
                doc["expires_at"]?.string ?? "never", doc["created_at"]?.string ?? "",
            ])
        }
        return rows
    }

    /// For `jira-bridge token revoke`: deletes the token; false when there is none with that id.
    public func revoke(id: Int64) async throws -> Bool {
        try await store.deleteToken(id: id)
    }
}
