import Foundation
import Hummingbird
import Integration
import Store

/// Finds projects and groups by `:id`: a numeric id or a URL-encoded full path, as in GitLab.
/// A caller without a valid token gets 401 before any lookup, so the answer never tells whether a project
/// or group exists.
struct Lookup: Sendable {
    let store: any ProjectStore

    func project(_ context: BridgeRequestContext) async throws -> Project {
        _ = try context.requireIdentity()
        let raw = try context.parameters.require("id")
        guard let p = try await project(reference: raw.removingPercentEncoding ?? raw) else { throw ServiceFailure.notFound(.project) }
        return p
    }

    /// A project by its address: GitLab's numeric id or full path, or `<forge>:<id>` / `<forge>:<full path>`
    /// for the other forges (`Forge.reference`). A plain number is only ever a GitLab project.
    func project(reference: String) async throws -> Project? {
        let (forge, rest) = Forge.reference(reference)
        if let numeric = Int64(rest), numeric > 0, let id = forge.storageID(forgeID: numeric), let p = try await store.project(id: id) { return p }
        return try await store.project(path: forge.qualifiedPath(rest))
    }

    func group(_ context: BridgeRequestContext) async throws -> Group {
        _ = try context.requireIdentity()
        let raw = try context.parameters.require("id")
        let id = raw.removingPercentEncoding ?? raw
        if let numeric = Int64(id), numeric > 0, let g = try await store.group(id: numeric) { return g }
        if let g = try await store.group(path: id) { return g }
        throw ServiceFailure.notFound(.group)
    }
}
