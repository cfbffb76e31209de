import Integration
import JiraClient
import Logging

/// Client-credentials tokens for Jira's OAuth credentials for self-hosted tools, from Atlassian's gateway
/// (`--atlassian-api-url`), and the cloud ids of the sites they write to.
///
/// One token per credentials is kept until a minute before it expires; deliveries that need it while it is
/// being fetched wait for that one fetch. A token the gateway refused (401 on a call) is forgotten, so the next
/// delivery fetches a new one. Times are the store's clock, so tests move them.
actor AtlassianTokens {
    let jira: JiraHTTPClient
    let gateway: JiraURL
    let clock: WallClock
    /// A token is renewed this long before it expires.
    static let refreshMargin: Millis = 60_000
    /// The most credentials and sites remembered (a process serves a bounded number of integrations).
    static let capacity = 10_000

    private struct Token {
        var value: String
        var expiresAt: Millis
    }

    private var tokens: [String: Token] = [:]
    private var fetching: [String: Task<Token, any Error>] = [:]
    private var cloudIDs: [String: String] = [:]

    init(jira: JiraHTTPClient, gateway: JiraURL, clock: WallClock) {
        self.jira = jira
        self.gateway = gateway
        self.clock = clock
    }

    /// The cache's key: the client id and a digest of the secret (the secret itself is not kept twice).
    private static func key(_ clientID: String, _ secret: String) -> String {
        clientID + "\u{0}" + StableHash.hex(secret)
    }

    func token(clientID: String, secret: String, logger: Logger) async throws(JiraError) -> String {
        let key = Self.key(clientID, secret)
        if let token = tokens[key], clock.now() < token.expiresAt - Self.refreshMargin { return token.value }
        let task: Task<Token, any Error>
        if let running = fetching[key] {
            task = running
        } else {
            let (jira, gateway, clock) = (jira, gateway, clock)
            task = Task {
                let (value, seconds) = try await jira.oauthToken(gateway: gateway, clientID: clientID, clientSecret: secret, logger: logger)
                return Token(value: value, expiresAt: clock.now() + Millis(seconds) * 1_000)
            }
            fetching[key] = task
        }
        do {
            let token = try await task.value
            fetching[key] = nil
            if tokens.count >= Self.capacity { tokens.removeAll() }
            tokens[key] = token
            return token.value
        } catch {
            fetching[key] = nil
            throw (error as? JiraError) ?? JiraError(kind: .connectionFailed, detail: "the token could not be fetched")
        }
    }

    /// The gateway refused this token: the next call fetches another.
    func forget(clientID: String, secret: String) {
        tokens[Self.key(clientID, secret)] = nil
    }

    /// The site's cloud id: the one in `api_url` (`.../ex/jira/{cloudId}`), else `GET {url}/_edge/tenant_info`,
    /// remembered per site.
    func cloudID(_ settings: JiraSettings, logger: Logger) async throws(JiraError) -> String {
        if let id = CloudID.from(apiURL: settings.apiURL) { return id }
        guard let text = settings.url, let site = JiraURL(text) else {
            throw JiraError(kind: .invalidURL, detail: "The Jira URL is missing or not an absolute http(s) URL")
        }
        if let id = cloudIDs[site.origin + site.contextPath] { return id }
        let id = try await jira.cloudID(site: site, logger: logger)
        if cloudIDs.count >= Self.capacity { cloudIDs.removeAll() }
        cloudIDs[site.origin + site.contextPath] = id
        return id
    }
}
