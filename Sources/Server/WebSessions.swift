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
           let session = try await store.session(idHash: TokenSecret.hash(value), now: store.clock.now()) {
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

/// Failed sign-ins (or API requests with a wrong token) per client address: after `limit` within 5 minutes,
/// wrong tokens from that address are refused until the window ends (guessing tokens is slow anyway; this
/// also keeps the log quiet). A valid token is never refused, and signing in does not reset the count (a
/// guesser behind the same proxy gains nothing from it). At most 10,000 addresses are tracked; the oldest
/// windows go first.
final class SignInThrottle: Sendable {
    /// Sign-ins: a person types a token.
    static let signInLimit = 10
    /// API requests: a script with a wrong token may retry a few times before it is slowed.
    static let apiLimit = 30
    static let windowMillis: Int64 = 5 * 60 * 1000
    let limit: Int

    init(limit: Int = SignInThrottle.signInLimit) {
        self.limit = limit
    }

    private let failures = Mutex<[String: (count: Int, since: Int64)]>([:])

    /// Seconds to wait before trying again, or nil when the address may try.
    func retryAfter(_ address: String, now: Int64) -> Int? {
        failures.withLock { all in
            guard let entry = all[address], entry.count >= limit else { return nil }
            let remaining = entry.since + Self.windowMillis - now
            if remaining <= 0 { all[address] = nil; return nil }
            return Int((remaining + 999) / 1000)
        }
    }

    func failed(_ address: String, now: Int64) {
        failures.withLock { all in
            if var entry = all[address], now - entry.since < Self.windowMillis {
                entry.count += 1
                all[address] = entry
            } else {
                if all.count >= 10_000 {
                    all = all.filter { now - $0.value.since < Self.windowMillis }
                    if all.count >= 10_000, let oldest = all.min(by: { $0.value.since < $1.value.since }) { all[oldest.key] = nil }
                }
                all[address] = (1, now)
            }
        }
    }
}

/// Why a page request was refused, rendered as a page rather than JSON.
struct WebError: Error {
    var status: HTTPResponse.Status
    var heading: String
    var message: String

    static let forbidden = WebError(status: .forbidden, heading: "Forbidden",
                                    message: "Your token does not allow this. Ask an admin or a maintainer of the group.")
    static let badCSRF = WebError(status: .forbidden, heading: "The form expired",
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

extension BridgeRequestContext {
    /// The signed-in identity of a page request; nil means "show the sign-in page".
    var webIdentity: Identity? { webSession == nil ? nil : identity }
}

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
