import AsyncHTTPClient
import Foundation
import Integration
import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// Talks to Jira's REST API v2 (and v3 for Cloud search), one call per method.
///
/// Every call resolves and checks the target first (the outbound guard), sends Basic or Bearer auth,
/// and turns any failure into a `JiraError` with GitLab's texts.
public final class JiraHTTPClient: Sendable {
    /// GitLab's timeouts: open 10 s, read 20 s, and a total of at least 30 s.
    public struct Timeouts: Sendable {
        public var connect: TimeAmount
        public var read: TimeAmount
        public var total: TimeAmount

        public init(connect: TimeAmount = .seconds(10), read: TimeAmount = .seconds(20), total: TimeAmount = .seconds(30)) {
            self.connect = connect
            self.read = read
            self.total = total
        }
    }

    public struct Configuration: Sendable {
        public var timeouts: Timeouts
        public var outboundGuard: OutboundGuard
        /// The largest response body read; bigger answers are an invalid response.
        public var maxResponseBytes: Int
        /// Called after every request with the site, the status (`"error"` when there was none) and the latency.
        public var onRequest: (@Sendable (_ site: String, _ status: String, _ nanoseconds: Int64) -> Void)?

        public init(
            allowLocalRequests: Bool, timeouts: Timeouts = Timeouts(), resolver: any HostResolver = SystemHostResolver(),
            maxResponseBytes: Int = 16 << 20,
            allowedNetworks: [IPNetwork] = []
        ) {
            self.timeouts = timeouts
            self.outboundGuard = OutboundGuard(allowLocalRequests: allowLocalRequests, resolver: resolver, allowedNetworks: allowedNetworks)
            self.maxResponseBytes = maxResponseBytes
            self.onRequest = nil
        }
    }

    private let http: HTTPClient
    private let ownsHTTP: Bool
    private let pinned: PinnedClients
    public let configuration: Configuration

    /// A client with its own connection pool; call `shutdown()` when done.
    public init(configuration: Configuration) {
        let httpConfig = Self.httpConfiguration(configuration)
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfig)
        self.ownsHTTP = true
        self.pinned = PinnedClients(base: httpConfig)
        self.configuration = configuration
    }

    static func httpConfiguration(_ configuration: Configuration) -> HTTPClient.Configuration {
        var httpConfig = HTTPClient.Configuration()
        httpConfig.timeout = .init(connect: configuration.timeouts.connect, read: configuration.timeouts.read)
        httpConfig.redirectConfiguration = .disallow
        httpConfig.decompression = .enabled(limit: .ratio(50))
        // Fail fast on a refused or broken connection: retries belong to the job queue, with its own backoff.
        httpConfig.connectionPool.retryConnectionEstablishment = false
        return httpConfig
    }

    public func shutdown() async throws {
        await pinned.shutdown()
        if ownsHTTP { try await http.shutdown() }
    }

    // MARK: Calls

    public func serverInfo(_ c: JiraConnection, logger: Logger) async throws(JiraError) -> ServerInfo {
        let json = try await send(c, .GET, "/rest/api/2/serverInfo", logger: logger)
        return ServerInfo(deploymentType: json["deploymentType"]?.string, version: json["version"]?.string, raw: json)
    }

    public func myself(_ c: JiraConnection, logger: Logger) async throws(JiraError) -> JSONValue {
        try await send(c, .GET, "/rest/api/2/myself", logger: logger)
    }

    /// `GET issue/{key}`, with `expand` (e.g. `transitions`, `renderedFields`) when given.
    public func issue(
        _ c: JiraConnection, key: String, expand: [String] = [], fields: [String] = [], logger: Logger
    ) async throws(JiraError) -> JiraIssue {
        var query: [(String, String)] = []
        if !fields.isEmpty { query.append(("fields", fields.joined(separator: ","))) }
        if !expand.isEmpty { query.append(("expand", expand.joined(separator: ","))) }
        let json = try await send(c, .GET, "/rest/api/2/issue/\(Self.pathSegment(key))", query: query, logger: logger)
        guard let id = json["id"]?.idString, let k = json["key"]?.string else {
            throw JiraError(kind: .invalidResponse, detail: "Jira's issue document has no id or key")
        }
        return JiraIssue(id: id, key: k, raw: json)
    }

    public func comments(_ c: JiraConnection, issue: String, logger: Logger) async throws(JiraError) -> [JiraComment] {
        var all: [JiraComment] = []
        var startAt = 0
        while true {
            let json = try await send(
                c, .GET, "/rest/api/2/issue/\(Self.pathSegment(issue))/comment",
                query: [("startAt", String(startAt)), ("maxResults", "100")], logger: logger)
            let page = (json["comments"]?.array ?? []).compactMap(JiraComment.init(json:))
            all += page
            let total = Self.count(json["total"])
            startAt += page.count
            if page.isEmpty || startAt >= total { return all }
        }
    }

    public func addComment(_ c: JiraConnection, issue: String, body: String, logger: Logger) async throws(JiraError) -> JiraComment {
        let json = try await send(
            c, .POST, "/rest/api/2/issue/\(Self.pathSegment(issue))/comment", body: .object(["body": .string(body)]), logger: logger)
        guard let comment = JiraComment(json: json) else { throw JiraError(kind: .invalidResponse, detail: "Jira's comment has no id") }
        return comment
    }

    /// `GET issue/{key}/worklog`: the comments of the issue's worklogs (the first page, up to Jira's 5000).
    public func worklogComments(_ c: JiraConnection, issue: String, logger: Logger) async throws(JiraError) -> [String] {
        let json = try await send(c, .GET, "/rest/api/2/issue/\(Self.pathSegment(issue))/worklog", logger: logger)
        return (json["worklogs"]?.array ?? []).compactMap { $0["comment"]?.string }
    }

    /// `POST issue/{key}/worklog` with `timeSpent` as written (`1w 2d 4h 30m`) and a comment.
    public func addWorklog(_ c: JiraConnection, issue: String, timeSpent: String, comment: String, logger: Logger) async throws(JiraError) {
        _ = try await send(
            c, .POST, "/rest/api/2/issue/\(Self.pathSegment(issue))/worklog",
            body: .object(["timeSpent": .string(timeSpent), "comment": .string(comment)]), logger: logger)
    }

    public func remoteLinks(_ c: JiraConnection, issue: String, logger: Logger) async throws(JiraError) -> [RemoteLink] {
        let json = try await send(c, .GET, "/rest/api/2/issue/\(Self.pathSegment(issue))/remotelink", logger: logger)
        return (json.array ?? []).compactMap(RemoteLink.init(json:))
    }

    /// Creates the link, or updates the one with the same `globalId` (Jira upserts on it).
    public func upsertRemoteLink(_ c: JiraConnection, issue: String, link: RemoteLinkRequest, logger: Logger) async throws(JiraError) -> String {
        let json = try await send(c, .POST, "/rest/api/2/issue/\(Self.pathSegment(issue))/remotelink", body: link.json, logger: logger)
        guard let id = json["id"]?.idString else { throw JiraError(kind: .invalidResponse, detail: "Jira's remote link answer has no id") }
        return id
    }

    /// Updates the remote link with id `linkID` in place.
    public func updateRemoteLink(_ c: JiraConnection, issue: String, linkID: String, link: RemoteLinkRequest, logger: Logger) async throws(JiraError)
    {
        _ = try await send(
            c, .PUT, "/rest/api/2/issue/\(Self.pathSegment(issue))/remotelink/\(Self.pathSegment(linkID))", body: link.json, logger: logger)
    }

    public func transitions(_ c: JiraConnection, issue: String, logger: Logger) async throws(JiraError) -> [JiraTransition] {
        let json = try await send(c, .GET, "/rest/api/2/issue/\(Self.pathSegment(issue))/transitions", logger: logger)
        return (json["transitions"]?.array ?? []).compactMap(JiraTransition.init(json:))
    }

    public func doTransition(_ c: JiraConnection, issue: String, transitionID: String, logger: Logger) async throws(JiraError) {
        _ = try await send(
            c, .POST, "/rest/api/2/issue/\(Self.pathSegment(issue))/transitions",
            body: .object(["transition": .object(["id": .string(transitionID)])]), logger: logger)
    }

    public func project(_ c: JiraConnection, key: String, logger: Logger) async throws(JiraError) -> JiraProject {
        let json = try await send(c, .GET, "/rest/api/2/project/\(Self.pathSegment(key))", logger: logger)
        guard let id = json["id"]?.idString else { throw JiraError(kind: .invalidResponse, detail: "Jira's project has no id") }
        return JiraProject(
            id: id, key: json["key"]?.string ?? key, name: json["name"]?.string ?? "",
            issueTypes: (json["issueTypes"]?.array ?? []).compactMap(JiraIssueType.init(json:)))
    }

    public func issueTypes(_ c: JiraConnection, logger: Logger) async throws(JiraError) -> [JiraIssueType] {
        let json = try await send(c, .GET, "/rest/api/2/issuetype", logger: logger)
        return (json.array ?? []).compactMap(JiraIssueType.init(json:))
    }

    /// The fields Jira's create screen has for a project and issue type
    /// (`GET issue/createmeta/{project}/issuetypes/{type}`, Jira 8.4+ and Cloud), every page.
    public func createMetaFields(
        _ c: JiraConnection, projectKey: String, issueTypeID: String, logger: Logger
    ) async throws(JiraError) -> [CreateMetaField] {
        var fields: [CreateMetaField] = []
        var startAt = 0
        for _ in 0..<20 {
            let json = try await send(
                c, .GET, "/rest/api/2/issue/createmeta/\(Self.pathSegment(projectKey))/issuetypes/\(Self.pathSegment(issueTypeID))",
                query: [("startAt", String(startAt)), ("maxResults", "100")], logger: logger)
            let values = json["values"]?.array ?? []
            for v in values {
                guard let id = v["fieldId"]?.string ?? v["key"]?.string else { continue }
                fields.append(
                    CreateMetaField(
                        fieldID: id, name: v["name"]?.string ?? id, required: v["required"]?.bool ?? false,
                        hasDefaultValue: v["hasDefaultValue"]?.bool ?? false))
            }
            startAt += values.count
            if values.isEmpty || (json["isLast"]?.bool ?? true) { break }
        }
        return fields
    }

    /// `POST issue` with the given `fields` document.
    public func createIssue(_ c: JiraConnection, fields: JSONValue, logger: Logger) async throws(JiraError) -> CreatedIssue {
        let json = try await send(c, .POST, "/rest/api/2/issue", body: .object(["fields": fields]), logger: logger)
        guard let id = json["id"]?.idString, let key = json["key"]?.string else {
            throw JiraError(kind: .invalidResponse, detail: "Jira's created issue has no id or key")
        }
        return CreatedIssue(id: id, key: key)
    }

    /// Server/Data Center search: `GET /rest/api/2/search` paged by `startAt`.
    public func searchServer(
        _ c: JiraConnection, jql: String, startAt: Int, maxResults: Int, fields: [String], logger: Logger
    ) async throws(JiraError) -> SearchPage {
        let json = try await send(
            c, .GET, "/rest/api/2/search",
            query: [
                ("jql", jql), ("maxResults", String(maxResults)), ("startAt", String(startAt)), ("fields", fields.joined(separator: ",")),
            ], logger: logger)
        let issues = json["issues"]?.array ?? []
        let total = Self.count(json["total"])
        return SearchPage(issues: issues, total: total, isLast: total <= startAt + issues.count, nextPageToken: nil)
    }

    /// Cloud search: `GET /rest/api/3/search/jql` paged by `nextPageToken`.
    public func searchCloud(
        _ c: JiraConnection, jql: String, nextPageToken: String?, maxResults: Int, fields: [String], logger: Logger
    ) async throws(JiraError) -> SearchPage {
        var query = [("jql", jql), ("maxResults", String(maxResults)), ("fields", fields.joined(separator: ","))]
        if let nextPageToken { query.append(("nextPageToken", nextPageToken)) }
        let json = try await send(c, .GET, "/rest/api/3/search/jql", query: query, logger: logger)
        // An empty page is the last one, whatever Jira says (GitLab: empty body or issues -> is_last).
        let issues = json["issues"]?.array ?? []
        return SearchPage(
            issues: issues, total: nil, isLast: issues.isEmpty || (json["isLast"]?.bool ?? false),
            nextPageToken: issues.isEmpty ? nil : json["nextPageToken"]?.string)
    }

    // MARK: Atlassian's gateway (OAuth credentials for self-hosted tools)

    /// A client-credentials token from `POST {gateway}/oauth/token`. The secret goes in the body, never in a
    /// log line or an error.
    public func oauthToken(
        gateway: JiraURL, clientID: String, clientSecret: String, logger: Logger
    ) async throws(JiraError) -> (token: String, expiresInSeconds: Int) {
        let c = JiraConnection(base: gateway, credentials: .none)
        let body: JSONValue = .object([
            "grant_type": .string("client_credentials"), "client_id": .string(clientID), "client_secret": .string(clientSecret),
            "audience": .string("api.atlassian.com"),
        ])
        let json: JSONValue
        do {
            json = try await send(c, .POST, "/oauth/token", body: body, logger: logger)
        } catch {
            throw error.redacting([clientSecret])
        }
        guard let token = json["access_token"]?.string, !token.isEmpty else {
            throw JiraError(kind: .unreadableAnswer, detail: "Atlassian's token answer has no access_token")
        }
        let expires = json["expires_in"]?.integer.map { Int(min(max($0, 0), 86_400)) } ?? 3_600
        return (token, expires)
    }

    /// The site's cloud id from `GET {site}/_edge/tenant_info` (no credentials).
    public func cloudID(site: JiraURL, logger: Logger) async throws(JiraError) -> String {
        let json = try await send(JiraConnection(base: site, credentials: .none), .GET, "/_edge/tenant_info", logger: logger)
        guard let id = json["cloudId"]?.string, CloudID.isValid(id) else {
            throw JiraError(kind: .unreadableAnswer, detail: "the site's tenant_info has no cloud id")
        }
        return id
    }

    /// `POST {gateway}/jira/devinfo/0.1/cloud/{cloudId}/bulk`: Atlassian's answer (accepted, failed, unknown keys).
    public func storeDevelopmentInformation(
        gateway: JiraURL, cloudID: String, token: String, body: JSONValue, logger: Logger
    ) async throws(JiraError) -> JSONValue {
        let c = JiraConnection(base: gateway, credentials: .bearer(token: token))
        return try await send(c, .POST, "/jira/devinfo/0.1/cloud/\(Self.pathSegment(cloudID))/bulk", body: body, logger: logger)
    }

    /// `POST {gateway}/jira/builds/0.1/cloud/{cloudId}/bulk` or `.../deployments/0.1/...`: Jira Software's
    /// `submitBuilds` and `submitDeployments` (`api` is `builds` or `deployments`), with the OAuth credentials'
    /// token.
    public func submitBuildsOrDeployments(
        api: String, gateway: JiraURL, cloudID: String, token: String, body: JSONValue, logger: Logger
    ) async throws(JiraError) -> JSONValue {
        let c = JiraConnection(base: gateway, credentials: .bearer(token: token))
        return try await send(c, .POST, "/jira/\(Self.pathSegment(api))/0.1/cloud/\(Self.pathSegment(cloudID))/bulk", body: body, logger: logger)
    }

    /// `DELETE {gateway}/jira/devinfo/0.1/cloud/{cloudId}/repository/{repositoryId}/{entityType}/{entityId}`.
    public func deleteDevelopmentEntity(
        gateway: JiraURL, cloudID: String, token: String, repositoryID: String, entityType: String, entityID: String, logger: Logger
    ) async throws(JiraError) {
        let c = JiraConnection(base: gateway, credentials: .bearer(token: token))
        _ = try await send(
            c, .DELETE,
            "/jira/devinfo/0.1/cloud/\(Self.pathSegment(cloudID))/repository/\(Self.pathSegment(repositoryID))/\(entityType)/\(Self.pathSegment(entityID))",
            logger: logger)
    }

    // MARK: Transport

    /// One request. `forgeLimits`: the answer is a forge's, whose rate limits may come as a 403 (GitHub's
    /// `X-RateLimit-Remaining: 0`, or a secondary limit's `Retry-After`): such a 403 is read as a 429.
    func send(
        _ c: JiraConnection, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
        forgeLimits: Bool = false, logger: Logger
    ) async throws(JiraError) -> JSONValue {
        try await exchange(c, method, path, query: query, body: body, forgeLimits: forgeLimits, logger: logger).answer
    }

    /// `send`, with the answer's headers (a forge's `Link` for the next page).
    func exchange(
        _ c: JiraConnection, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
        forgeLimits: Bool = false, logger: Logger
    ) async throws(JiraError) -> (answer: JSONValue, headers: HTTPHeaders) {
        let address = try await configuration.outboundGuard.check(host: c.base.host)
        var url = c.base.endpoint(path)
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.queryEscape($0.0))=\(Self.queryEscape($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "jira-bridge")
        // A header may not carry a control character: a pasted line break would be refused by the HTTP client,
        // which quotes the header (and so the secret) in its error. Nothing is sent, and the error names none.
        guard !c.secretTexts.contains(where: { CredentialText.hasControlCharacters($0) || $0.utf8.count > CredentialText.maxHeaderBytes }) else {
            throw JiraError(
                kind: .unusableCredentials,
                detail:
                    "the saved username, password or API token contains a line break or another control character, or is longer than 16 KB, which an HTTP header cannot carry; save the credentials again"
            )
        }
        switch c.credentials {
        case .basic(let username, let password):
            let token = Data("\(username):\(password)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(token)")
            // GitLab sends this for Oracle WebGate in front of Jira; harmless elsewhere.
            request.headers.add(name: "Cookie", value: "OBBasicAuth=fromDialog")
        case .bearer(let token):
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .none:
            break
        }
        if let body {
            var writer = JSONWriter()
            writer.value(body)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: writer.bytes))
        }
        // A span per call, when tracing is on. AsyncHTTPClient makes the HTTP client span under it and sends its
        // traceparent (W3C Trace Context) to Jira.
        let span = InstrumentationSystem.tracer.startSpan(
            "\(forgeLimits ? "forge" : "Jira") \(method.rawValue)", context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        span.attributes["http.request.method"] = method.rawValue
        span.attributes["server.address"] = c.base.host
        span.attributes["url.path"] = String(path.prefix(200))
        defer { span.end() }
        let started = ContinuousClock.now
        var log = logger
        log[metadataKey: "jira_site"] = "\(c.site)"
        log[metadataKey: "jira_path"] = "\(path)"
        log[metadataKey: "method"] = "\(method.rawValue)"
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        // The client that connects to the address the guard checked, not to a second resolution.
        let client = address.map { pinned.client(host: c.base.host, address: $0) } ?? http
        let limit = configuration.maxResponseBytes
        do {
            (response, bytes) = try await ServiceContext.withValue(span.context) {
                try await Self.withDeadline(self.configuration.timeouts.total) { [request] in
                    let response = try await client.execute(request, timeout: self.configuration.timeouts.total, logger: logger)
                    do {
                        return (response, try await response.body.collect(upTo: limit))
                    } catch is NIOTooManyBytesError {
                        throw JiraError(kind: .responseTooLarge, detail: "Jira's answer is larger than \(limit >> 20) MB, the most jira-bridge reads")
                    }
                }
            }
        } catch {
            var mapped = Self.classify(error).redacting(c.secretTexts)
            if method != .GET, mapped.mayHaveReachedJira { mapped = mapped.withOutcomeUnknown() }
            log.warning("Jira request failed", metadata: ["error": "\(mapped.description)"])
            span.setStatus(SpanStatus(code: .error, message: String(mapped.description.prefix(300))))
            configuration.onRequest?(c.site, "error", Self.nanoseconds(ContinuousClock.now - started))
            throw mapped
        }
        let elapsed = ContinuousClock.now - started
        configuration.onRequest?(c.site, String(response.status.code), Self.nanoseconds(elapsed))
        span.attributes["http.response.status_code"] = Int(response.status.code)
        if response.status.code >= 400 { span.setStatus(SpanStatus(code: .error)) }
        log.debug(
            "Jira request",
            metadata: [
                "status": "\(response.status.code)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let messages = Self.errorMessages(data)
            let retryAfter = RateLimitWait.seconds(
                retryAfter: response.headers.first(name: "Retry-After"),
                rateLimitReset: response.headers.first(name: "X-RateLimit-Reset") ?? response.headers.first(name: "RateLimit-Reset"))
            var status = Int(response.status.code)
            if forgeLimits, status == 403,
                response.headers.first(name: "X-RateLimit-Remaining") == "0" || response.headers.first(name: "Retry-After") != nil
            {
                status = 429
            }
            let reason =
                response.status.reasonPhrase.isEmpty
                ? HTTPResponseStatus(statusCode: Int(response.status.code)).reasonPhrase : response.status.reasonPhrase
            var failure = JiraError(
                kind: .http(status: status), detail: reason,
                jiraMessages: messages, retryAfterSeconds: retryAfter)
            if let named = response.headers.first(name: "RateLimit-Reason") { failure.rateLimitReason = RateLimits.reasonName(named) }
            // A gateway's 502 or 504 says nothing of whether Jira behind it carried out the write.
            throw method != .GET && [502, 504].contains(Int(response.status.code)) ? failure.withOutcomeUnknown() : failure
        }
        if data.isEmpty { return (.null, response.headers) }
        do {
            return (try JSONValue.parse(data), response.headers)
        } catch {
            // A proxy's maintenance page with a 200, say: what Jira did is unknown, and asking again later may
            // succeed. A write is marked so (read before it is repeated); a read is simply tried again.
            let failure = JiraError(kind: .unreadableAnswer, detail: "Jira answered \(response.status.code) with a body that is not JSON")
            throw method == .GET ? failure : failure.withOutcomeUnknown()
        }
    }

    /// A count from Jira's JSON: a whole number clamped to 0...Int32.max; anything else is 0.
    static func count(_ value: JSONValue?) -> Int {
        guard let n = value?.integer else { return 0 }
        return Int(min(max(n, 0), Int64(Int32.max)))
    }

    /// Runs `work` with one deadline for all of it (connect, headers and the whole body): a Jira that
    /// sends one byte a second cannot hold a request past `total`.
    static func withDeadline<T: Sendable>(_ total: TimeAmount, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(total.nanoseconds, 0)))
                throw JiraError(
                    kind: .timeout, detail: "Net::ReadTimeout: Jira did not finish answering within \(total.nanoseconds / 1_000_000_000) s")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// `errorMessages` and the values of `errors` in a Jira error body, else its `message` (bodies above 5000 bytes are
    /// ignored, as GitLab does).
    static func errorMessages(_ data: Data) -> [String] {
        guard data.count <= 5000, let json = try? JSONValue.parse(data) else { return [] }
        var out = (json["errorMessages"]?.array ?? []).compactMap(\.string)
        if let errors = json["errors"]?.object {
            for key in errors.keys.sorted() { if let s = errors[key]?.string { out.append(s) } }
        }
        // The forges' (and Atlassian's gateway's) `{"message": "..."}`.
        if out.isEmpty, let message = json["message"]?.string { out.append(message) }
        return out
    }

    static func classify(_ error: any Error) -> JiraError {
        if let e = error as? JiraError { return e }
        let text = String(describing: error)
        let typeName = String(reflecting: type(of: error))
        if let e = error as? HTTPClientError {
            if e == .connectTimeout {
                return JiraError(kind: .timeout, detail: "Net::OpenTimeout: the connection to Jira was not established in time", reachedJira: false)
            }
            if [HTTPClientError.readTimeout, .deadlineExceeded, .writeTimeout].contains(e) {
                return JiraError(kind: .timeout, detail: "Net::ReadTimeout: Jira did not answer in time")
            }
            if [HTTPClientError.invalidURL, .emptyHost].contains(e) {
                return JiraError(kind: .invalidURL, detail: text, reachedJira: false)
            }
            if e == .bodyLengthMismatch {
                return JiraError(kind: .invalidResponse, detail: "Jira's answer ended before its announced length")
            }
        }
        if typeName.contains("SSL") || typeName.contains("TLS") || text.contains("SSL") || text.contains("handshake") {
            return JiraError(kind: .tls, detail: tlsSummary(text), reachedJira: false)
        }
        if text.contains("dnsAError") || text.contains("dnsAAAAError") || text.contains("getaddrinfo")
            || text.contains("Name or service not known") || text.contains("nodename nor servname")
        {
            return JiraError(kind: .unresolvable, detail: withoutPaths(text), reachedJira: false)
        }
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("connectTimeout") {
            return JiraError(kind: .connectionFailed, detail: "Failed to open TCP connection: connection refused", reachedJira: false)
        }
        if text.lowercased().contains("timeout") || text.lowercased().contains("timed out") {
            return JiraError(kind: .timeout, detail: withoutPaths(text))
        }
        return JiraError(kind: .connectionFailed, detail: withoutPaths(text))
    }

    /// What a TLS failure was, in the words OpenSSL users know, without the library's source paths.
    static func tlsSummary(_ text: String) -> String {
        let lower = text.lowercased()
        if lower.contains("certificate_verify_failed") || lower.contains("certificate verify failed") || lower.contains("unable to get local issuer")
        {
            return "SSL_connect returned=1 errno=0 state=error: certificate verify failed"
        }
        if lower.contains("wrong_version_number") || lower.contains("wrong version number") {
            return "SSL_connect returned=1 errno=0 state=error: wrong version number"
        }
        if lower.contains("hostname") || lower.contains("name mismatch") {
            return "SSL_connect returned=1 errno=0 state=error: the certificate does not match the host name"
        }
        return "SSL_connect returned=1 errno=0 state=error: " + withoutPaths(text)
    }

    /// `text` without file system paths (dependencies put their build paths into error descriptions).
    static func withoutPaths(_ text: String) -> String {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map { word -> Substring in
            word.contains("/") && (word.contains(".c") || word.contains(".swift") || word.hasPrefix("/") || word.hasPrefix("(/")) ? "[path]" : word
        }
        let joined = words.joined(separator: " ")
        return joined.count > 500 ? String(joined.prefix(500)) + "…" : joined
    }

    /// Escapes one path segment (an issue key, a link id) so it cannot change the path.
    static func pathSegment(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#;"))) ?? s
    }

    static func queryEscape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
