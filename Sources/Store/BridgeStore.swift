import Integration

/// Everything jira-bridge keeps. SQLite is the first implementation; PostgreSQL follows and must pass
/// the same tests, so implementations keep to portable SQL.
public protocol BridgeStore: Sendable {
    /// Applies pending migrations. Safe to call on every start.
    func migrate() async throws
    /// Answers when the database does (readiness).
    func ping() async throws

    // MARK: Projects and groups
    /// Registers a project, creating its groups as needed; an existing id is updated in place.
    func registerProject(_ registration: ProjectRegistration) async throws -> Project
    func project(id: Int64) async throws -> Project?
    func project(path: String) async throws -> Project?
    func projects() async throws -> [Project]
    /// Creates a group and any missing parents; an existing path is returned unchanged (name updated).
    func ensureGroup(fullPath: String, name: String?) async throws -> Group
    func group(id: Int64) async throws -> Group?
    func group(path: String) async throws -> Group?
    func groups() async throws -> [Group]
    /// Sets (or, with nil, removes) the webhook secret of a project or group; stored encrypted.
    func setWebhookSecret(_ secret: String?, for owner: TokenScope) async throws
    func webhookSecret(for owner: TokenScope) async throws -> String?

    // MARK: Tokens
    /// Stores a token by the hash of its secret.
    func createToken(name: String, role: TokenRole, scope: TokenScope, expiresAt: Millis?, secretHash: String) async throws -> APIToken
    func token(secretHash: String) async throws -> APIToken?
    func tokens() async throws -> [APIToken]
    func deleteToken(id: Int64) async throws -> Bool

    // MARK: Integrations
    func integration(at level: IntegrationLevel) async throws -> IntegrationRecord?
    func integration(id: Int64) async throws -> IntegrationRecord?
    /// Creates or replaces the integration at `level`.
    func saveIntegration(at level: IntegrationLevel, settings: JiraSettings, inheritFromID: Int64?) async throws -> IntegrationRecord
    /// Removes the integration at `level`; true if there was one.
    func deleteIntegration(at level: IntegrationLevel) async throws -> Bool
}
