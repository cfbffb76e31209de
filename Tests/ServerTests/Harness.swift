import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Integration
import JiraClient
import JiraEmulator
import Logging
import NIOCore
@_exported import NIOHTTP1
import Server
import ServiceLifecycle
import Store
import Synchronization
import TestDatabases

/// Collects every log line the server writes, so tests can prove a secret never appears in one.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }

    func handler(label: String) -> some LogHandler { CapturingHandler(label: label, capture: self) }

    struct CapturingHandler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt
        ) {
            let all = self.metadata.merging(extra ?? [:]) { $1 }
            capture.append("\(level) \(message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
        }
    }
}

/// A response as the tests read it.
struct TestResponse {
    var status: Int
    var headers: [(String, String)]
    var text: String
    var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
}

/// The real server and the Jira emulator, both listening on loopback ports for one test.
struct Harness: Sendable {
    let bridgeURL: String
    let emulatorURL: String
    let emulator: EmulatorState
    let adminToken: String
    let store: SQLStore
    let databasePath: String

    /// Everything the database holds, as bytes: the SQLite file and its WAL, or on PostgreSQL every row of
    /// every table as text (what a stolen backup would show).
    func storedBytes() async throws -> Data {
        guard TestDatabases.onPostgres else {
            return try Data(contentsOf: URL(fileURLWithPath: databasePath))
                + ((try? Data(contentsOf: URL(fileURLWithPath: databasePath + "-wal"))) ?? Data())
        }
        let text = try await store.database.read { db in
            var out = ""
            for table in try await String.fetchAll(db, sql: "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'") {
                for row in try await String.fetchAll(db, sql: "SELECT t::text FROM \(table) t") { out += row + "\n" }
            }
            return out
        }
        return Data(text.utf8)
    }
    let logs: LogCapture
    let http: HTTPClient
    /// The router's test client, when the test runs with `Transport.router`.
    var router: (any TestClientProtocol)? = nil

    struct Options: Sendable {
        var deployment: EmulatedDeployment = .server
        var contextPath: String = ""
        var allowLocalRequests = true
        var timeouts = JiraHTTPClient.Timeouts()
        var resolver: (any HostResolver)? = nil
        var webhookSecret: String? = "instance-hook-secret"
        var trustedProxies: [IPNetwork] = []
        var outboundAllowlist: [IPNetwork] = []
        var pipeline = PipelineConfiguration(
            retryPolicy: RetryPolicy(baseDelaySeconds: 0.05, maxDelaySeconds: 1, maxAgeSeconds: 600),
            pollInterval: .milliseconds(10))
        var retention = RetentionConfiguration()
        var connections = ConnectionLimits()
        var maxProjects = ServerConfiguration.defaultMaxProjects
        /// Wraps the test's database (a fault injector, say) before the store opens it.
        var wrapDatabase: (@Sendable (any SQLDatabase) -> any SQLDatabase)? = nil
        /// Time the test moves: the store's wall clock and the pipeline's waits both read it.
        var clock: TestClock? = nil
        /// How requests reach jira-bridge: through its router in process (`app.test(.router)`: its services run,
        /// no socket), or over loopback to the running server, for what lives below the router (connection
        /// deadlines, body budgets, TLS in front, addresses).
        var transport = Transport.router
        /// Whether the emulator's requests go to the contract check (`JIRA_BRIDGE_CONTRACT_DIR`): not for tests
        /// that send the emulator malformed requests on purpose.
        var recordsContract = true
    }

    enum Transport { case live, router }

    static let sharedHTTP = HTTPClient(eventLoopGroupProvider: .singleton)

    /// `run` over loopback sockets (`Transport.live`), for tests of what lives below the router.
    static func runLive(_ options: Options = Options(), _ body: @Sendable (Harness) async throws -> Void) async throws {
        var options = options
        options.transport = .live
        try await run(options, body)
    }

    /// Starts both servers, runs `body`, then stops them.
    static func run(_ options: Options = Options(), _ body: @Sendable (Harness) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jb-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordFile = ProcessInfo.processInfo.environment["JIRA_BRIDGE_CONTRACT_DIR"].flatMap { options.recordsContract ? $0 : nil }.map {
            URL(fileURLWithPath: $0).appendingPathComponent("\(UUID().uuidString).jsonl")
        }
        let emulator = EmulatorState(deployment: options.deployment, recordFile: recordFile)
        let key = SecretBox.generateKey()
        let dbPath = dir.appendingPathComponent("jira-bridge.sqlite").path
        let made = try await TestDatabases.make(sqlitePath: dbPath)
        defer { Task { await made.drop() } }
        let store = SQLStore(
            database: options.wrapDatabase?(made.database) ?? made.database, secrets: SecretBox(base64Key: key)!,
            clock: options.clock?.wall ?? .system)
        try await store.migrate()
        let logs = LogCapture()
        let logger = Logger(label: "jira-bridge-test") { logs.handler(label: $0) }
        let adminToken = TokenSecret.generate()
        var config = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: dir.path, allowLocalRequests: options.allowLocalRequests,
            adminToken: adminToken, secretKey: key, webhookSecret: options.webhookSecret,
            pipeline: options.pipeline)
        config.trustedProxies = options.trustedProxies
        config.retention = options.retention
        config.connections = options.connections
        config.maxProjects = options.maxProjects
        if let clock = options.clock { config.pipeline.sleeper = clock.sleeper }
        config.outboundAllowlist = options.outboundAllowlist
        let metrics = BridgeMetrics()
        var clientConfig = JiraHTTPClient.Configuration(
            allowLocalRequests: options.allowLocalRequests, timeouts: options.timeouts,
            allowedNetworks: options.outboundAllowlist)
        clientConfig.onRequest = { site, status, ns in metrics.jiraRequest(site: site, status: status, nanoseconds: ns) }
        if let resolver = options.resolver { clientConfig.outboundGuard.resolver = resolver }
        let jira = JiraHTTPClient(configuration: clientConfig)

        let (ports, continuation) = AsyncStream<(String, Int)>.makeStream()
        let emulatorApp = JiraEmulator.buildApplication(
            state: emulator, configuration: .init(deployment: options.deployment, contextPath: options.contextPath),
            logger: Logger(label: "emulator") { _ in SwiftLogNoOpLogHandler() }
        ) { port in continuation.yield(("emulator", port)) }
        // Built once the emulator listens: it is Atlassian's gateway too (`--atlassian-api-url`).
        let baseConfig = config
        @Sendable func bridgeApp(emulatorPort: Int) -> some ApplicationProtocol {
            var config = baseConfig
            config.atlassianAPIURL = "http://127.0.0.1:\(emulatorPort)"
            return buildApplication(store: store, jira: jira, configuration: config, logger: logger, metrics: metrics) { port in
                continuation.yield(("bridge", port))
            }
        }
        // Stopped by a graceful shutdown, never by cancelling the serving tasks: cancelling them while a
        // connection is being accepted traps in NIO ("Deinited NIOAsyncWriter without calling finish()",
        // apple/swift-nio#3481). The bridge stops first, finishing its deliveries against the emulator.
        if options.transport == .router {
            let emulatorGroup = ServiceGroup(
                configuration: .init(
                    services: [.init(service: emulatorApp)], gracefulShutdownSignals: [], cancellationSignals: [],
                    logger: Logger(label: "harness") { _ in SwiftLogNoOpLogHandler() }))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await emulatorGroup.run() }
                var emulatorPort = 0
                for await (name, port) in ports where name == "emulator" {
                    emulatorPort = port
                    break
                }
                let emulatorURL = "http://127.0.0.1:\(emulatorPort)\(options.contextPath)"
                // The bridge's services stop when the test ends, finishing their deliveries against the emulator;
                // the emulator stops after them.
                let outcome: Result<Void, any Error>
                do {
                    try await bridgeApp(emulatorPort: emulatorPort).test(.router) { client in
                        var harness = Harness(
                            bridgeURL: "http://localhost", emulatorURL: emulatorURL,
                            emulator: emulator, adminToken: adminToken, store: store, databasePath: dbPath, logs: logs, http: sharedHTTP)
                        harness.router = client
                        try await body(harness)
                    }
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                await emulatorGroup.triggerGracefulShutdown()
                try? await group.waitForAll()
                try? await jira.shutdown()
                try outcome.get()
            }
            return
        }
        let emulatorServices = ServiceGroup(
            configuration: .init(
                services: [.init(service: emulatorApp)], gracefulShutdownSignals: [], cancellationSignals: [],
                logger: Logger(label: "harness") { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await emulatorServices.run() }
            var found: [String: Int] = [:]
            for await (name, port) in ports where name == "emulator" {
                found[name] = port
                break
            }
            let services = ServiceGroup(
                configuration: .init(
                    services: [.init(service: bridgeApp(emulatorPort: found["emulator"]!))], gracefulShutdownSignals: [], cancellationSignals: [],
                    logger: Logger(label: "harness") { _ in SwiftLogNoOpLogHandler() }))
            group.addTask { try await services.run() }
            for await (name, port) in ports where name == "bridge" {
                found[name] = port
                break
            }
            let harness = Harness(
                bridgeURL: "http://127.0.0.1:\(found["bridge"]!)",
                emulatorURL: "http://127.0.0.1:\(found["emulator"]!)\(options.contextPath)",
                emulator: emulator, adminToken: adminToken, store: store, databasePath: dbPath, logs: logs, http: sharedHTTP)
            do {
                try await body(harness)
            } catch {
                await services.triggerGracefulShutdown()
                await emulatorServices.triggerGracefulShutdown()
                try? await group.waitForAll()
                try? await jira.shutdown()
                throw error
            }
            // The bridge stops first, finishing its deliveries against the emulator.
            await services.triggerGracefulShutdown()
            try await group.next()
            await emulatorServices.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        try await jira.shutdown()
    }

    // MARK: Requests

    /// A JSON body, written by the core's writer as jira-bridge writes its own.
    static func bytes(_ json: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.value(json)
        return writer.bytes
    }

    func request(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil, form: String? = nil,
        raw: String? = nil, headers: [(String, String)] = []
    ) async throws -> TestResponse {
        var all = headers
        if let token { all.append(("PRIVATE-TOKEN", token)) }
        var body: ByteBuffer? = nil
        if let json {
            all.append(("Content-Type", "application/json"))
            body = ByteBuffer(bytes: Self.bytes(json))
        } else if let form {
            all.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = ByteBuffer(string: form)
        } else if let raw {
            body = ByteBuffer(string: raw)
        }
        if let router {
            var fields = HTTPFields()
            for (k, v) in all { fields.append(HTTPField(name: HTTPField.Name(k)!, value: v)) }
            let response = try await router.executeRequest(
                uri: path, method: HTTPRequest.Method(method.rawValue)!, headers: fields, body: body)
            return TestResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name.rawName, $0.value) },
                text: String(buffer: response.body))
        }
        var req = HTTPClientRequest(url: bridgeURL + path)
        req.method = method
        for (k, v) in all { req.headers.add(name: k, value: v) }
        if let body { req.body = .bytes(body) }
        let response = try await http.execute(req, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 16 << 20)
        return TestResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            text: String(buffer: collected))
    }

    /// A GET of an absolute URL (the emulator's, say), with these headers.
    func get(_ url: String, headers: [String: String]) async throws -> TestResponse {
        var req = HTTPClientRequest(url: url)
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        let response = try await http.execute(req, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, text: String(buffer: body))
    }

    /// As the instance admin.
    func admin(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, form: String? = nil) async throws -> TestResponse {
        try await request(method, path, token: adminToken, json: json, form: form)
    }

    /// Registers `acme/web/shop` (id 42) and returns its id.
    @discardableResult
    func registerProject(id: Int = 42, path: String = "acme/web/shop") async throws -> Int {
        let r = try await admin(
            .POST, "/api/v4/projects",
            json: .object([
                "id": .number(Double(id)), "path_with_namespace": .string(path), "name": .string("Shop"),
                "web_url": .string("https://gitlab.example.com/\(path)"), "default_branch": .string("main"),
            ]))
        precondition(r.status == 201, "project registration failed: \(r.status) \(r.text)")
        return id
    }

    /// Settings that work against this harness's emulator.
    func workingSettings(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        var doc: [String: JSONValue] = [
            "active": .bool(true), "url": .string(emulatorURL),
            "username": .string(emulator.deployment == .cloud ? "jira-bot@example.com" : "jira-bot"),
            "password": .string("secret-token"),
        ]
        for (k, v) in extra { doc[k] = v }
        return .object(doc)
    }

    /// Creates a token through the API and returns its secret.
    func token(role: String, scope: String = "instance", extra: [String: JSONValue] = [:]) async throws -> String {
        var doc: [String: JSONValue] = ["name": .string("t-\(role)"), "role": .string(role), "scope": .string(scope)]
        for (k, v) in extra { doc[k] = v }
        let r = try await admin(.POST, "/api/v4/tokens", json: .object(doc))
        precondition(r.status == 201, "token creation failed: \(r.text)")
        return r.json["token"]!.string!
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(uniqueKeysWithValues: elements)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
