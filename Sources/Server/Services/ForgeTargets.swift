import Integration
import JiraClient
import Store

/// Where a project's forge API is, and the token to call it with: the project's own, else its nearest group's.
/// Shared by what talks back to the forge (commit statuses, backfills, Create branch).
struct ForgeTargets: Sendable {
    let store: any ProjectStore

    struct Unavailable: Error, Equatable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The target, or why there is none. A group's token goes only to the group's own `forge_api_url` (or
    /// github.com's fixed API): a project's web address, which its maintainers may change, never chooses where a
    /// group's token is sent.
    func target(projectID: Int64) async -> Result<ForgeAPITarget, Unavailable> {
        do {
            guard let project = try await store.project(id: projectID), let chain = try await store.ancestorChain(of: .project(project.id))
            else { return .failure(Unavailable("The project is no longer registered.")) }
            guard let access = try await store.forgeAPIAccess(on: chain) else {
                return .failure(Unavailable("No forge API token is saved for the project or its groups (forge_api_token)."))
            }
            let base: String
            if let url = access.url {
                base = url
            } else {
                let derived = ForgeAPIAccess.defaultURL(forge: project.forge, forgeBaseURL: project.forgeBaseURL)
                if case .group = access.level, derived != "https://api.github.com" {
                    return .failure(
                        Unavailable(
                            "The group's forge API token is used only with the group's own forge_api_url, which is not set: set it on the group."))
                }
                base = derived
            }
            guard let url = JiraURL(base) else { return .failure(Unavailable("The forge API URL is not an absolute http(s) URL.")) }
            return .success(
                ForgeAPITarget(forge: project.forge, apiURL: url, token: access.token, projectID: project.forgeID, path: project.forgePath))
        } catch {
            return .failure(Unavailable("The store could not be read: \(error)"))
        }
    }
}
