import Integration
import Logging

/// Everything `jira-bridge serve` needs, resolved from flags, environment and defaults.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// `sqlite:PATH` or `postgres://...`.
    public var databaseURL: String
    /// The base of links jira-bridge writes into Jira and its pages.
    public var publicURL: String
    /// Atlassian's API gateway (`--atlassian-api-url`): the OAuth token call, and Jira Cloud's development
    /// information, builds and deployments under `/jira/.../cloud/{cloudId}`.
    public var atlassianAPIURL: String = ServerConfiguration.defaultAtlassianAPIURL
    public static let defaultAtlassianAPIURL = "https://api.atlassian.com"
    public var allowLocalRequests: Bool
    /// The instance admin token, compared in constant time (never stored in the database).
    public var adminToken: String
    /// Base64 of the 32-byte key that encrypts stored credentials.
    public var secretKey: String
    /// The instance-wide webhook secret, if any.
    public var webhookSecret: String?
    /// Local addresses Jira may be on although local requests are refused (`--outbound-allowlist`).
    public var outboundAllowlist: [IPNetwork] = []
    /// Reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`).
    public var trustedProxies: [IPNetwork] = []
    public var logLevel: Logger.Level
    /// How log lines are written (`--log-format`).
    public var logFormat: LogFormat = .text
    /// Retries, concurrency and leases of the event pipeline.
    public var pipeline: PipelineConfiguration
    /// How long finished work is kept (`--retention-days`).
    public var retention = RetentionConfiguration()
    /// Header and body deadlines and the connection cap (`docs/security.md`).
    public var connections = ConnectionLimits()
    /// The most projects webhooks may register (`JIRA_BRIDGE_MAX_PROJECTS`); an admin may register more.
    public var maxProjects = ServerConfiguration.defaultMaxProjects
    public static let defaultMaxProjects = 10_000
    /// How long a stop (SIGTERM) waits for answers and deliveries in flight (`JIRA_BRIDGE_SHUTDOWN_TIMEOUT_SECONDS`).
    public var shutdownTimeout: Duration = .seconds(30)
    /// The version and git commit of the binary (`jira-bridge --version`), shown by `/-/health` and `/metrics`.
    public var build = BuildVersion(version: "unknown", commit: "unknown")

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String = "./data", databaseURL: String? = nil,
        publicURL: String? = nil, allowLocalRequests: Bool = false, adminToken: String, secretKey: String,
        webhookSecret: String? = nil, logLevel: Logger.Level = .info, pipeline: PipelineConfiguration = PipelineConfiguration()
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL ?? "sqlite:\(dataDirectory)/jira-bridge.sqlite"
        self.publicURL = publicURL ?? "http://\(host):\(port)"
        self.allowLocalRequests = allowLocalRequests
        self.adminToken = adminToken
        self.secretKey = secretKey
        self.webhookSecret = webhookSecret
        self.logLevel = logLevel
        self.pipeline = pipeline
    }
}

/// A binary's version (VERSION in the repository) and the git commit it was built from.
public struct BuildVersion: Sendable, Equatable {
    public var version: String
    public var commit: String

    public init(version: String, commit: String) {
        self.version = version
        self.commit = commit
    }

    /// `0.16.0 (commit 1a2b3c4d5e6f)`.
    public var description: String { "\(version) (commit \(commit))" }
}
