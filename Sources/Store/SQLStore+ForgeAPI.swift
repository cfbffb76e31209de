import Foundation
import Integration

/// A stored setting that an update may leave as it is, clear, or set.
public enum ForgeAPISetting: Sendable, Equatable {
    case keep
    case clear
    case set(String)
}

/// The forge API access of projects and groups: a URL (blank: the forge's default) and a token, sealed with the
/// store's key like every stored secret.
extension SQLStore {
    public func setForgeAPI(url: ForgeAPISetting, token: ForgeAPISetting, for owner: TokenScope) async throws {
        var assignments: [String] = []
        var arguments: SQLArguments = []
        switch url {
        case .keep: break
        case .clear:
            assignments.append("forge_api_url = NULL")
        case .set(let text):
            assignments.append("forge_api_url = ?")
            arguments.append(text)
        }
        switch token {
        case .keep: break
        case .clear: assignments.append("forge_api_token_enc = NULL")
        case .set(let text):
            assignments.append("forge_api_token_enc = ?")
            arguments.append(try secrets.seal(text))
        }
        guard !assignments.isEmpty else { return }
        let now = clock.now()
        let sets = assignments.joined(separator: ", ")
        let values = arguments
        try await database.write { db in
            guard let table = Self.secretTable(owner) else { return }
            try await db.execute(
                sql: "UPDATE \(table) SET \(sets), updated_at = ? WHERE id = ?", arguments: values + [now, owner.level.ownerID])
            if db.changesCount == 0 { throw StoreError.notFound(owner.kind) }
        }
    }

    public func forgeAPI(for owner: TokenScope) async throws -> (url: String?, tokenSet: Bool) {
        try await database.read { db in
            guard let table = Self.secretTable(owner),
                let row = try await SQLRow.fetchOne(
                    db, sql: "SELECT forge_api_url, forge_api_token_enc IS NOT NULL AS has_token FROM \(table) WHERE id = ?",
                    arguments: [owner.level.ownerID])
            else { return (nil, false) }
            let has: Bool = row["has_token"]
            return (row["forge_api_url"], has)
        }
    }

    public func forgeAPIAccess(on chain: AncestorChain) async throws -> (url: String?, token: String, level: IntegrationLevel)? {
        let found: (String?, Data, IntegrationLevel)? = try await database.read { db in
            for level in chain.levels {
                guard let table = Self.ownerTable(level) else { continue }
                if let row = try await SQLRow.fetchOne(
                    db, sql: "SELECT forge_api_url, forge_api_token_enc FROM \(table) WHERE id = ? AND forge_api_token_enc IS NOT NULL",
                    arguments: [level.ownerID])
                {
                    let blob: Data = row["forge_api_token_enc"]
                    return (row["forge_api_url"], blob, level)
                }
            }
            return nil
        }
        guard let (url, blob, level) = found else { return nil }
        return (url, try secrets.open(blob), level)
    }

    public func setForgeHookID(_ id: Int64?, projectID: Int64) async throws {
        let now = clock.now()
        try await database.write { db in
            try await db.execute(sql: "UPDATE projects SET forge_hook_id = ?, updated_at = ? WHERE id = ?", arguments: [id, now, projectID])
            if db.changesCount == 0 { throw StoreError.notFound("project") }
        }
    }

    public func lastEventReceived(projectID: Int64) async throws -> Millis? {
        try await database.read { db in
            try await Int64.fetchOne(db, sql: "SELECT MAX(received_at) FROM events WHERE project_id = ?", arguments: [projectID])
        }
    }
}
