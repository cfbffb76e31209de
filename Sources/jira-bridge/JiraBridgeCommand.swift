import ArgumentParser
import Foundation
import Hummingbird
import Integration
import JiraClient
import Logging
import NIOCore
import Server
import Store

@main
struct JiraBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jira-bridge",
        abstract: "GitLab's Jira integration as a standalone server for any forge.",
        version: BuildInfo.description,
        subcommands: [
            Serve.self, Migrate.self, MigrateStore.self, TokenCommand.self, DeliveriesCommand.self, BackfillCommand.self, CatchUpCommand.self,
            KeysCommand.self,
            Prune.self, Healthcheck.self,
        ])

    /// Parses and runs the command. Every failure is one line on stderr, then a pointer to `--help` when the
    /// command line was wrong, and the exit status of its kind (docs/operations.md, "Exit status").
    static func main() async {
        var path = commandPath(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot()
            path = commandPath(of: type(of: command)) ?? path
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as StartupError {
            fail(error.description, help: error.kind == .usage ? path : nil, status: error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if error is ExitCode { Foundation.exit(code.rawValue) }
            let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            // ArgumentParser's usage errors (unknown flag, missing or bad value) exit 64, as StartupError.usage does.
            fail(line, help: code.rawValue == 64 ? path : nil, status: code.rawValue)
        }
    }

    static func fail(_ line: String, help path: String?, status: Int32) -> Never {
        var text = "jira-bridge: error: \(line)\n"
        if let path { text += "See 'jira-bridge \(path.isEmpty ? "" : path + " ")--help'.\n" }
        FileHandle.standardError.write(Data(text.utf8))
        Foundation.exit(status)
    }

    /// The subcommand path (`token create`) that the leading words of a command line name.
    static func commandPath(_ words: ArraySlice<String>) -> String {
        var current: any ParsableCommand.Type = JiraBridgeCommand.self
        var names: [String] = []
        for word in words {
            guard let next = current.configuration.subcommands.first(where: { name(of: $0) == word }) else { break }
            names.append(word)
            current = next
        }
        return names.joined(separator: " ")
    }

    /// The subcommand path of a command type.
    static func commandPath(of type: any ParsableCommand.Type, from root: any ParsableCommand.Type = JiraBridgeCommand.self) -> String? {
        if root == type { return "" }
        for sub in root.configuration.subcommands {
            if let rest = commandPath(of: type, from: sub) { return rest.isEmpty ? name(of: sub) : "\(name(of: sub)) \(rest)" }
        }
        return nil
    }

    static func name(of type: any ParsableCommand.Type) -> String {
        type.configuration.commandName ?? String(describing: type).lowercased()
    }

    /// Runs `body`: a `StartupError` goes to `main` as it is, any other error becomes a failure of its kind.
    static func reportingStartupErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StartupError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            throw StartupError(description: "\(error)", kind: .failed)
        }
    }
}

struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Where the SQLite file and generated key files live (JIRA_BRIDGE_DATA_DIR, default ./data).")
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: "sqlite:PATH or postgres://user:pass@host:port/db (JIRA_BRIDGE_DATABASE_URL).")
    var databaseURL: String?

    /// Opens a server's existing store (never creating one), migrated, runs `body`, closes the store. An API
    /// error (a bad value) is a usage mistake; anything else the database did is a failure.
    static func withStore<T: Sendable>(_ data: DataOptions, _ body: (any BridgeStore) async throws -> T) async throws -> T {
        let opened = try await RuntimeSettings().openData(dataDirFlag: data.dataDir, databaseURLFlag: data.databaseURL, existing: true)
        let result: Result<T, StartupError>
        do {
            result = .success(
                try await opened.store.database.whileRunning {
                    try await opened.store.migrate()
                    return try await body(opened.store)
                })
        } catch let error as APIError {
            result = .failure(StartupError(description: error.plainMessage))
        } catch let error as StartupError {
            result = .failure(error)
        } catch {
            result = .failure(StartupError(description: "the database failed: \(error)", kind: .unavailable))
        }
        await opened.store.close()
        return try result.get()
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server.",
        discussion: """
            Each flag has an environment variable (named beside it); a flag wins over its variable. These settings \
            exist only as environment variables (docs/configuration.md has each one's range):
              JIRA_BRIDGE_ADMIN_TOKEN                  the admin token (else DATA_DIR/admin-token, generated)
              JIRA_BRIDGE_SECRET_KEY                   the key that seals stored secrets (else DATA_DIR/secret-key)
              JIRA_BRIDGE_WEBHOOK_SECRET               the instance's webhook secret
              JIRA_BRIDGE_WORKER_CONCURRENCY           deliveries run at once (32)
              JIRA_BRIDGE_SITE_CONCURRENCY             deliveries run at once against one Jira site (4)
              JIRA_BRIDGE_DELIVERY_LEASE_SECONDS       a running delivery's lease (15)
              JIRA_BRIDGE_RETRY_BASE_SECONDS           the first retry's wait (2)
              JIRA_BRIDGE_RETRY_MAX_DELAY_SECONDS      the longest wait between retries (3600)
              JIRA_BRIDGE_RETRY_MAX_AGE_SECONDS        when a failing delivery is given up (86400)
              JIRA_BRIDGE_UNCERTAIN_WRITE_DELAY_SECONDS the wait before a write of unknown outcome is checked (120)
              JIRA_BRIDGE_HEADER_TIMEOUT_SECONDS       a request's headers must arrive within (10)
              JIRA_BRIDGE_BODY_TIMEOUT_SECONDS         a request's body must arrive within (30)
              JIRA_BRIDGE_MAX_CONNECTIONS              open connections at most (4096)
              JIRA_BRIDGE_MAX_PROJECTS                 projects a webhook may register (docs/security.md)
              JIRA_BRIDGE_SHUTDOWN_TIMEOUT_SECONDS     the graceful stop's limit (30)
              JIRA_BRIDGE_CATCH_UP_ON_START            catch up with the forges at start (true)
              JIRA_BRIDGE_WEB_DIR                      the pages' templates and assets, if not beside the binary
            OpenTelemetry's own variables turn traces on (OTLP over HTTP; docs/operations.md, "Traces"):
              OTEL_EXPORTER_OTLP_ENDPOINT              the collector (http://host:4318); unset: no traces
              OTEL_EXPORTER_OTLP_TRACES_ENDPOINT       the traces URL itself, instead
              OTEL_EXPORTER_OTLP_PROTOCOL              http/protobuf (default) or http/json
              OTEL_EXPORTER_OTLP_TRACES_PROTOCOL       the same, for traces alone
              OTEL_EXPORTER_OTLP_HEADERS               headers for the collector (key=value,...)
              OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER    the service's name (jira-bridge), the sampler (parentbased_always_on)
              OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER  true, or none: no traces
            With --check-config, every setting is read and checked, the address and the database tried, and the \
            settings in effect printed; nothing is served, created or changed.
            """)

    @Option(help: "Listen address (JIRA_BRIDGE_HOST, default 127.0.0.1).") var host: String?
    @Option(parsing: .unconditional, help: "Listen port, 0 for any free port (JIRA_BRIDGE_PORT, default 8080).") var port: String?
    @OptionGroup var data: DataOptions
    @Option(name: .customLong("public-url"), help: "Base of links put into Jira (JIRA_BRIDGE_PUBLIC_URL, default http://HOST:PORT).") var publicURL:
        String?
    @Flag(
        name: .customLong("allow-local-requests"),
        help: "Allow Jira URLs on loopback, private and link-local addresses (JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS).")
    var allowLocalRequests = false
    @Option(
        name: .customLong("outbound-allowlist"),
        help: "Comma-separated local IP addresses or CIDR blocks Jira may be on although local requests are refused (JIRA_BRIDGE_OUTBOUND_ALLOWLIST)."
    )
    var outboundAllowlist: String?
    @Option(
        name: .customLong("trusted-proxies"),
        help: "Comma-separated CIDR list of reverse proxies whose X-Forwarded-For is believed (JIRA_BRIDGE_TRUSTED_PROXIES).")
    var trustedProxies: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (JIRA_BRIDGE_LOG_LEVEL, default info).")
    var logLevel: String?
    @Option(
        name: .customLong("log-format"),
        help:
            "text (for people), logfmt or json (one object per line), each line with its request or delivery id (JIRA_BRIDGE_LOG_FORMAT, default text)."
    )
    var logFormat: String?
    @Option(
        name: .customLong("atlassian-api-url"),
        help:
            "Atlassian's API gateway: the OAuth token call and Jira Cloud's development information, builds and deployments (JIRA_BRIDGE_ATLASSIAN_API_URL, default https://api.atlassian.com)."
    )
    var atlassianAPIURL: String?
    @Option(
        name: .customLong("retention-days"), parsing: .unconditional,
        help: "Days succeeded and skipped deliveries and their events are kept; 0 keeps everything (JIRA_BRIDGE_RETENTION_DAYS, default 30).")
    var retentionDays: String?
    @Flag(name: .customLong("check-config"), help: "Check every setting, the address and the database, print the settings in effect, and exit.")
    var checkConfig = false

    func run() async throws {
        if checkConfig {
            try await JiraBridgeCommand.reportingStartupErrors { try await check() }
            return
        }
        let settings = RuntimeSettings()
        var (config, store, dataDir, generated) = try await JiraBridgeCommand.reportingStartupErrors {
            let read = try readSettings(settings)
            // The address is tried before anything is written: a port in use leaves the data directory as it was.
            try ListenCheck.check(host: read.host, port: read.port)
            let opened = try await settings.openData(dataDirFlag: data.dataDir, databaseURLFlag: data.databaseURL)
            let admin = try settings.secretFile(env: "JIRA_BRIDGE_ADMIN_TOKEN", file: "\(opened.dataDir)/admin-token", generate: TokenSecret.generate)
            do { try await opened.store.database.whileRunning { try await opened.store.migrate() } } catch {
                throw StartupError(description: "database migration failed: \(error)", kind: .unavailable)
            }
            var config = configuration(read, settings, dataDir: opened.dataDir, adminToken: admin.value, secretKey: opened.secretKey)
            do { config.pipeline.takeOverLeases = try opened.store.acquireServingLock() } catch {
                throw StartupError(description: "\(error)", kind: .unavailable)
            }
            return (config, opened.store, opened.dataDir, (admin: admin.generated, key: opened.keyGenerated))
        }
        LoggingSystem.bootstrap { [format = config.logFormat, level = config.logLevel] label in
            BridgeLogHandler(label: label, format: format, level: level)
        }
        let logger = Logger(label: "jira-bridge")
        logger.notice("jira-bridge starting", metadata: ["version": "\(BuildInfo.version)", "commit": "\(BuildInfo.commit)"])
        if generated.admin {
            logger.notice("generated the admin token", metadata: ["path": "\(dataDir)/admin-token"])
        } else if ProcessInfo.processInfo.environment["JIRA_BRIDGE_ADMIN_TOKEN"] == nil {
            logger.info("admin token", metadata: ["path": "\(dataDir)/admin-token"])
        }
        if generated.key { logger.notice("generated the secret key", metadata: ["path": "\(dataDir)/secret-key"]) }
        logger.notice("settings in effect", metadata: Self.effective(config, dataDir: dataDir).mapValues { .string($0) })
        for warning in Self.warnings(publicURL: config.publicURL, host: config.host, allowLocal: config.allowLocalRequests) {
            logger.warning("\(warning)")
        }
        if config.adminToken.utf8.count < 16 {
            logger.warning(
                "the admin token is shorter than 16 characters: anyone who guesses it administers the server; remove data/admin-token (or unset JIRA_BRIDGE_ADMIN_TOKEN) to have a strong one generated"
            )
        }
        // Every connection is a file descriptor: the soft limit is raised to the hard one (as Go does), and the
        // connection cap lowered to fit when even that is too low.
        let descriptors = FileDescriptors.raiseSoftLimit()
        let needed = config.connections.maxConnections + FileDescriptors.reserve
        if descriptors < needed {
            let fitted = max(16, descriptors - FileDescriptors.reserve)
            logger.warning(
                "the open-file limit is too low for the connection cap; the cap is lowered to fit (raise LimitNOFILE, see docs/security.md)",
                metadata: ["limit": "\(descriptors)", "max_connections": "\(config.connections.maxConnections)", "lowered_to": "\(fitted)"])
            config.connections.maxConnections = fitted
        }
        // Traces, when an OTLP endpoint is set: the exporter runs beside the server and flushes after it stops.
        let telemetry = try Telemetry.bootstrap(ProcessInfo.processInfo.environment, version: BuildInfo.version, logger: logger)
        let metrics = BridgeMetrics()
        var clientConfiguration = JiraHTTPClient.Configuration(
            allowLocalRequests: config.allowLocalRequests, allowedNetworks: config.outboundAllowlist)
        clientConfiguration.onRequest = { site, status, ns in metrics.jiraRequest(site: site, status: status, nanoseconds: ns) }
        let jira = JiraHTTPClient(configuration: clientConfiguration)
        // The listening line is written at any log level: with --port 0 it is how the port is found.
        var announcer = logger
        announcer.logLevel = min(config.logLevel, .notice)
        let announce = announcer
        let host = config.host
        let app = buildApplication(store: store, jira: jira, configuration: config, logger: logger, metrics: metrics) { port in
            announce.notice("jira-bridge listening on http://\(host):\(port)", metadata: ["port": "\(port)"])
        }
        do {
            try await runUntilStopped(
                app, before: (telemetry.map { [$0] } ?? []) + (store.databaseService.map { [$0] } ?? []), shutdownTimeout: config.shutdownTimeout,
                logger: logger)
        } catch {
            try? await jira.shutdown()
            await store.close()
            // Another process took the port between the check and the bind.
            if let io = error as? IOError {
                throw StartupError(
                    description: "cannot listen on \(ListenCheck.address(config.host, config.port)): \(String(cString: strerror(io.errnoCode)))",
                    kind: .unavailable)
            }
            throw error
        }
        try await jira.shutdown()
        await store.close()
        logger.notice("jira-bridge stopped")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")
    @OptionGroup var data: DataOptions

    func run() async throws {
        try await JiraBridgeCommand.reportingStartupErrors {
            let runtime = RuntimeSettings()
            // PostgreSQL: the schema is migrated under an advisory lock (several processes may start at once).
            if let url = runtime.value(data.databaseURL, "JIRA_BRIDGE_DATABASE_URL"), url.hasPrefix("postgres") {
                let parsed: DatabaseURL
                do { parsed = try DatabaseURL.parse(url) } catch { throw StartupError(description: "\(error)") }
                if case .postgres(let settings) = parsed {
                    let applied: [String]
                    do { applied = try await PostgresMigrator(settings: settings).migrate() } catch {
                        throw StartupError(description: "database migration failed: \(error)", kind: .unavailable)
                    }
                    print("migrations applied (\(applied.count) new) on \(settings.description)")
                    return
                }
            }
            let opened = try await runtime.openData(dataDirFlag: data.dataDir, databaseURLFlag: data.databaseURL)
            do { try await opened.store.migrate() } catch {
                await opened.store.close()
                throw StartupError(description: "database migration failed: \(error)", kind: .unavailable)
            }
            await opened.store.close()
            print("migrations applied")
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    /// Opens the store (migrated), runs `body`, closes the store, and reports what failed as a startup error.
    static func withTokens<T: Sendable>(_ data: DataOptions, _ body: (TokenIssuer) async throws -> T) async throws -> T {
        try await DataOptions.withStore(data) { try await body(TokenIssuer(store: $0)) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every API token (id, name, role, scope, expiry; never a secret): a table, or with --json the API's JSON.")
        @Flag(help: "Print the tokens as a JSON array, as GET /api/v4/tokens does.") var json = false
        @OptionGroup var data: DataOptions

        func run() async throws {
            try await JiraBridgeCommand.reportingStartupErrors {
                if json {
                    print(try await TokenCommand.withTokens(data) { try await $0.list() })
                } else {
                    let rows = try await TokenCommand.withTokens(data) { try await $0.table() }
                    print((TextTable.lines(rows) + ["\(rows.count - 1) tokens"]).joined(separator: "\n"))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an API token by its id (see token list); it stops working at once.")
        @Argument(help: "The token's id.") var id: Int64
        @OptionGroup var data: DataOptions

        func run() async throws {
            try await JiraBridgeCommand.reportingStartupErrors {
                let revoked = try await TokenCommand.withTokens(data) { try await $0.revoke(id: id) }
                guard revoked else { throw StartupError(description: "no token has the id \(id) (jira-bridge token list shows them)", kind: .failed) }
                print("token \(id) revoked")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        /// The API's field names in a message, as this command's flags (`validate` has checked name, role and scope;
        /// what only the database can tell is the rest).
        static func flagNames(_ message: String) -> String {
            var text = message
            for (field, flag) in [("project_id", "--project-id"), ("group_id", "--group-id"), ("expires_at", "--expires-at")] {
                text = text.replacingOccurrences(of: field, with: flag)
            }
            return text
        }

        static let configuration = CommandConfiguration(abstract: "Create an API token and print it once, as JSON.")
        @Option(help: "A name to recognise the token by.") var name: String
        @Option(help: "admin, maintainer or reporter.") var role: String
        @Option(help: "instance, group or project.") var scope: String = "instance"
        @Option(name: .customLong("project-id"), help: "The project (id or full path) for scope project.") var projectID: String?
        @Option(name: .customLong("group-id"), help: "The group (id or full path) for scope group.") var groupID: String?
        @Option(name: .customLong("expires-at"), help: "Expiry date (YYYY-MM-DD) or ISO 8601 time.") var expiresAt: String?
        @OptionGroup var data: DataOptions

        /// What can be checked without the database is checked before it is opened, in the API's words.
        func validate() throws {
            guard let role = TokenRole(rawValue: role) else {
                throw ValidationError("--role does not have a valid value (admin, maintainer, reporter), not '\(role.prefix(40))'")
            }
            switch scope {
            case "instance": break
            case "group": guard groupID != nil else { throw ValidationError("--scope group needs --group-id") }
            case "project": guard projectID != nil else { throw ValidationError("--scope project needs --project-id") }
            default: throw ValidationError("--scope does not have a valid value (instance, group, project), not '\(scope.prefix(40))'")
            }
            if role == .admin, scope != "instance" { throw ValidationError("--role admin requires --scope instance") }
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name must not be empty") }
        }

        func run() async throws {
            try await JiraBridgeCommand.reportingStartupErrors {
                var params = ["name": name, "role": role, "scope": scope]
                if let projectID { params["project_id"] = projectID }
                if let groupID { params["group_id"] = groupID }
                if let expiresAt { params["expires_at"] = expiresAt }
                do {
                    print(try await TokenCommand.withTokens(data) { [params] in try await $0.issue(parameters: params) })
                } catch let error as StartupError {
                    // The rules are the API's; its messages name its fields, which are flags here.
                    throw StartupError(description: Self.flagNames(error.description), kind: error.kind)
                }
            }
        }
    }
}

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove finished work older than the retention now, as the server does every hour.",
        discussion: """
            Removes succeeded and skipped deliveries last changed before the cutoff, and the events none of whose
            deliveries remain; failed and dead deliveries and their events stay. Works in transactions of 1000 rows,
            so a running server goes on taking webhooks meanwhile.
            """)
    @Option(
        name: .customLong("retention-days"), parsing: .unconditional,
        help: "Days to keep (JIRA_BRIDGE_RETENTION_DAYS, default 30); 0 removes nothing.")
    var retentionDays: String?
    @OptionGroup var data: DataOptions

    func run() async throws {
        try await JiraBridgeCommand.reportingStartupErrors {
            let settings = RuntimeSettings()
            let days = try settings.retentionDays(retentionDays)
            let removed: (deliveries: Int, events: Int) = try await DataOptions.withStore(data) { store in
                let retention = RetentionConfiguration(days: days)
                do {
                    return days > 0
                        ? try await Retention.prune(
                            store: store, before: retention.cutoff(now: store.clock.now()),
                            batch: retention.batch, maxBatches: Int.max) : (0, 0)
                } catch {
                    throw StartupError(description: "pruning failed: \(error)", kind: .unavailable)
                }
            }
            print("removed \(removed.deliveries) deliveries and \(removed.events) events finished more than \(days.parameterText) days ago")
        }
    }
}

/// What `serve` reads before it touches the disk, shared by `serve` and `serve --check-config`.
struct ServeSettings {
    var level: Logger.Level
    var host: String
    var port: Int
    var allowLocal: Bool
    var pipeline: PipelineConfiguration
    var retentionDays: Double
    var proxies: [IPNetwork]
    var allowlist: [IPNetwork]
    var publicURL: String?
    var atlassian: String
    var format: LogFormat
    var connections: ConnectionLimits
    var shutdownTimeout: Duration
    var maxProjects: Int
}

extension Serve {
    func readSettings(_ settings: RuntimeSettings) throws -> ServeSettings {
        let level = try settings.logLevel(logLevel)
        let format = try settings.logFormat(logFormat)
        try Telemetry.check(settings.environment)
        let host = settings.value(self.host, "JIRA_BRIDGE_HOST") ?? "127.0.0.1"
        let port = try settings.port(self.port)
        let allowLocal = try settings.bool(allowLocalRequests, "JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS")
        let pipeline = try settings.pipeline()
        let retentionDays = try settings.retentionDays(self.retentionDays)
        let proxies = try settings.networks(trustedProxies, "JIRA_BRIDGE_TRUSTED_PROXIES", what: "trusted proxy")
        let allowlist = try settings.networks(outboundAllowlist, "JIRA_BRIDGE_OUTBOUND_ALLOWLIST", what: "outbound allowlist entry")
        if let dir = settings.environment["JIRA_BRIDGE_WEB_DIR"], !dir.isEmpty,
            let problem = WebResources.problem(environment: settings.environment)
        {
            throw StartupError(description: problem)
        }
        let publicURL = settings.value(self.publicURL, "JIRA_BRIDGE_PUBLIC_URL")
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) {
            throw StartupError(description: "invalid public URL '\(publicURL)': expected an absolute http(s) URL")
        }
        let atlassian = settings.value(self.atlassianAPIURL, "JIRA_BRIDGE_ATLASSIAN_API_URL") ?? ServerConfiguration.defaultAtlassianAPIURL
        guard JiraURL(atlassian) != nil, atlassian.hasPrefix("http://") || atlassian.hasPrefix("https://") else {
            throw StartupError(description: "invalid Atlassian API URL '\(atlassian)': expected an absolute http(s) URL")
        }
        return ServeSettings(
            level: level, host: host, port: port, allowLocal: allowLocal, pipeline: pipeline, retentionDays: retentionDays, proxies: proxies,
            allowlist: allowlist, publicURL: publicURL, atlassian: atlassian, format: format, connections: try settings.connections(),
            shutdownTimeout: .milliseconds(
                Int64(try settings.number("JIRA_BRIDGE_SHUTDOWN_TIMEOUT_SECONDS", default: 30, minimum: 0.1, maximum: 3600) * 1000)),
            maxProjects: try settings.integer("JIRA_BRIDGE_MAX_PROJECTS", default: ServerConfiguration.defaultMaxProjects, range: 1...100_000_000))
    }

    /// The server's configuration from what was read, the data directory and the secrets.
    func configuration(
        _ read: ServeSettings, _ settings: RuntimeSettings, dataDir: String, adminToken: String, secretKey: String
    ) -> ServerConfiguration {
        var config = ServerConfiguration(
            host: read.host, port: read.port, dataDirectory: dataDir, databaseURL: settings.value(data.databaseURL, "JIRA_BRIDGE_DATABASE_URL"),
            publicURL: read.publicURL, allowLocalRequests: read.allowLocal, adminToken: adminToken, secretKey: secretKey,
            webhookSecret: settings.value(nil, "JIRA_BRIDGE_WEBHOOK_SECRET"), logLevel: read.level, pipeline: read.pipeline)
        config.trustedProxies = read.proxies
        config.retention.days = read.retentionDays
        config.outboundAllowlist = read.allowlist
        config.atlassianAPIURL = JiraURL.normalize(read.atlassian)
        config.build = BuildVersion(version: BuildInfo.version, commit: BuildInfo.commit)
        config.connections = read.connections
        config.shutdownTimeout = read.shutdownTimeout
        config.maxProjects = read.maxProjects
        config.logFormat = read.format
        return config
    }

    /// What an operator should hear at start: links into Jira built on a wildcard address, and the outbound guard
    /// opened to local addresses.
    static func warnings(publicURL: String?, host: String, allowLocal: Bool) -> [String] {
        var out: [String] = []
        let wildcard = ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"].contains(host)
        if wildcard && (publicURL == nil || publicURL!.contains("://0.0.0.0") || publicURL!.contains("://[::]")) {
            out.append(
                "the links written into Jira would start with http://\(host.contains(":") ? "[::]" : host):PORT, which no browser can open: set --public-url (JIRA_BRIDGE_PUBLIC_URL) to the address users reach this server at"
            )
        }
        if allowLocal {
            out.append(
                "the outbound guard is off for local addresses (--allow-local-requests): Jira and forge URLs may point at loopback, private and link-local addresses, this machine's own services included; use it for tests or a Jira on the same network only"
            )
        }
        return out
    }

    /// The settings in effect, for the start's log line and `--check-config` (no secret: the database URL
    /// without its password, whether the secrets are set, not what they are).
    static func effective(_ c: ServerConfiguration, dataDir: String) -> [String: String] {
        let database: String
        switch try? DatabaseURL.parse(c.databaseURL) {
        case .sqlite(let path)?: database = "sqlite:" + path
        case .postgres(let settings)?: database = settings.description
        case nil: database = "sqlite:\(dataDir)/jira-bridge.sqlite"
        }
        return [
            "host": c.host, "port": "\(c.port)", "public_url": c.publicURL ?? "http://\(c.host):\(c.port)", "data_dir": dataDir,
            "database": database, "log_level": "\(c.logLevel)", "log_format": c.logFormat.rawValue, "worker_concurrency": "\(c.pipeline.concurrency)",
            "site_concurrency": "\(c.pipeline.perSiteLimit)",
            "retention_days": c.retention.days == c.retention.days.rounded() ? "\(Int(c.retention.days))" : "\(c.retention.days)",
            "allow_local_requests": "\(c.allowLocalRequests)", "outbound_allowlist": "\(c.outboundAllowlist.count) entries",
            "trusted_proxies": "\(c.trustedProxies.count) entries", "atlassian_api_url": c.atlassianAPIURL,
            "catch_up_on_start": "\(c.pipeline.catchUpOnStart)", "max_connections": "\(c.connections.maxConnections)",
            "webhook_secret_set": "\(!(c.webhookSecret ?? "").isEmpty)",
            "otlp_traces": Telemetry.describe(ProcessInfo.processInfo.environment),
        ]
    }

    /// `serve --check-config`: everything `serve` reads, checked; the address and the database tried; nothing
    /// created or changed.
    func check() async throws {
        let settings = RuntimeSettings()
        let read = try readSettings(settings)
        try ListenCheck.check(host: read.host, port: read.port)
        let dataDir = settings.value(data.dataDir, "JIRA_BRIDGE_DATA_DIR") ?? "./data"
        let databaseURL = settings.value(data.databaseURL, "JIRA_BRIDGE_DATABASE_URL") ?? "sqlite:\(dataDir)/jira-bridge.sqlite"
        let parsed: DatabaseURL
        do { parsed = try DatabaseURL.parse(databaseURL) } catch { throw StartupError(description: "\(error)") }
        var lines: [String] = []
        switch parsed {
        case .sqlite(let path):
            if FileManager.default.fileExists(atPath: path) {
                lines.append("database check: \(path) exists")
            } else {
                let directory = (path as NSString).deletingLastPathComponent
                let parent = directory.isEmpty ? "." : directory
                lines.append("database check: \(path) does not exist yet; serve creates it (in \(parent))")
            }
        case .postgres(let postgres):
            let database = try await settings.openDatabase(databaseURL: databaseURL)
            do {
                _ = try await database.whileRunning { try await database.read { db in try await Int.fetchOne(db, sql: "SELECT 1") } }
            } catch {
                await database.close()
                throw StartupError(description: "cannot reach \(postgres.description): \(error)", kind: .unavailable)
            }
            await database.close()
            lines.append("database check: \(postgres.description) answers")
        }
        if let key = settings.environment["JIRA_BRIDGE_SECRET_KEY"], !key.isEmpty, SecretBox(base64Key: key) == nil {
            throw StartupError(description: "JIRA_BRIDGE_SECRET_KEY must be the base64 text of 32 bytes")
        }
        let config = configuration(read, settings, dataDir: dataDir, adminToken: "", secretKey: "")
        print("configuration OK")
        for (name, value) in Self.effective(config, dataDir: dataDir).sorted(by: { $0.key < $1.key }) { print("\(name): \(value)") }
        for line in lines { print(line) }
        if let problem = WebResources.problem(environment: settings.environment) {
            print("warning: the pages are off (the API serves): " + problem)
        }
        for warning in Self.warnings(publicURL: read.publicURL, host: read.host, allowLocal: read.allowLocal) { print("warning: " + warning) }
    }
}
