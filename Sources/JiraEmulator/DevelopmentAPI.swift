import Foundation
import Hummingbird

/// Atlassian's API gateway for on-premises tools, as a Jira Cloud site's OAuth credentials for self-hosted tools
/// reach it (`../shared/reference/SOURCES.md`): `POST /oauth/token` (client credentials), then with
/// `Authorization: Bearer` Jira Software's development information under
/// `/jira/devinfo/0.1/cloud/{cloudId}/...` (the operations of `/rest/devinfo/0.10/...`).
///
/// Its semantics are Atlassian's: an entity is replaced only by one with a greater `updateSequenceId`;
/// keys of no issue come back in `unknownIssueKeys`; more than 100 repositories, 400 entities of a type in a
/// repository or 1,000 in all are refused (413, "Data is too large"); a malformed request is a 400 with
/// `errorMessages`; an unknown or expired token is a 401; credentials without the Development information
/// permission get a 403.
public actor EmulatedDevelopment {
    public struct Client: Sendable {
        public var id: String
        public var secret: String
        public var permissions: Set<String>
    }

    /// One stored entity: its sequence number and the JSON it was sent as.
    struct Stored: Sendable {
        var sequence: Int64
        var json: [String: SendableJSON]
        var issueKeys: [String]
    }

    struct Repository: Sendable {
        var id: String
        var name: String
        var url: String
        var entities: [String: [String: Stored]] = ["commits": [:], "branches": [:], "pullRequests": [:]]
    }

    public static let defaultClientID = "jira-bridge-client"
    public static let defaultClientSecret = "oauth-client-secret"
    public static let allPermissions: Set<String> = ["development_information", "builds", "deployments"]

    private var clients: [String: Client] = EmulatedDevelopment.defaultClients
    private var tokens: [String: (client: String, expires: Date)] = [:]
    /// Seconds a token lives (`expires_in`).
    public var tokenLifetime = 3_600
    private var repositories: [String: Repository] = [:]
    /// Builds by `pipelineId#buildNumber`, deployments by `pipelineId/environmentId#deploymentSequenceNumber`.
    private var cloudData: [String: [String: Stored]] = ["builds": [:], "deployments": [:]]
    /// Tokens issued, in all (what a cache keeps low).
    public private(set) var tokensIssued = 0

    static let defaultClients = [
        defaultClientID: Client(id: defaultClientID, secret: defaultClientSecret, permissions: allPermissions)
    ]

    public init() {}

    public func reset() {
        clients = Self.defaultClients
        tokens = [:]
        tokenLifetime = 3_600
        repositories = [:]
        cloudData = ["builds": [:], "deployments": [:]]
        tokensIssued = 0
    }

    /// Adds or replaces OAuth credentials (the old tokens of a replaced client stop working).
    public func setClient(_ client: Client) {
        clients[client.id] = client
        tokens = tokens.filter { $0.value.client != client.id }
    }

    public func setTokenLifetime(_ seconds: Int) { tokenLifetime = max(1, seconds) }

    /// Ends every token now (as their expiry would).
    public func expireTokens() { tokens = [:] }

    // MARK: The token

    func token(_ body: Data) -> Response {
        guard let doc = object(body), let grant = doc["grant_type"] as? String else {
            return json(400, ["error": "invalid_request", "error_description": "grant_type is required"])
        }
        guard grant == "client_credentials" else {
            return json(400, ["error": "unsupported_grant_type", "error_description": "Unsupported grant type: \(grant)"])
        }
        guard let id = doc["client_id"] as? String, let secret = doc["client_secret"] as? String, let client = clients[id], client.secret == secret
        else {
            return json(401, ["error": "access_denied", "error_description": "Unauthorized"])
        }
        guard doc["audience"] as? String == "api.atlassian.com" else {
            return json(403, ["error": "access_denied", "error_description": "Service not found for audience"])
        }
        let token = "at-" + UUID().uuidString
        tokens[token] = (client.id, Date().addingTimeInterval(Double(tokenLifetime)))
        tokensIssued += 1
        return json(200, ["access_token": token, "expires_in": tokenLifetime, "token_type": "Bearer", "scope": "manage:jira-data-provider"])
    }

    func client(_ authorization: String?) -> Client? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let token = String(authorization.dropFirst("Bearer ".count))
        guard let entry = tokens[token], entry.expires > Date() else { return nil }
        return clients[entry.client]
    }

    // MARK: Development information

    static let entityTypes = ["commits", "branches", "pullRequests"]

    func bulk(_ body: Data, client: Client, knownKeys: Set<String>) -> Response {
        guard client.permissions.contains("development_information") else { return forbidden() }
        guard let doc = object(body) else { return errors(400, "The request body is not a JSON object.") }
        guard let repos = doc["repositories"] as? [[String: Any]], !repos.isEmpty else {
            return errors(400, "No repositories or development information entities were provided.")
        }
        if repos.count > 100 { return errors(413, "Data is too large. Submit fewer devinfo entities in each payload.") }
        var total = 0
        var ids = Set<String>()
        for repo in repos {
            guard let id = repo["id"] as? String, !id.isEmpty, repo["name"] is String, repo["url"] is String,
                repo["updateSequenceId"] is NSNumber
            else { return errors(400, "A repository needs id, name, url and updateSequenceId.") }
            guard ids.insert(id).inserted else { return errors(400, "Repository \(id) is listed twice.") }
            for type in Self.entityTypes {
                let count = (repo[type] as? [Any])?.count ?? 0
                if count > 400 { return errors(413, "Data is too large. Submit fewer devinfo entities in each payload.") }
                total += count
            }
        }
        if total > 1_000 { return errors(413, "Data is too large. Submit fewer devinfo entities in each payload.") }
        var accepted: [String: [String: [String]]] = [:]
        var unknown = Set<String>()
        for repo in repos {
            let id = repo["id"] as! String
            var stored = repositories[id] ?? Repository(id: id, name: "", url: "")
            stored.name = repo["name"] as! String
            stored.url = repo["url"] as! String
            var acceptedHere: [String: [String]] = [:]
            for type in Self.entityTypes {
                for entity in repo[type] as? [[String: Any]] ?? [] {
                    guard let entityID = entity["id"] as? String, let sequence = (entity["updateSequenceId"] as? NSNumber)?.int64Value else {
                        return errors(400, "An entity of \(id) needs id and updateSequenceId.")
                    }
                    let keys = entity["issueKeys"] as? [String] ?? []
                    for key in keys where !knownKeys.contains(key) { unknown.insert(key) }
                    acceptedHere[type, default: []].append(entityID)
                    // Out of order (not greater): accepted, not stored, as Atlassian does.
                    if let old = stored.entities[type]?[entityID], old.sequence >= sequence { continue }
                    stored.entities[type, default: [:]][entityID] = Stored(
                        sequence: sequence, json: entity.mapValues { SendableJSON($0) }, issueKeys: keys)
                }
            }
            repositories[id] = stored
            accepted[id] = acceptedHere
        }
        return json(
            202,
            [
                "acceptedDevinfoEntities": accepted, "failedDevinfoEntities": [String: Any](),
                "unknownIssueKeys": unknown.sorted(),
            ] as [String: Any])
    }

    func delete(repository: String, type: String, id: String, client: Client) -> Response {
        guard client.permissions.contains("development_information") else { return forbidden() }
        let field: String
        switch type {
        case "commit": field = "commits"
        case "branch": field = "branches"
        case "pull_request": field = "pullRequests"
        default: return errors(400, "Wrong entity type specified")
        }
        repositories[repository]?.entities[field]?[id] = nil
        return Response(status: .accepted)
    }

    // MARK: Builds and deployments

    static let required: [String: [String]] = [
        "builds": ["pipelineId", "buildNumber", "displayName", "url", "state", "lastUpdated", "updateSequenceNumber"],
        "deployments": [
            "deploymentSequenceNumber", "updateSequenceNumber", "displayName", "url", "description", "lastUpdated", "state", "pipeline",
            "environment",
        ],
    ]

    /// `submitBuilds` or `submitDeployments` (`api`): each item replaces the stored one only with a greater
    /// `updateSequenceNumber`; an item without a field the schema requires, or whose keys Jira all does not know,
    /// is rejected with a message (202); keys Jira does not know come back in `unknownIssueKeys`.
    func submit(api: String, _ body: Data, client: Client, knownKeys: Set<String>) -> Response {
        let permission = api == "builds" ? "builds" : "deployments"
        guard client.permissions.contains(permission) else {
            return errors(403, "the OAuth credentials lack the \(api == "builds" ? "Builds" : "Deployments") permission")
        }
        guard let doc = object(body) else { return errors(400, "The request body is not a JSON object.") }
        guard let items = doc[api] as? [[String: Any]], !items.isEmpty else { return errors(400, "No \(api) were provided.") }
        if items.count > 100 { return errors(400, "At most 100 \(api) may be submitted in one request.") }
        let singular = api == "builds" ? "build" : "deployment"
        var accepted: [[String: Any]] = []
        var rejected: [[String: Any]] = []
        var unknown = Set<String>()
        for item in items {
            let identity = Self.identity(api, item)
            let missing = (Self.required[api] ?? []).filter { item[$0] == nil }
            let keys = item["issueKeys"] as? [String] ?? []
            let known = keys.filter { knownKeys.contains($0) }
            for key in keys where !knownKeys.contains(key) { unknown.insert(key) }
            if !missing.isEmpty || keys.isEmpty || known.isEmpty {
                let message =
                    !missing.isEmpty
                    ? "The \(singular) is missing \(missing.joined(separator: ", "))."
                    : "The \(singular) is associated with no issue that exists: \(keys.joined(separator: ", "))."
                rejected.append(["key": identity.key, "errors": [["message": message]]])
                continue
            }
            accepted.append(identity.key)
            guard let sequence = (item["updateSequenceNumber"] as? NSNumber)?.int64Value else { continue }
            // Out of order (not greater): accepted, not stored, as Atlassian does.
            if let old = cloudData[api]?[identity.id], old.sequence >= sequence { continue }
            cloudData[api, default: [:]][identity.id] = Stored(sequence: sequence, json: item.mapValues { SendableJSON($0) }, issueKeys: keys)
        }
        let acceptedName = api == "builds" ? "acceptedBuilds" : "acceptedDeployments"
        let rejectedName = api == "builds" ? "rejectedBuilds" : "rejectedDeployments"
        return json(202, [acceptedName: accepted, rejectedName: rejected, "unknownIssueKeys": unknown.sorted()] as [String: Any])
    }

    /// An item's key as the answer names it, and the id it is stored under.
    static func identity(_ api: String, _ item: [String: Any]) -> (key: [String: Any], id: String) {
        let pipelineID = (api == "builds" ? item["pipelineId"] : (item["pipeline"] as? [String: Any])?["id"]) as? String ?? ""
        if api == "builds" {
            let number = (item["buildNumber"] as? NSNumber)?.int64Value ?? 0
            return (["pipelineId": pipelineID, "buildNumber": number], "\(pipelineID)#\(number)")
        }
        let environment = (item["environment"] as? [String: Any])?["id"] as? String ?? ""
        let number = (item["deploymentSequenceNumber"] as? NSNumber)?.int64Value ?? 0
        return (
            ["pipelineId": pipelineID, "environmentId": environment, "deploymentSequenceNumber": number], "\(pipelineID)/\(environment)#\(number)"
        )
    }

    /// The builds or deployments (`api`) that name `key`, as stored, for the tests.
    func stored(_ api: String, issue key: String) -> [SendableJSON] {
        (cloudData[api] ?? [:]).sorted { $0.key < $1.key }.filter { $0.value.issueKeys.contains(key) }.map {
            SendableJSON($0.value.json.mapValues(\.value))
        }
    }

    /// What the Development panel of `key` shows: the entities that name it, by type, for the tests.
    func panel(issue key: String) -> [String: [SendableJSON]] {
        var out: [String: [SendableJSON]] = [:]
        for repo in repositories.values.sorted(by: { $0.id < $1.id }) {
            for type in Self.entityTypes {
                for (_, entity) in (repo.entities[type] ?? [:]).sorted(by: { $0.key < $1.key }) where entity.issueKeys.contains(key) {
                    var doc = entity.json.mapValues(\.value)
                    doc["repositoryId"] = repo.id
                    out[type, default: []].append(SendableJSON(doc))
                }
            }
        }
        return out
    }

    private func forbidden() -> Response {
        errors(403, "the OAuth credentials lack the Development information permission")
    }

    private func errors(_ status: Int, _ message: String) -> Response {
        json(status, ["errorMessages": [["message": message, "errorTraceId": UUID().uuidString]]])
    }
}

/// A value read by `JSONSerialization`, carried across the actor.
struct SendableJSON: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
