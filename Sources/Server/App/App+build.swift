import Foundation
import Hummingbird
import HummingbirdCore
import Integration
import JiraClient
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization
import Tracing

/// Builds the router with every route of the API.
public func buildRouter(
    store: any BridgeStore, jira: JiraHTTPClient, configuration: ServerConfiguration,
    metrics: BridgeMetrics = BridgeMetrics()
) -> Router<BridgeRequestContext> {
    buildRouter(
        store: store, jira: jira, configuration: configuration, metrics: metrics, health: WorkerHealth(metrics: metrics),
        running: RunningDeliveries())
}

func buildRouter(
    store: any BridgeStore, jira: JiraHTTPClient, configuration: ServerConfiguration,
    metrics: BridgeMetrics, health workers: WorkerHealth, running: RunningDeliveries
) -> Router<BridgeRequestContext> {
    let router = Router(context: BridgeRequestContext.self)
    metrics.buildInfo(version: configuration.build.version, commit: configuration.build.commit)
    router.add(middleware: RequestLogger())
    // A server span per request (W3C traceparent read from the request), when tracing is on; the token is never
    // recorded (no header is). Left out when it is off: even with the no-op tracer the middleware builds the span's
    // attributes and wraps every answer's body (BENCHMARKS.md, "Intake after issue 31").
    if !(InstrumentationSystem.tracer is NoOpTracer) { router.add(middleware: TracingMiddleware()) }
    let health = JSONValue.object([
        "status": .string("ok"), "version": .string(configuration.build.version),
        "commit": .string(configuration.build.commit),
    ])
    router.get("/-/health") { _, _ in try JSONBody.response(health) }
    router.get("/-/readiness") { _, context in
        // Ready means the database takes a write now and the background loops are not failing.
        do {
            // A probe must answer quickly: a write that waits behind a lock for 2 s counts as failed.
            try await withTimeout(.seconds(2)) { try await store.ping() }
        } catch {
            context.logger.warning("readiness: the database cannot be written", metadata: ["error": "\(error)"])
            return try JSONBody.response(
                .object(["status": .string("failed"), "message": .string("the database cannot be written")]), status: .serviceUnavailable)
        }
        if let problem = store.databaseFileProblem() ?? workers.problem(heartbeatInterval: configuration.pipeline.heartbeatInterval) {
            return try JSONBody.response(.object(["status": .string("failed"), "message": .string(problem)]), status: .serviceUnavailable)
        }
        // A queue that stopped moving although this process has room for more (`Readiness.stuckAfter`).
        if running.count < configuration.pipeline.concurrency,
            let stuck = try? await store.stuckQueue(now: store.clock.now(), bound: configuration.pipeline.stuckAfterMillis)
        {
            context.logger.warning("readiness: the queue is stuck", metadata: ["reason": "\(stuck)"])
            return try JSONBody.response(
                .object(["status": .string("failed"), "message": .string("the queue is stuck: \(stuck)")]),
                status: .serviceUnavailable)
        }
        return try JSONBody.response(.object(["status": .string("ok")]))
    }
    // The API's OpenAPI description (docs/openapi.yaml), read once.
    let openAPI = WebResources.openAPIDescription()
    router.get("/api/v4/openapi.yaml") { _, _ in
        guard let openAPI else { throw APIError(.notFound, message: "404 Not Found: the OpenAPI description is not installed beside the binary") }
        return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: openAPI))
    }
    router.get("/metrics") { _, _ in
        let depth = try? await store.queueDepth()
        if let depth { metrics.queueDepth(deliveries: depth.deliveries, events: depth.events) }
        if let oldest = try? await store.oldestUnfinished() { metrics.queueAges(oldest, now: WallClock.system.now()) }
        if let paused = try? await store.pausedDeliveries(), let rejected = try? await store.credentialHolds(),
            let limits = try? await store.rateLimitHolds(now: store.clock.now())
        {
            var perSite: [String: Int] = [:]
            for hold in rejected { perSite[hold.site, default: 0] += 1 }
            metrics.holds(paused: paused, rejected: perSite, rateLimits: limits.map { ($0.site, $0.scope.rawValue) })
        }
        // Readiness as a scrape sees it: the database answers and no background loop is failing.
        metrics.ready(depth != nil && workers.problem(heartbeatInterval: configuration.pipeline.heartbeatInterval) == nil)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.registry.emitToString())))
    }
    let api = router.group("")
    api.add(middleware: ServiceFailureMiddleware())
    api.add(middleware: TokenAuthenticator(store: store, adminToken: configuration.adminToken, trustedProxies: configuration.trustedProxies))
    let access = AccessPolicy(store: store)
    let secretCache = SecretCache()
    let service = IntegrationService(
        store: store, jira: jira,
        validator: SettingsValidator(
            allowLocalRequests: configuration.allowLocalRequests,
            allowedNetworks: configuration.outboundAllowlist),
        gateway: JiraURL(configuration.atlassianAPIURL) ?? JiraURL(ServerConfiguration.defaultAtlassianAPIURL)!)
    ProjectsController(store: store, access: access, secretCache: secretCache).addRoutes(to: api)
    TokensController(store: store, access: access).addRoutes(to: api)
    IntegrationController(store: store, access: access, service: service).addRoutes(to: api)
    DeliveriesController(store: store, access: access).addRoutes(to: api)
    let jiraIssues = JiraIssuesService(store: store, jira: jira, publicURL: configuration.publicURL, cache: JiraIssuesCache())
    JiraIssuesController(store: store, access: access, issues: jiraIssues).addRoutes(to: api)
    let vulnerabilities = VulnerabilityService(store: store, jira: jira, publicURL: configuration.publicURL)
    VulnerabilitiesController(store: store, access: access, service: vulnerabilities).addRoutes(to: api)
    do {
        let web = router.group("")
        web.add(middleware: WebSessionMiddleware(store: store, identities: TokenIdentities(store: store, adminToken: configuration.adminToken)))
        WebController(
            store: store, access: access, service: service, issues: jiraIssues, vulnerabilities: vulnerabilities, pages: try WebPages(),
            adminToken: configuration.adminToken, secureCookies: configuration.publicURL.lowercased().hasPrefix("https://"),
            trustedProxies: configuration.trustedProxies
        )
        .addRoutes(to: web)
    } catch {
        // The pages are optional: without their resources the API still serves.
        Logger(label: "jira-bridge").error("web pages disabled", metadata: ["error": "\(error)"])
    }
    WebhookController(
        store: store, instanceSecret: configuration.webhookSecret, access: access, metrics: metrics, secretCache: secretCache,
        committer: IntakeCommitter(store: store), maxProjects: configuration.maxProjects
    ).addRoutes(to: router)
    return router
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

/// Runs `work`, giving up after `limit`: the answer comes in time even when the work is stuck. Then the work
/// is cancelled (work blocked outside Swift's reach ends when it can, and its result is dropped); when the
/// work answers first, the timer is cancelled, so neither task outlives its use.
func withTimeout(_ limit: Duration, _ work: @escaping @Sendable () async throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let answer = FirstAnswer(continuation)
        let worker = Task { do { try await work(); answer.give(.success(())) } catch { answer.give(.failure(error)) } }
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled else { return }
            answer.give(.failure(TimedOut()))
            worker.cancel()
        }
        answer.whenGiven { timer.cancel() }
    }
}

/// Resumes a continuation with the first result given; later ones are dropped.
final class FirstAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var given = false
        var then: [@Sendable () -> Void] = []
    }
    private let state: Mutex<State>
    init(_ continuation: CheckedContinuation<Void, any Error>) { self.state = Mutex(State(continuation: continuation)) }

    func give(_ result: Result<Void, any Error>) {
        let then = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.given else { return [] }
            s.given = true
            s.continuation?.resume(with: result)
            s.continuation = nil
            defer { s.then = [] }
            return s.then
        }
        for action in then { action() }
    }

    /// Runs `action` once an answer is given (at once if it already was).
    func whenGiven(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.given { return true }
            s.then.append(action)
            return false
        }
        if now { action() }
    }
}

/// Builds the whole application: the router, the server and the services beside it.
public func buildApplication(
    store: SQLStore, jira: JiraHTTPClient, configuration: ServerConfiguration, logger: Logger, metrics: BridgeMetrics = BridgeMetrics(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let health = WorkerHealth(metrics: metrics)
    let running = RunningDeliveries()
    let router = buildRouter(store: store, jira: jira, configuration: configuration, metrics: metrics, health: health, running: running)
    let pipeline = configuration.pipeline
    let tokens = AtlassianTokens(
        jira: jira, gateway: JiraURL(configuration.atlassianAPIURL) ?? JiraURL(ServerConfiguration.defaultAtlassianAPIURL)!, clock: store.clock)
    let runner = DeliveryRunner(
        store: store, jira: jira, policy: pipeline.retryPolicy, metrics: metrics, tokens: tokens, publicURL: configuration.publicURL)
    // One worker identity per process: host, process id and a random part (a restarted process is new).
    let owner =
        "\(ProcessInfo.processInfo.hostName.prefix(64)):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
    let limits = configuration.connections
    var heartbeat = QueueHeartbeatService(
        store: store, configuration: pipeline, owner: owner, running: running, health: health, metrics: metrics, logger: logger)
    if pipeline.catchUpOnStart {
        let catchUp = CatchUpService(store: store)
        heartbeat.onRegistered = { await catchUp.onStart(logger: logger) }
    }
    return Application(
        router: router,
        server: .http1(
            configuration: .init(additionalChannelHandlers: [
                ConnectionDeadlineHandler(limits: limits) { phase in metrics.connectionTimedOut(phase: phase) }
            ])),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "jira-bridge",
            backlog: 1024, availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
        // New work committed by the other processes on the database wakes this one's loops (PostgreSQL's
        // listener, first); the database's own client runs outside the application, around it (`runUntilStopped`).
        services: (store.listener(logger: logger).map { [$0] } ?? []) + [
            heartbeat,
            EventPlanningService(store: store, bells: store.bells, configuration: pipeline, health: health, logger: logger),
            DeliveryService(
                store: store, bells: store.bells, runner: runner, configuration: pipeline, owner: owner, running: running, health: health,
                siteLimits: SiteLimits(ceiling: pipeline.perSiteLimit), logger: logger),
            RetentionService(store: store, configuration: configuration.retention, sleeper: pipeline.sleeper, metrics: metrics, logger: logger),
        ],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Runs the application until SIGTERM or SIGINT. The graceful stop (answers in flight, deliveries running)
/// may take at most `shutdownTimeout`; then whatever is left is cancelled: a webhook not yet answered is sent
/// again by its forge, and a delivery not finished is taken up again when its lease ends, so nothing is lost,
/// and a client that stalls its body cannot hold the stop.
///
/// `before` runs first and stops last: the database's client (`SQLStore.databaseService`), which the
/// application's workers still use while they stop.
public func runUntilStopped(
    _ app: some ApplicationProtocol & Service, before: [any Service] = [], shutdownTimeout: Duration, logger: Logger
) async throws {
    var configuration = ServiceGroupConfiguration(
        services: before.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [.init(service: app)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = shutdownTimeout
    try await ServiceGroup(configuration: configuration).run()
}
