import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store
import Synchronization

/// Reads the session cookie of a page request and attaches the signed-in identity. An expired session,
/// or one whose API token was deleted or has expired, counts as signed out.
struct WebSessionMiddleware: RouterMiddleware {
    typealias Context = BridgeRequestContext
    let store: any BridgeStore
    let identities: TokenIdentities

    static let cookieName = "jira_bridge_session"
    static let signInCookieName = "jira_bridge_signin"
    /// Sessions last 12 hours from sign-in.
    static let lifetimeMillis: Int64 = 12 * 3600 * 1000

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let value = Self.cookie(request, Self.cookieName), !value.isEmpty,
            let session = try await store.session(idHash: TokenSecret.hash(value), now: store.clock.now())
        {
            if session.isAdmin {
                context.identity = .instanceAdmin
                context.webUser = "admin"
                context.webSession = session
            } else if let tokenID = session.tokenID, let found = try await identities.identity(tokenID: tokenID) {
                context.identity = found.identity
                context.webUser = found.name
                context.webSession = session
            }
        }
        return try await next(request, context)
    }

    /// A cookie's value from the `Cookie` header.
    static func cookie(_ request: Request, _ name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name {
                    return pair[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `Set-Cookie` for a cookie the page's scripts never read: HttpOnly, SameSite=Lax, Secure behind https.
    static func setCookie(_ name: String, _ value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}

extension BridgeRequestContext {
    /// The signed-in identity of a page request; nil means "show the sign-in page".
    var webIdentity: Identity? { webSession == nil ? nil : identity }
}
