import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Store

/// The three places an integration lives, and their API paths.
enum IntegrationRoute: CaseIterable, Sendable {
    case project, group, instance

    var path: String {
        switch self {
        case .project: return "/api/v4/projects/:id/integrations/jira"
        case .group: return "/api/v4/groups/:id/integrations/jira"
        case .instance: return "/api/v4/admin/integrations/jira"
        }
    }
}
