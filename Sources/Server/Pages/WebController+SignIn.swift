import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The sign-in form, sessions and sign-out.
extension WebController {
    // MARK: Sign-in

    struct SignInView: ViewModel {
        var signinCSRF: String
        var next: String
        var error: String?
    }

    func signInPage(_ request: Request, next: String?, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        // Sign-in CSRF: the form carries the value of a cookie set with it (double submit).
        let token = TokenSecret.generate()
        var headers: HTTPFields = [:]
        headers.append(
            HTTPField(
                name: .setCookie,
                value: WebSessionMiddleware.setCookie(
                    WebSessionMiddleware.signInCookieName, token,
                    maxAge: 3600, secure: secureCookies)))
        let view = SignInView(signinCSRF: token, next: Self.safeNext(next) ?? "", error: error)
        return pages.render("signin", RenderedPage(page: .signedOut, model: view), status: status, headers: headers)
    }

    /// Only local paths are followed after sign-in. Browsers drop tabs and newlines from URLs and read
    /// a backslash as a slash, so `/\t/evil.com` and `/\\evil.com` mean `//evil.com`: the check is made on
    /// what the browser would read, and that is what is returned.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.utf8.count <= 2048 else { return nil }
        var cleaned = ""
        for scalar in next.unicodeScalars {
            switch scalar {
            case "\t", "\n", "\r": continue
            case "\\": cleaned.unicodeScalars.append("/")
            default:
                // Other control characters have no place in a path.
                if scalar.value < 0x20 || scalar.value == 0x7f { return nil }
                cleaned.unicodeScalars.append(scalar)
            }
        }
        guard cleaned.hasPrefix("/"), !cleaned.hasPrefix("//") else { return nil }
        return cleaned
    }

    func signIn(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let params = try await RequestParameters.read(request, context: context)
        let next = Self.safeNext(params.string("next"))
        guard let cookie = WebSessionMiddleware.cookie(request, WebSessionMiddleware.signInCookieName),
            let presented = params.string("_csrf"), TokenSecret.constantTimeEquals(cookie, presented)
        else {
            return signInPage(request, next: next, error: "The sign-in form expired. Try again.", status: .forbidden)
        }
        let address = context.clientAddress(request, trusting: trustedProxies)
        let token = (params.string("token") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var isAdmin = false
        var tokenID: Int64? = nil
        // A valid token always signs in, throttled address or not: the throttle slows guessing (and keeps
        // the log quiet), it must never lock out the people behind a shared address.
        if let found = try await TokenIdentities(store: store, adminToken: adminToken).identity(presented: token) {
            isAdmin = found.identity == .instanceAdmin
            tokenID = found.identity.tokenID
        } else if let wait = throttle.retryAfter(address, now: store.clock.now()) {
            var response = signInPage(
                request, next: next, error: "Too many failed sign-ins from your address. Try again in \(wait) seconds.",
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        } else {
            throttle.failed(address, now: store.clock.now())
            context.logger.notice("web sign-in refused", metadata: ["client": "\(address)"])
            return signInPage(request, next: next, error: "That token is not valid.", status: .unauthorized)
        }
        let value = TokenSecret.generate()
        let now = store.clock.now()
        try await store.createSession(
            WebSession(
                idHash: TokenSecret.hash(value), tokenID: tokenID, isAdmin: isAdmin,
                csrfToken: TokenSecret.generate(), createdAt: now,
                expiresAt: now + WebSessionMiddleware.lifetimeMillis))
        return redirect(
            next ?? "/",
            cookies: [
                WebSessionMiddleware.setCookie(
                    WebSessionMiddleware.cookieName, value, maxAge: Int(WebSessionMiddleware.lifetimeMillis / 1000),
                    secure: secureCookies),
                WebSessionMiddleware.setCookie(WebSessionMiddleware.signInCookieName, "", maxAge: 0, secure: secureCookies),
            ])
    }
}
