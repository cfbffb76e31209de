import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store
import Synchronization

/// Why a page request was refused, rendered as a page rather than JSON.
struct WebError: Error {
    var status: HTTPResponse.Status
    var heading: String
    var message: String

    static let forbidden = WebError(
        status: .forbidden, heading: "Forbidden",
        message: "Your token does not allow this. Ask an admin or a maintainer of the group.")
    static let badCSRF = WebError(
        status: .forbidden, heading: "The form expired",
        message: "The form's security token does not match your session. Go back, reload the page and try again.")
    static func notFound(_ what: String) -> WebError { WebError(status: .notFound, heading: "Not found", message: "\(what) was not found.") }
}

extension WebError {
    /// The pages' rendering of a domain failure: a page with a heading and a sentence, never JSON.
    init(_ failure: ServiceFailure) {
        switch failure {
        case .unauthenticated, .forbidden: self = .forbidden
        case .notFound(let resource): self = .notFound("The " + resource.rawValue.lowercased())
        case .badParameter(let text): self = WebError(status: .badRequest, heading: "Bad request", message: text)
        case .invalid(let errors): self = WebError(status: .unprocessableContent, heading: "Not saved", message: errors.fullMessages)
        case .tooLarge: self = WebError(status: .contentTooLarge, heading: "Too large", message: "The form is larger than 1 MB.")
        case .conflict(let text): self = WebError(status: .conflict, heading: "Conflict", message: text)
        case .notConfigured: self = WebError(status: .badRequest, heading: "Jira is not configured", message: Texts.notConfigured)
        }
    }
}
