import Foundation
import Hummingbird
import Integration
import Store

/// Finds projects and groups by `:id`: a numeric id or a URL-encoded full path, as in GitLab.
/// A caller without a valid token gets 401 before any lookup, so the answer never tells whether a project
/// or group exists.
struct Lookup: Sendable {
    let store: any BridgeStore

    func project(_ context: BridgeRequestContext) async throws -> Project {
        _ = try context.requireIdentity()
        let raw = try context.parameters.require("id")
        let id = raw.removingPercentEncoding ?? raw
        if let numeric = Int64(id), let p = try await store.project(id: numeric) { return p }
        if let p = try await store.project(path: id) { return p }
        throw ServiceFailure.notFound(.project)
    }

    func group(_ context: BridgeRequestContext) async throws -> Group {
        _ = try context.requireIdentity()
        let raw = try context.parameters.require("id")
        let id = raw.removingPercentEncoding ?? raw
        if let numeric = Int64(id), let g = try await store.group(id: numeric) { return g }
        if let g = try await store.group(path: id) { return g }
        throw ServiceFailure.notFound(.group)
    }
}
