import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store
import Synchronization

/// Form bodies of page requests, checked against the session's CSRF token (the `_csrf` field, or the
/// `X-CSRF-Token` header for the page's scripts).
enum WebForm {
    static func read(_ request: Request, context: BridgeRequestContext) async throws -> [String: ParameterValue] {
        guard let session = context.webSession else { throw WebError.forbidden }
        let params = try await RequestParameters.read(request, context: context)
        let presented = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? params.string("_csrf") ?? ""
        guard !presented.isEmpty, TokenSecret.constantTimeEquals(presented, session.csrfToken) else { throw WebError.badCSRF }
        return params
    }
}
