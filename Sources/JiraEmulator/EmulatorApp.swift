import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Logging
import NIOCore
import NIOHTTP1

/// How to run the emulator.
public struct EmulatorConfiguration: Sendable {
    public var deployment: EmulatedDeployment
    /// A path prefix Jira is served under, e.g. `/jira`; empty for the root.
    public var contextPath: String
    public init(deployment: EmulatedDeployment = .server, contextPath: String = "") {
        self.deployment = deployment
        self.contextPath = contextPath
    }
}

/// Builds the emulator's HTTP application around a state.
public enum JiraEmulator {
    public static func buildApplication(
        state: EmulatorState, configuration: EmulatorConfiguration, host: String = "127.0.0.1", port: Int = 0,
        logger: Logger = Logger(label: "jira-emulator"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let handler = EmulatorHandler(state: state, configuration: configuration)
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("**", method: method) { request, _ in try await handler.handle(request) }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "jira-emulator"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}

struct EmulatorHandler: Sendable {
    let state: EmulatorState
    let configuration: EmulatorConfiguration

    func handle(_ request: Request) async throws -> Response {
        var path = request.uri.path
        let method = request.method.rawValue
        let body = try await request.body.collect(upTo: 8 << 20)
        let bodyData = Data(body.readableBytesView)
        if path.hasPrefix("/_emulator/") || path == "/_emulator" {
            return try await EmulatorAdmin(state: state).handle(method: method, path: path, body: bodyData)
        }
        if !configuration.contextPath.isEmpty {
            guard path.hasPrefix(configuration.contextPath + "/") else { return error(404, "Not Found: \(path)") }
            path = String(path.dropFirst(configuration.contextPath.count))
        }
        // Atlassian's API gateway (https://api.atlassian.com/ex/jira/<cloud id>/rest/...), which service accounts and
        // scoped tokens use: Cloud only, and only for this site's cloud id.
        var gateway = false
        if path.hasPrefix("/ex/jira/") {
            let rest = path.dropFirst("/ex/jira/".count)
            let id = rest.prefix { $0 != "/" }
            guard configuration.deployment == .cloud, id == state.cloudID else {
                return error(404, "Site temporarily unavailable")
            }
            path = String(rest.dropFirst(id.count))
            gateway = true
        }
        if path == "/_edge/tenant_info", configuration.deployment == .cloud {
            // Where a Cloud site's admins read its cloud id.
            return raw(200, Data("{\"cloudId\":\"\(state.cloudID)\"}".utf8))
        }
        if path == "/secure/CreateIssueDetails!init.jspa" {
            // Jira's web form, not the REST API: not part of the recorded contract.
            return await createIssueForm(request)
        }
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
        await state.enter()
        let response = await respond(request: request, method: method, path: path, body: bodyData, gateway: gateway)
        await state.leave()
        let auth = request.headers[.authorization].map { String($0.prefix { $0 != " " }) }
        await state.record(
            RecordedRequest(
                method: method, path: path, query: request.uri.query ?? "",
                contentType: request.headers[.contentType], authScheme: auth,
                body: bodyData.isEmpty ? nil : String(decoding: bodyData, as: UTF8.self),
                status: Int(response.status.code), deployment: configuration.deployment.rawValue, receivedAt: receivedAt,
                traceparent: request.headers[traceparentHeader]))
        return response
    }

    private func respond(request: Request, method: String, path: String, body: Data, gateway: Bool) async -> Response {
        let limited = await state.takeRateLimit(method: method, path: path)
        if limited.refusedBy != nil {
            var response = error(429, "Rate limit exceeded.")
            add(limited.headers, to: &response)
            return response
        }
        var response = await respondWithFaults(request: request, method: method, path: path, body: body, gateway: gateway)
        add(limited.headers, to: &response)
        return response
    }

    private func add(_ headers: [String: String], to response: inout Response) {
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
    }

    private func respondWithFaults(request: Request, method: String, path: String, body: Data, gateway: Bool) async -> Response {
        let fault = await state.takeFault(method: method, path: path)
        if let fault, fault.oversizeBytes > 0 {
            let padding = String(repeating: "x", count: max(0, fault.oversizeBytes - 12))
            return raw(200, Data("{\"pad\":\"\(padding)\"}".utf8))
        }
        if let fault, fault.delayAfterMilliseconds > 0 || fault.trickleMilliseconds > 0 {
            var response = await respondNormally(request: request, method: method, path: path, body: body, fault: nil, gateway: gateway)
            if fault.delayAfterMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(fault.delayAfterMilliseconds)) }
            if fault.trickleMilliseconds > 0 {
                let interval = fault.trickleMilliseconds
                let original = response.body
                response.body = ResponseBody { writer in
                    // Collect the real answer, then hand it out a byte at a time.
                    let collector = ByteCollector()
                    try await original.write(collector)
                    for byte in collector.bytes {
                        try await Task.sleep(for: .milliseconds(interval))
                        try await writer.write(ByteBuffer(bytes: [byte]))
                    }
                    try await writer.finish(nil)
                }
            }
            return response
        }
        return await respondNormally(request: request, method: method, path: path, body: body, fault: fault, gateway: gateway)
    }

    private func respondNormally(request: Request, method: String, path: String, body: Data, fault: EmulatedFault?, gateway: Bool) async -> Response {
        if let fault {
            if fault.delayMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(fault.delayMilliseconds)) }
            if fault.dropConnection {
                struct Dropped: Error {}
                return Response(
                    status: .ok, headers: [.contentType: "application/json", .contentLength: "1000"],
                    body: ResponseBody { _ in throw Dropped() })
            }
            if let status = fault.status {
                var response = fault.body.map { raw(status, Data($0.utf8)) } ?? error(status, standardStatus(status).reasonPhrase)
                if let ra = fault.retryAfter { response.headers[.retryAfter] = String(ra) }
                add(fault.headers, to: &response)
                return response
            }
        }
        var forgeQuery: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { forgeQuery[String(k)] = String(v) }
        if let answer = await state.forges.respond(
            method: method, path: path, query: forgeQuery, authorization: request.headers[.authorization],
            privateToken: HTTPField.Name("PRIVATE-TOKEN").flatMap { request.headers[$0] }, body: body)
        {
            return answer
        }
        if let answer = await developmentAPI(request: request, method: method, path: path, body: body) { return answer }
        let user: EmulatedUser?
        switch await state.authenticate(request.headers[.authorization], gateway: gateway) {
        case .refused:
            var r = raw(401, Data("<html><body>Basic authentication failure</body></html>".utf8), contentType: "text/html")
            r.headers[.wwwAuthenticate] = "Basic realm=\"protected-area\""
            return r
        case .anonymous: user = nil
        case .user(let u): user = u
        }
        let rest = RestAPI(state: state, deployment: configuration.deployment, baseURL: baseURL(request))
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        return await rest.respond(method: method, path: path, query: query, body: body, user: user)
    }

    /// Atlassian's gateway for OAuth credentials (Cloud only): the token, and development information under this
    /// site's cloud id. Nil for any other path.
    private func developmentAPI(request: Request, method: String, path: String, body: Data) async -> Response? {
        let development = state.development
        if path == "/oauth/token" {
            guard method == "POST", configuration.deployment == .cloud else { return error(404, "Not Found") }
            return await development.token(body)
        }
        for api in ["builds", "deployments"] where path.hasPrefix("/jira/\(api)/0.1/cloud/") {
            guard configuration.deployment == .cloud else { return error(404, "Not Found") }
            let parts = path.dropFirst("/jira/\(api)/0.1/cloud/".count).split(separator: "/").map(String.init)
            guard parts.first == state.cloudID else { return error(404, "Site temporarily unavailable") }
            guard let client = await development.client(request.headers[.authorization]) else {
                return raw(401, Data("{\"code\":401,\"message\":\"Unauthorized\"}".utf8))
            }
            guard method == "POST", parts.count == 2, parts[1] == "bulk" else { return error(404, "Not Found") }
            return await development.submit(api: api, body, client: client, knownKeys: Set(await state.issues.keys))
        }
        let prefix = "/jira/devinfo/0.1/cloud/"
        guard path.hasPrefix(prefix) else { return nil }
        guard configuration.deployment == .cloud else { return error(404, "Not Found") }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == state.cloudID else { return error(404, "Site temporarily unavailable") }
        guard let client = await development.client(request.headers[.authorization]) else {
            return raw(401, Data("{\"code\":401,\"message\":\"Unauthorized\"}".utf8))
        }
        switch (method, Array(parts.dropFirst())) {
        case ("POST", ["bulk"]):
            let known = Set(await state.issues.keys)
            return await development.bulk(body, client: client, knownKeys: known)
        case ("DELETE", let rest) where rest.count == 4 && rest[0] == "repository":
            return await development.delete(
                repository: rest[1].removingPercentEncoding ?? rest[1], type: rest[2], id: rest[3].removingPercentEncoding ?? rest[3],
                client: client)
        default:
            return error(404, "Not Found")
        }
    }

    /// Jira's "Create issue" page prefilled from its query (what "Customize Jira issues" links to): it
    /// needs an existing project id (`pid`) and issue type, and shows the summary and description given.
    private func createIssueForm(_ request: Request) async -> Response {
        var params: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            if let k = kv.first { params[decode(k)] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        let projects = await state.projects
        let types = state.issueTypes
        var problems: [String] = []
        if !projects.values.contains(where: { $0.id == params["pid"] }) { problems.append("pid: no project with this id") }
        if !types.contains(where: { $0.id == params["issuetype"] }) { problems.append("issuetype: no issue type with this id") }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        if !problems.isEmpty {
            return raw(
                400, Data("<html><body><p class=\"error\">\(esc(problems.joined(separator: "; ")))</p></body></html>".utf8), contentType: "text/html")
        }
        let html = """
            <html><body><form id="create-issue"><input name="pid" value="\(esc(params["pid"] ?? ""))">\
            <input name="issuetype" value="\(esc(params["issuetype"] ?? ""))"><input name="summary" value="\(esc(params["summary"] ?? ""))">\
            <textarea name="description">\(esc(params["description"] ?? ""))</textarea></form></body></html>
            """
        return raw(200, Data(html.utf8), contentType: "text/html")
    }

    private func baseURL(_ request: Request) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        return "http://\(host)\(configuration.contextPath)"
    }
}

/// A JSON response, keys sorted. Written by the core's `JSONWriter`: `JSONSerialization` with `.sortedKeys`
/// sorts keys with ICU collation, which was four fifths of the emulator's CPU when it served a backlog.
func json(_ status: Int, _ object: Any) -> Response {
    var writer = JSONWriter(capacity: 1024)
    writer.value(jsonValue(object))
    return raw(status, Data(writer.bytes))
}

/// The emulator's documents (`[String: Any]` of Swift values, or what `JSONSerialization` read) as values.
func jsonValue(_ any: Any) -> JSONValue {
    // Containers first: asking a dictionary whether it is an NSNumber bridges all of it to NSDictionary.
    switch any {
    case let s as String: return .string(s)
    case let d as [String: Any]: return .object(d.mapValues(jsonValue))
    case let a as [Any]: return .array(a.map(jsonValue))
    case let b as Bool where type(of: any) == Bool.self: return .bool(b)
    case let i as Int where type(of: any) == Int.self: return .number(Double(i))
    case let i as Int64 where type(of: any) == Int64.self: return .number(Double(i))
    case let d as Double where type(of: any) == Double.self: return .number(d)
    case let n as NSNumber:
        if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
        return .number(n.doubleValue)
    case is NSNull: return .null
    default:
        // An optional in a literal: its value, or null.
        let mirror = Mirror(reflecting: any)
        if mirror.displayStyle == .optional { return mirror.children.first.map { jsonValue($0.value) } ?? .null }
        return .string("\(any)")
    }
}

func raw(_ status: Int, _ data: Data, contentType: String = "application/json;charset=UTF-8") -> Response {
    Response(status: standardStatus(status), headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Jira's error document: `{"errorMessages": [...], "errors": {...}}`.
func error(_ status: Int, _ message: String?, errors: [String: String] = [:]) -> Response {
    json(status, ["errorMessages": message.map { [$0] } ?? [], "errors": errors] as [String: Any])
}

/// A status with its standard reason phrase on the status line, as Jira's servers send it.
func standardStatus(_ code: Int) -> HTTPResponse.Status {
    HTTPResponse.Status(code: code, reasonPhrase: HTTPResponseStatus(statusCode: code).reasonPhrase)
}

/// A response body writer that keeps what is written, so the emulator can resend it slowly.
final class ByteCollector: ResponseBodyWriter, @unchecked Sendable {
    var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytesView }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

private let traceparentHeader = HTTPField.Name("traceparent")!
