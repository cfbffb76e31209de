import Hummingbird
import Integration
import Store

/// What a use case refuses, in the domain's words and without HTTP: the services and the shared lookups
/// throw it; the API renders it as GitLab's JSON (`APIError.init(_:)`, applied by `ServiceFailureMiddleware`)
/// and the pages as a page (`WebError.init(_:)`), each in its own way.
enum ServiceFailure: Error, Sendable, Equatable {
    /// No valid token or session.
    case unauthenticated
    case forbidden
    case notFound(Resource)
    /// A parameter that cannot be read at all (Grape's `{"error": "... is invalid"}`).
    case badParameter(String)
    /// Settings that break the rules, by field.
    case invalid(ValidationErrors)
    case tooLarge(String)
    case conflict(String)
    /// The project's Jira integration is missing or inactive (GitLab's "Jira service not configured.").
    case notConfigured

    enum Resource: String, Sendable, Equatable {
        case project = "Project"
        case group = "Group"
        case integration = "Integration"
        case defaultIntegration = "Default integration"
        case delivery = "Delivery"
        case vulnerability = "Vulnerability"
    }

    /// The failure an access refusal is: a hidden project or group is not found; a seen one is forbidden.
    init(_ refusal: AccessRefusal, _ resource: Resource) {
        switch refusal {
        case .hidden: self = .notFound(resource)
        case .forbidden: self = .forbidden
        }
    }
}

extension APIError {
    /// The API's rendering of a domain failure: GitLab's statuses and messages.
    init(_ failure: ServiceFailure) {
        switch failure {
        case .unauthenticated: self = .unauthorized
        case .forbidden: self = .forbidden
        case .notFound(.defaultIntegration): self = APIError(.notFound, message: "Default integration not found.")
        case .notFound(let resource): self = APIError(.notFound, message: "404 \(resource.rawValue) Not Found")
        case .badParameter(let text): self = .badParameter(text)
        case .invalid(let errors): self = .validation(errors)
        case .tooLarge(let text): self = APIError(.contentTooLarge, message: text)
        case .conflict(let text): self = APIError(.conflict, message: "409 Conflict: \(text)")
        case .notConfigured: self = APIError(.badRequest, message: Texts.notConfigured)
        }
    }
}

/// Renders the domain failures an API route throws as GitLab's JSON errors.
struct ServiceFailureMiddleware: RouterMiddleware {
    typealias Context = BridgeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as ServiceFailure {
            throw APIError(failure)
        } catch let error as StoreError where error.isUnavailable {
            // A database restart, a failover or a full disk: the client may try again; the details are in the log.
            context.logger.error("\(error.unavailableMessage)", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, message: "503 Service Unavailable: \(error.unavailableMessage); nothing was changed, try again later")
        }
    }
}
