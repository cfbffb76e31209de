import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Store

/// `/api/v4/projects/:id/integrations[/jira[/test|/issue_types]]`.
struct IntegrationController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    let service: IntegrationService
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.get("/api/v4/projects/:id/integrations") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            var list: [JSONValue] = []
            if let record = try await store.integration(at: .project(project.id)), record.settings.active {
                list.append(IntegrationJSON.render(record, includeProperties: false, rejection: try await rejection(of: record)))
            }
            return try JSONBody.response(.array(list))
        }
        for route in IntegrationRoute.allCases {
            addSettingsRoutes(route, to: router)
        }
    }

    /// GET, PUT, DELETE, Test settings and issue types at one level; the overrides list for defaults.
    private func addSettingsRoutes(_ route: IntegrationRoute, to router: RouterGroup<BridgeRequestContext>) {
        let path = route.path
        router.get(RouterPath(path)) { _, context in
            let level = try await resolve(route, context, role: .reporter)
            guard let record = try await store.integration(at: level) else { throw APIError.integrationNotFound }
            return try JSONBody.response(IntegrationJSON.render(record, rejection: try await rejection(of: record)))
        }
        router.put(RouterPath(path)) { request, context in
            let level = try await resolve(route, context, role: .maintainer)
            let params = try await RequestParameters.read(request, context: context)
            let record = try await service.update(at: level, parameters: params, logger: context.logger)
            return try JSONBody.response(IntegrationJSON.render(record, rejection: try await rejection(of: record)))
        }
        router.delete(RouterPath(path)) { _, context in
            let level = try await resolve(route, context, role: .maintainer)
            guard try await store.deleteIntegration(at: level) else { throw APIError.integrationNotFound }
            return Response(status: .noContent)
        }
        if route != .instance {
            // GitLab has no Test settings and no issue types at instance level.
            router.post(RouterPath(path + "/test")) { request, context in
                let level = try await resolve(route, context, role: .maintainer)
                let params = try await RequestParameters.read(request, context: context)
                return try JSONBody.response(try await service.test(at: level, parameters: params, logger: context.logger))
            }
            router.get(RouterPath(path + "/issue_types")) { _, context in
                let level = try await resolve(route, context, role: .reporter)
                guard let record = try await store.integration(at: level), record.settings.active else {
                    throw APIError(.badRequest, message: Texts.notConfigured)
                }
                do {
                    let connection = try JiraConnection(settings: record.settings)
                    let types = try await service.issueTypes(record.settings, connection: connection, logger: context.logger)
                    return try JSONBody.response(.array(types.map(IntegrationService.issueTypeJSON)))
                } catch let error as JiraError {
                    throw APIError(.badGateway, message: error.userMessage)
                }
            }
        }
        if route != .project {
            router.get(RouterPath(path + "/overrides")) { request, context in
                let level = try await resolve(route, context, role: .maintainer)
                let page = try QueryForm(request).pageRequest()
                let (items, total) = try await store.overrides(of: level, limit: page.perPage, offset: page.offset)
                var list: [JSONValue] = []
                for item in items {
                    var group: Group? = nil
                    if let gid = item.project.groupID { group = try await store.group(id: gid) }
                    list.append(EntityJSON.project(item.project, group: group))
                }
                return try JSONBody.response(.array(list), headers: Pagination.headers(page, total: total))
            }
        }
    }

    /// The level a route names, once the caller may act on it with `role`. Group defaults need a maintainer
    /// of the group (or of an ancestor); the instance default needs the admin.
    /// Jira's rejection of the credentials `record` uses, if one is in force.
    func rejection(of record: IntegrationRecord) async throws -> CredentialHold? {
        try await store.credentialHold(key: store.credentialsKey(record).key)
    }

    private func resolve(_ route: IntegrationRoute, _ context: BridgeRequestContext, role: TokenRole) async throws -> IntegrationLevel {
        switch route {
        case .project:
            let project = try await lookup.project(context)
            try await access.require(context, role, project: project)
            return .project(project.id)
        case .group:
            let group = try await lookup.group(context)
            try await access.require(context, .maintainer, group: group)
            return .group(group.id)
        case .instance:
            try access.requireAdmin(context)
            return .instance
        }
    }
}
