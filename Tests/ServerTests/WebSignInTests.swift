import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import Server

/// Sign-in over HTTP without a browser: the double-submit check, sessions, and throttling.
@Suite("Web sign-in")
struct WebSignInTests {
    /// The sign-in page's cookie and the form's hidden token.
    func signInForm(_ h: Harness) async throws -> (cookie: String, csrf: String) {
        let page = try await h.request(.GET, "/")
        let cookie = try #require(page.headers.first { $0.0.lowercased() == "set-cookie" }?.1.split(separator: ";").first.map(String.init))
        let range = try #require(page.text.range(of: #"name="_csrf" value=""#))
        let csrf = String(page.text[range.upperBound...].prefix { $0 != "\"" })
        return (cookie, csrf)
    }

    /// Redirects are answers here, not something to follow.
    static let client: HTTPClient = {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }()

    /// Posts the sign-in form; `extra` is appended to the form body (`&next=...`), `headers` are added.
    func signIn(
        _ h: Harness, token: String, form: (cookie: String, csrf: String), extra: String = "",
        headers: [(String, String)] = []
    ) async throws -> TestResponse {
        let body = "_csrf=\(form.csrf)&token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" + extra
        if h.router != nil {
            return try await h.request(
                .POST, "/sign_in", raw: body,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", form.cookie)] + headers)
        }
        // Live: a client that does not follow the answer's redirect (the tests read the 303 itself).
        var request = HTTPClientRequest(url: h.bridgeURL + "/sign_in")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Cookie", value: form.cookie)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, text: text)
    }

    @Test("a valid token gets a session cookie; the form without its cookie is refused")
    func session() async throws {
        try await Harness.runLive { h in
            let form = try await signInForm(h)
            let ok = try await signIn(h, token: h.adminToken, form: form)
            #expect(ok.status == 303)
            let setCookie = ok.headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1)
            let session = try #require(setCookie.first { $0.hasPrefix("jira_bridge_session=") })
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax"))
            #expect(!session.contains(h.adminToken), "the cookie is a session id, never the token")
            let cookie = String(session.split(separator: ";")[0])
            let home = try await h.request(.GET, "/", headers: [("Cookie", cookie)])
            #expect(home.text.contains("Projects and groups") && home.text.contains("Sign out"))
            #expect(home.headers.contains { $0.0.lowercased() == "content-security-policy" })

            let forged = try await h.request(.POST, "/sign_in", form: "_csrf=guess&token=\(h.adminToken)")
            #expect(forged.status == 403, "no sign-in cookie: refused")
            // A page form without the session's CSRF token is refused.
            let noCSRF = try await h.request(.POST, "/sign_out", form: "", headers: [("Cookie", cookie)])
            #expect(noCSRF.status == 403)
        }
    }

    @Test("ten wrong tokens from one address, then 429 with Retry-After for wrong ones; the right token still signs in")
    func throttling() async throws {
        try await Harness.runLive { h in
            for _ in 0..<10 {
                let r = try await signIn(h, token: "wrong", form: try await signInForm(h))
                #expect(r.status == 401)
            }
            // Behind a proxy everyone shares one address: a guesser must not lock the others out.
            let right = try await signIn(h, token: h.adminToken, form: try await signInForm(h))
            #expect(right.status == 303)
            let blocked = try await signIn(h, token: "still-wrong", form: try await signInForm(h))
            #expect(blocked.status == 429)
            #expect(blocked.text.contains("Too many failed sign-ins"))
            let wait = Int(blocked.headers.first { $0.0.lowercased() == "retry-after" }?.1 ?? "") ?? 0
            #expect(wait > 0 && wait <= 300)
            #expect(!h.logs.all.contains { $0.contains(h.adminToken) || $0.contains("token=wrong") }, "no token in the log")
        }
    }

    @Test("API: 30 wrong tokens from one address, then 429 with Retry-After for wrong ones; a right token always passes")
    func apiThrottling() async throws {
        try await Harness.runLive { h in
            for i in 0..<SignInThrottle.apiLimit {
                #expect(try await h.request(.GET, "/api/v4/projects", token: "wrong-\(i)").status == 401)
            }
            let blocked = try await h.request(.GET, "/api/v4/projects", token: "wrong-again")
            #expect(blocked.status == 429 && blocked.text.contains("wrong token"))
            let wait = Int(blocked.headers.first { $0.0.lowercased() == "retry-after" }?.1 ?? "") ?? 0
            #expect(wait > 0 && wait <= 300)
            #expect(try await h.request(.GET, "/api/v4/projects", token: h.adminToken).status == 200)
            #expect(try await h.request(.GET, "/-/health").status == 200, "no token: not counted, not refused")
        }
    }

    @Test("the throttle's window ends after 5 minutes by the clock it is given")
    func throttleWindow() {
        let throttle = SignInThrottle(limit: 3)
        for _ in 0..<3 { throttle.failed("10.0.0.1", now: 1_000) }
        #expect(throttle.retryAfter("10.0.0.1", now: 1_000) == 300)
        #expect(throttle.retryAfter("10.0.0.2", now: 1_000) == nil, "another address")
        #expect(throttle.retryAfter("10.0.0.1", now: 1_000 + SignInThrottle.windowMillis - 1) == 1)
        #expect(throttle.retryAfter("10.0.0.1", now: 1_000 + SignInThrottle.windowMillis) == nil)
        #expect(SignInThrottle().limit == 10)
    }
}
