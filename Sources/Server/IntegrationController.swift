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
                list.append(IntegrationJSON.render(record, includeProperties: false))
            }
            return try JSONBody.response(.array(list))
        }
        router.get("/api/v4/projects/:id/integrations/jira") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            guard let record = try await store.integration(at: .project(project.id)) else { throw APIError.integrationNotFound }
            return try JSONBody.response(IntegrationJSON.render(record))
        }
        router.put("/api/v4/projects/:id/integrations/jira") { request, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            let params = try await RequestParameters.read(request, context: context)
            let record = try await service.update(at: .project(project.id), parameters: params, logger: context.logger)
            return try JSONBody.response(IntegrationJSON.render(record))
        }
        router.delete("/api/v4/projects/:id/integrations/jira") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            guard try await store.deleteIntegration(at: .project(project.id)) else { throw APIError.integrationNotFound }
            return Response(status: .noContent)
        }
        router.post("/api/v4/projects/:id/integrations/jira/test") { request, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            let params = try await RequestParameters.read(request, context: context)
            return try JSONBody.response(try await service.test(at: .project(project.id), parameters: params, logger: context.logger))
        }
        router.get("/api/v4/projects/:id/integrations/jira/issue_types") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            guard let record = try await store.integration(at: .project(project.id)), record.settings.active else {
                throw APIError(.badRequest, message: "Jira service not configured.")
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
}
