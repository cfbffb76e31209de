import AsyncHTTPClient
import Foundation
import Hummingbird
import Integration
import JiraClient
import NIOCore
import Server
import Store
import Testing

/// Every route of the router, against every kind of caller that must be refused. The list of routes comes
/// from the router itself: a route added later without a rule here fails `everyRouteHasARule`.
@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    /// Who may call a route.
    enum Rule: Equatable {
        /// Anyone (health, assets, the sign-in form).
        case open
        /// The forge, with the webhook secret.
        case webhook
        /// Any valid token; the answer lists only what the token's scope covers.
        case anyToken
        /// The instance admin.
        case admin
        /// A token over project 42 (`acme/web/shop`) with at least this role.
        case project(TokenRole)
        /// A token over group `acme/web` with at least this role.
        case group(TokenRole)
        /// A web page of project 42 / group acme/web / the instance, for a signed-in session with this role.
        case projectPage(TokenRole)
        case groupPage(TokenRole)
        case instancePage
        /// A page that only needs a session (the home page, sign-out).
        case signedIn
    }

    static let rules: [String: Rule] = [
        "GET /-/health": .open, "GET /-/readiness": .open, "GET /metrics": .open, "GET /api/v4/openapi.yaml": .open,
        "GET /-/assets/:name": .open, "GET /favicon.ico": .open, "GET /": .open, "POST /sign_in": .open,
        "POST /webhooks/gitlab": .webhook, "POST /webhooks/github": .webhook, "POST /webhooks/gitea": .webhook, "POST /webhooks/jira": .webhook,
        "POST /sign_out": .signedIn, "GET /jira/create-branch": .signedIn, "POST /jira/create-branch": .signedIn,
        "GET /api/v4/projects": .anyToken, "POST /api/v4/projects": .admin,
        "GET /api/v4/projects/:id": .project(.reporter), "PUT /api/v4/projects/:id": .project(.maintainer),
        "POST /api/v4/groups": .admin, "GET /api/v4/groups/:id": .group(.reporter), "PUT /api/v4/groups/:id": .group(.maintainer),
        "GET /api/v4/tokens": .anyToken, "POST /api/v4/tokens": .project(.maintainer), "DELETE /api/v4/tokens/:id": .project(.maintainer),
        "GET /api/v4/projects/:id/integrations": .project(.reporter),
        "GET /api/v4/projects/:id/integrations/jira": .project(.reporter),
        "PUT /api/v4/projects/:id/integrations/jira": .project(.maintainer),
        "DELETE /api/v4/projects/:id/integrations/jira": .project(.maintainer),
        "POST /api/v4/projects/:id/integrations/jira/test": .project(.maintainer),
        "GET /api/v4/projects/:id/integrations/jira/issue_types": .project(.reporter),
        "GET /api/v4/projects/:id/integrations/jira/issues": .project(.reporter),
        "GET /api/v4/projects/:id/integrations/jira/issues/:key": .project(.reporter),
        "GET /api/v4/projects/:id/integrations/jira/deliveries": .project(.reporter),
        "GET /api/v4/projects/:id/integrations/jira/events": .project(.reporter),
        "POST /api/v4/projects/:id/integrations/jira/deliveries/:delivery_id/retry": .project(.maintainer),
        "GET /api/v4/projects/:id/vulnerabilities": .project(.reporter),
        "GET /api/v4/projects/:id/vulnerabilities/:vid": .project(.reporter),
        "POST /api/v4/projects/:id/vulnerabilities/:vid/jira_issue": .project(.maintainer),
        "POST /api/v4/projects/:id/security/reports": .project(.maintainer),
        "GET /api/v4/projects/:id/integrations/jira/backfill": .project(.reporter),
        "POST /api/v4/projects/:id/integrations/jira/backfill": .project(.maintainer),
        "GET /api/v4/projects/:id/integrations/jira/catch_up": .project(.reporter),
        "POST /api/v4/projects/:id/integrations/jira/catch_up": .project(.maintainer),
        "GET /api/v4/groups/:id/integrations/jira": .group(.maintainer),
        "PUT /api/v4/groups/:id/integrations/jira": .group(.maintainer),
        "DELETE /api/v4/groups/:id/integrations/jira": .group(.maintainer),
        "POST /api/v4/groups/:id/integrations/jira/test": .group(.maintainer),
        "GET /api/v4/groups/:id/integrations/jira/issue_types": .group(.maintainer),
        "GET /api/v4/groups/:id/integrations/jira/overrides": .group(.maintainer),
        "GET /api/v4/admin/integrations/jira": .admin, "PUT /api/v4/admin/integrations/jira": .admin,
        "DELETE /api/v4/admin/integrations/jira": .admin, "POST /api/v4/admin/integrations/jira/test": .admin,
        "GET /api/v4/admin/integrations/jira/issue_types": .admin, "GET /api/v4/admin/integrations/jira/overrides": .admin,
        "GET /projects/:id": .projectPage(.reporter),
        "GET /projects/:id/settings/integrations/jira": .projectPage(.maintainer),
        "POST /projects/:id/settings/integrations/jira": .projectPage(.maintainer),
        "POST /projects/:id/settings/integrations/jira/test": .projectPage(.maintainer),
        "POST /projects/:id/settings/integrations/jira/issue_types": .projectPage(.maintainer),
        "POST /projects/:id/settings/integrations/jira/transitions": .projectPage(.maintainer),
        "GET /projects/:id/integrations/jira/issues": .projectPage(.reporter),
        "GET /projects/:id/integrations/jira/issues/:key": .projectPage(.reporter),
        "GET /projects/:id/integrations/jira/deliveries": .projectPage(.reporter),
        "GET /projects/:id/integrations/jira/events": .projectPage(.reporter),
        "GET /projects/:id/integrations/jira/checks/:sha": .projectPage(.reporter),
        "POST /projects/:id/integrations/jira/deliveries/:delivery_id/retry": .projectPage(.maintainer),
        "POST /projects/:id/integrations/jira/deliveries/retry_failed": .projectPage(.maintainer),
        "POST /projects/:id/integrations/jira/backfill": .projectPage(.maintainer),
        "GET /projects/:id/security/vulnerabilities": .projectPage(.reporter),
        "GET /projects/:id/-/security/vulnerabilities/:vid": .projectPage(.reporter),
        "POST /projects/:id/security/vulnerabilities/:vid/jira_issue": .projectPage(.maintainer),
        "GET /groups/:id/settings/integrations/jira": .groupPage(.maintainer),
        "POST /groups/:id/settings/integrations/jira": .groupPage(.maintainer),
        "POST /groups/:id/settings/integrations/jira/test": .groupPage(.maintainer),
        "POST /groups/:id/settings/integrations/jira/issue_types": .groupPage(.maintainer),
        "POST /groups/:id/settings/integrations/jira/transitions": .groupPage(.maintainer),
        "POST /groups/:id/settings/integrations/jira/reset": .groupPage(.maintainer),
        "GET /admin/integrations/jira": .instancePage, "POST /admin/integrations/jira": .instancePage,
        "POST /admin/integrations/jira/test": .instancePage, "POST /admin/integrations/jira/issue_types": .instancePage,
        "POST /admin/integrations/jira/reset": .instancePage,
    ]

    /// The router's own list of routes, built as `serve` builds it.
    static func routes() throws -> [(method: String, path: String)] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-routes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = SecretBox.generateKey()
        let store = try SQLStore(path: dir.appendingPathComponent("r.sqlite").path, secrets: SecretBox(base64Key: key)!)
        let jira = JiraHTTPClient(configuration: .init(allowLocalRequests: true))
        defer { Task { try? await jira.shutdown() } }
        let router = buildRouter(store: store, jira: jira, configuration: ServerConfiguration(adminToken: "x", secretKey: key))
        // Hummingbird writes parameters as {id}; the table uses the :id of the route definitions.
        return router.routes.map { route in
            var path = route.path.description
            while let open = path.firstIndex(of: "{"), let close = path[open...].firstIndex(of: "}") {
                path.replaceSubrange(open...close, with: ":" + path[path.index(after: open)..<close])
            }
            return (method: route.method.rawValue, path: path)
        }
    }

    @Test("every route of the router has an authorization rule")
    func everyRouteHasARule() throws {
        let routes = try Self.routes()
        #expect(routes.count >= 60, "the router lists its routes")
        for route in routes {
            #expect(Self.rules["\(route.method) \(route.path)"] != nil, "no authorization rule for \(route.method) \(route.path)")
        }
    }

    /// A concrete URL for a route pattern, in project 42 or group acme/web.
    static func concrete(_ path: String) -> String {
        path.replacingOccurrences(of: "/projects/:id", with: "/projects/42")
            .replacingOccurrences(of: "/groups/:id", with: "/groups/acme%2Fweb")
            .replacingOccurrences(of: "/tokens/:id", with: "/tokens/1")
            .replacingOccurrences(of: ":key", with: "PROJ-1").replacingOccurrences(of: ":delivery_id", with: "1")
            .replacingOccurrences(of: ":vid", with: "1").replacingOccurrences(of: ":name", with: "app.css")
            .replacingOccurrences(of: ":sha", with: String(repeating: "a", count: 40))
    }

    /// Callers that hold no right over project 42 or group acme/web.
    struct Outsiders {
        var bad = "jb_not-a-token"
        var expired: String
        var otherProjectReporter: String
        var otherProjectMaintainer: String
        var otherGroupMaintainer: String
        /// A project token (project 42, maintainer) used on group and instance routes.
        var projectMaintainer: String
        var projectReporter: String
    }

    func outsiders(_ h: Harness) async throws -> Outsiders {
        try await h.registerProject()
        try await h.registerProject(id: 43, path: "other/shop")
        _ = try await h.admin(
            .PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["issues_enabled": true, "project_keys": ["PROJ"]]))
        _ = try await h.admin(.PUT, "/api/v4/groups/acme%2Fweb/integrations/jira", json: h.workingSettings())
        let expiredSecret = TokenSecret.generate()
        _ = try await h.store.createToken(
            name: "old", role: .maintainer, scope: .project(42), expiresAt: 1_000, secretHash: TokenSecret.hash(expiredSecret))
        return Outsiders(
            expired: expiredSecret,
            otherProjectReporter: try await h.token(role: "reporter", scope: "project", extra: ["project_id": 43]),
            otherProjectMaintainer: try await h.token(role: "maintainer", scope: "project", extra: ["project_id": 43]),
            otherGroupMaintainer: try await h.token(role: "maintainer", scope: "group", extra: ["group_id": "other"]),
            projectMaintainer: try await h.token(role: "maintainer", scope: "project", extra: ["project_id": 42]),
            projectReporter: try await h.token(role: "reporter", scope: "project", extra: ["project_id": 42]))
    }

    /// A body that passes parsing, so a refusal cannot hide behind a 400.
    static func body(_ method: String, _ path: String) -> JSONValue? {
        guard method == "POST" || method == "PUT" else { return nil }
        if path == "/api/v4/tokens" { return ["name": "t", "role": "reporter", "scope": "project", "project_id": 42] }
        if path == "/api/v4/projects" { return ["id": 99, "path_with_namespace": "x/y", "web_url": "https://gitlab.example.com/x/y"] }
        if path == "/api/v4/groups" { return ["full_path": "new/group"] }
        return .object([:])
    }

    @Test(
        "API routes: no token, a bad or expired token get 401; tokens of another project or group, and project tokens on group routes, get 404 as for a project that does not exist; a role too low gets 403"
    )
    func apiRefusals() async throws {
        // Each wrong token comes from its own address: more than 30 from one would be throttled (429).
        var options = Harness.Options()
        options.trustedProxies = [IPNetwork("127.0.0.1")!]
        try await Harness.runLive(options) { h in
            let who = try await outsiders(h)
            var client = 0
            for route in try Self.routes() where route.path.hasPrefix("/api/") {
                let rule = try #require(Self.rules["\(route.method) \(route.path)"])
                // The API's description is public, as the service endpoints are.
                if case .open = rule { continue }
                let url = Self.concrete(route.path)
                let method = HTTPMethod(rawValue: route.method)
                let body = Self.body(route.method, route.path)
                for token in [nil, who.bad, who.expired] as [String?] {
                    client += 1
                    let r = try await h.request(
                        method, url, token: token, json: body,
                        headers: [("X-Forwarded-For", "10.9.\(client / 250).\(client % 250 + 1)")])
                    #expect(r.status == 401, "\(route.method) \(url) with \(token == nil ? "no token" : "a bad or expired token"): \(r.status)")
                }
                var refused: [(String, String)] = []
                var hidden = true
                switch rule {
                case .admin:
                    hidden = false
                    refused = [
                        ("another project's maintainer", who.otherProjectMaintainer), ("another group's maintainer", who.otherGroupMaintainer),
                        ("a project token", who.projectMaintainer),
                    ]
                case .project(let role):
                    refused = [
                        ("another project's reporter", who.otherProjectReporter), ("another project's maintainer", who.otherProjectMaintainer),
                        ("another group's maintainer", who.otherGroupMaintainer),
                    ]
                    if role == .maintainer {
                        // It sees the project: too low a role is a 403.
                        let r = try await h.request(method, url, token: who.projectReporter, json: body)
                        // A token the reporter cannot manage is not found for it, as for anyone else.
                        let expected = route.path == "/api/v4/tokens/:id" ? 404 : 403
                        #expect(r.status == expected, "\(route.method) \(url) as the project's reporter: \(r.status) \(r.text.prefix(200))")
                    }
                case .group:
                    refused = [
                        ("another group's maintainer", who.otherGroupMaintainer), ("a project token", who.projectMaintainer),
                        ("another project's maintainer", who.otherProjectMaintainer),
                    ]
                default:
                    break
                }
                for (name, token) in refused {
                    let r = try await h.request(method, url, token: token, json: body)
                    let expected = hidden || route.path == "/api/v4/tokens/:id" ? 404 : 403
                    #expect(r.status == expected, "\(route.method) \(url) as \(name): \(r.status) \(r.text.prefix(200))")
                    if hidden { #expect(!r.text.contains("403")) }
                }
                // The admin is not refused: the URL reaches the route.
                let admin = try await h.request(method, url, token: h.adminToken, json: body)
                #expect(admin.status != 401 && admin.status != 403, "\(route.method) \(url) as admin: \(admin.status)")
            }
        }
    }

    @Test("pages: without a session, GETs go to sign-in and forms are refused; sessions of other projects and groups get 403")
    func pageRefusals() async throws {
        try await Harness.runLive { h in
            let who = try await outsiders(h)
            let web = WebSignInTests()
            func session(_ token: String) async throws -> String {
                let r = try await web.signIn(h, token: token, form: try await web.signInForm(h))
                precondition(r.status == 303, "sign-in failed")
                return String(
                    try #require(
                        r.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix(WebSessionCookie.name) }?.1
                            .split(separator: ";").first))
            }
            let sessions = [
                ("another project's reporter", try await session(who.otherProjectReporter)),
                ("another project's maintainer", try await session(who.otherProjectMaintainer)),
                ("another group's maintainer", try await session(who.otherGroupMaintainer)),
                ("a project token", try await session(who.projectMaintainer)),
                ("the project's reporter", try await session(who.projectReporter)),
            ]
            for route in try Self.routes() where !route.path.hasPrefix("/api/") {
                let rule = try #require(Self.rules["\(route.method) \(route.path)"])
                // The API's description is public, as the service endpoints are.
                if case .open = rule { continue }
                let url = Self.concrete(route.path)
                let method = HTTPMethod(rawValue: route.method)
                switch rule {
                case .projectPage, .groupPage, .instancePage, .signedIn:
                    let anonymous = try await raw(h, method, url, cookie: nil)
                    if route.method == "GET" {
                        #expect(
                            anonymous.status == 303 && anonymous.location?.hasPrefix("/?next=") == true,
                            "\(route.method) \(url) signed out: \(anonymous.status)")
                    } else {
                        #expect(anonymous.status == 403, "\(route.method) \(url) signed out: \(anonymous.status)")
                    }
                default:
                    continue
                }
                var refused: [String] = []
                switch rule {
                case .projectPage(let role):
                    refused = ["another project's reporter", "another project's maintainer", "another group's maintainer"]
                    if role == .maintainer { refused.append("the project's reporter") }
                case .groupPage: refused = ["another group's maintainer", "a project token", "another project's maintainer"]
                case .instancePage: refused = ["another project's maintainer", "another group's maintainer", "a project token"]
                default: break
                }
                for name in refused {
                    let cookie = try #require(sessions.first { $0.0 == name }?.1)
                    let r = try await raw(h, method, url, cookie: cookie)
                    // Forms without the session's CSRF token are refused too; a GET shows the refusal page.
                    #expect(r.status == 403, "\(route.method) \(url) as \(name): \(r.status)")
                }
            }
        }
    }

    struct RawResponse { var status: Int; var location: String? }

    /// A request that does not follow redirects, with an optional session cookie.
    func raw(_ h: Harness, _ method: HTTPMethod, _ url: String, cookie: String?) async throws -> RawResponse {
        var request = HTTPClientRequest(url: h.bridgeURL + url)
        request.method = method
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: "a=1"))
        }
        let response = try await WebSignInTests.client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 4 << 20)
        return RawResponse(status: Int(response.status.code), location: response.headers.first(name: "Location"))
    }
}

/// The session cookie's name, as the pages set it.
enum WebSessionCookie {
    static let name = "jira_bridge_session"
}
