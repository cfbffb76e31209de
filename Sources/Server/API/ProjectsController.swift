import Hummingbird
import Integration
import Store

/// Projects and groups: registration, lookup, and their write-only webhook secrets.
struct ProjectsController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    let secretCache: SecretCache
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.post("/api/v4/projects") { request, context in try await registerProject(request, context) }
        router.get("/api/v4/projects") { request, context in try await listProjects(request, context) }
        router.get("/api/v4/projects/:id") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            return try await render(project)
        }
        router.put("/api/v4/projects/:id") { request, context in try await updateProject(request, context) }
        router.post("/api/v4/groups") { request, context in
            try access.requireAdmin(context)
            let params = try await RequestParameters.read(request, context: context)
            guard let path = params.string("full_path")?.trimmingWhitespace(), Self.isValidPath(path) else {
                throw APIError.badParameter("full_path is missing or invalid")
            }
            let forge = try Self.forge(params)
            let group = try await store.ensureGroup(fullPath: forge.qualifiedPath(path), name: params.string("name"))
            return try JSONBody.response(EntityJSON.group(group), status: .created)
        }
        router.get("/api/v4/groups/:id") { _, context in
            let group = try await lookup.group(context)
            try await access.require(context, .reporter, group: group)
            return try JSONBody.response(EntityJSON.group(group))
        }
        router.put("/api/v4/groups/:id") { request, context in
            let group = try await lookup.group(context)
            try await access.require(context, .maintainer, group: group)
            let params = try await RequestParameters.read(request, context: context)
            if let name = params.string("name"), !name.isEmpty { _ = try await store.ensureGroup(fullPath: group.fullPath, name: name) }
            try await updateSecrets(params, for: .group(group.id))
            try await updateForgeAPI(params, for: .group(group.id), savedURL: group.forgeAPIURL)
            return try JSONBody.response(EntityJSON.group(try await store.group(id: group.id) ?? group))
        }
    }

    private func registerProject(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        try access.requireAdmin(context)
        let params = try await RequestParameters.read(request, context: context)
        guard let id = params.int64("id"), id > 0 else { throw APIError.badParameter("id is missing or invalid") }
        guard let path = params.string("path_with_namespace")?.trimmingWhitespace(), Self.isValidPath(path) else {
            throw APIError.badParameter("path_with_namespace is missing or invalid")
        }
        let name = params.string("name").flatMap { $0.isEmpty ? nil : $0 } ?? String(path.split(separator: "/").last!)
        let webURL = params.string("web_url") ?? ""
        if let problem = ProjectRegistration.webURLProblem(webURL) ?? ProjectRegistration.nameProblem(name) { throw APIError.badParameter(problem) }
        let branch = params.string("default_branch").flatMap { $0.isEmpty ? nil : $0 } ?? "main"
        let forge = try Self.forge(params)
        guard var registration = ProjectRegistration(forge: forge, forgeID: id, path: path, name: name, webURL: webURL, defaultBranch: branch) else {
            throw APIError.badParameter("id is missing or invalid")
        }
        // The admin's confirmation that this id now owns the path another id holds (that one moves aside).
        registration.mayTakeOverPath = try params.bool("take_over_path") ?? false
        do {
            let project = try await store.registerProject(registration)
            return try await render(project, status: .created)
        } catch let error as StoreError where error.isConflict {
            throw APIError(.conflict, message: "409 Conflict: \(error)")
        }
    }

    /// The projects the caller may read, a page at a time as GitLab pages (`page`, `per_page`, 20 by default).
    private func listProjects(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let page = try QueryForm(request).pageRequest()
        let listed =
            try await Access.reach(identity, .reporter).asyncFlatMap {
                try await store.projects(within: $0, offset: page.offset, limit: page.perPage)
            } ?? Listed(items: [], total: 0)
        return try JSONBody.response(
            .array(listed.items.map { EntityJSON.project($0, group: nil) }),
            headers: Pagination.headers(page, total: listed.total))
    }

    private func updateProject(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        try await access.require(context, .maintainer, project: project)
        let params = try await RequestParameters.read(request, context: context)
        var registration = ProjectRegistration(
            id: project.id, pathWithNamespace: project.pathWithNamespace, name: project.name,
            webURL: project.webURL, defaultBranch: project.defaultBranch)
        if let name = params.string("name"), !name.isEmpty {
            if let problem = ProjectRegistration.nameProblem(name) { throw APIError.badParameter(problem) }
            registration.name = name
        }
        if let url = params.string("web_url") {
            // The same rule as at registration: the links written into Jira (and Jira issue descriptions made from
            // vulnerabilities) start with it.
            if let problem = ProjectRegistration.webURLProblem(url) { throw APIError.badParameter(problem) }
            registration.webURL = url
        }
        if let branch = params.string("default_branch"), !branch.isEmpty { registration.defaultBranch = branch }
        var updated = try await store.registerProject(registration)
        let secrets = try await updateSecrets(params, for: .project(project.id))
        var hook = false
        if let value = params["forge_hook_id"] {
            // The forge's id of its webhook that calls jira-bridge (catch-up); null or blank clears it.
            var id: Int64? = nil
            if value != .null {
                guard let text = params.string("forge_hook_id")?.trimmingWhitespace() else {
                    throw APIError.badParameter("forge_hook_id must be the webhook's id, a whole number")
                }
                guard text.isEmpty || (text.utf8.count <= 19 && Int64(text).map { $0 > 0 } == true) else {
                    throw APIError.badParameter("forge_hook_id must be the webhook's id, a whole number from 1 to \(Int64.max)")
                }
                id = Int64(text)
            }
            try await store.setForgeHookID(id, projectID: project.id)
            hook = true
        }
        if try await updateForgeAPI(params, for: .project(project.id), savedURL: project.forgeAPIURL) || secrets || hook {
            updated = try await store.project(id: project.id) ?? updated
        }
        return try await render(updated)
    }

    private func render(_ project: Project, status: HTTPResponse.Status = .ok) async throws -> Response {
        let group = try await project.groupID.asyncFlatMap { try await store.group(id: $0) }
        return try JSONBody.response(EntityJSON.project(project, group: group), status: status)
    }

    /// `webhook_secret` sets (a blank or null one removes) the secret, keeping the one it replaces valid for
    /// 24 hours; `"previous_webhook_secret": null` ends that at once. True when anything changed.
    @discardableResult
    private func updateSecrets(_ params: [String: ParameterValue], for owner: TokenScope) async throws -> Bool {
        var changed = false
        if params["webhook_secret"] != nil {
            try await store.setWebhookSecret(try Self.secretValue(params), for: owner)
            changed = true
        }
        if let previous = params["previous_webhook_secret"] {
            guard previous == .null || params.string("previous_webhook_secret") == "" else {
                throw APIError.badParameter("previous_webhook_secret can only be null (it ends the previous secret's validity)")
            }
            try await store.clearPreviousWebhookSecret(for: owner)
            changed = true
        }
        if changed { secretCache.clear() }
        return changed
    }

    /// `forge_api_url` (blank: the forge's default) and `forge_api_token` (write-only: blank keeps the saved one,
    /// null removes it; a changed URL without a new token removes it, since it was given for the other
    /// address). Both are checked before anything is saved. True when anything changed.
    @discardableResult
    private func updateForgeAPI(_ params: [String: ParameterValue], for owner: TokenScope, savedURL: String?) async throws -> Bool {
        var url = ForgeAPISetting.keep
        var token = ForgeAPISetting.keep
        if params["forge_api_url"] != nil {
            let text = (params.string("forge_api_url") ?? "").trimmingWhitespace()
            if let problem = ForgeAPIAccess.urlProblem(text) { throw APIError.badParameter(problem) }
            url = text.isEmpty ? .clear : .set(text)
            if (text.isEmpty ? nil : text) != savedURL { token = .clear }
        }
        if let value = params["forge_api_token"] {
            if value == .null {
                token = .clear
            } else if let text = params.string("forge_api_token"), !text.isEmpty {
                if let problem = ForgeAPIAccess.tokenProblem(text) { throw APIError.badParameter(problem) }
                token = .set(text)
            }
        }
        guard url != .keep || token != .keep else { return false }
        try await store.setForgeAPI(url: url, token: token, for: owner)
        return true
    }

    /// `forge`: `gitlab` (the default), `github` or `gitea`.
    static func forge(_ params: [String: ParameterValue]) throws -> Forge {
        guard let text = params.string("forge"), !text.isEmpty else { return .gitlab }
        guard let forge = Forge(rawValue: text) else {
            throw APIError.badParameter("forge does not have a valid value (gitlab, github, gitea)")
        }
        return forge
    }

    /// A blank or null `webhook_secret` removes the secret. It travels in a header (`X-Gitlab-Token`), so it may
    /// hold no control character, and at most 1024 characters (longer tokens are never compared).
    static func secretValue(_ params: [String: ParameterValue]) throws -> String? {
        guard let s = params.string("webhook_secret"), !s.isEmpty else { return nil }
        guard s.utf8.count <= 1024 else { throw APIError.badParameter("webhook_secret is too long (maximum is 1024 characters)") }
        guard !CredentialText.hasControlCharacters(s) else { throw APIError.badParameter("webhook_secret \(CredentialText.message)") }
        return s
    }

    /// Slash-separated segments of letters, digits, `_`, `-` and `.`, none empty or dot-only.
    static func isValidPath(_ path: String) -> Bool {
        guard !path.isEmpty, path.count <= 255 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { seg in
            !seg.isEmpty && seg != "." && seg != ".."
                && seg.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
                }
        }
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
