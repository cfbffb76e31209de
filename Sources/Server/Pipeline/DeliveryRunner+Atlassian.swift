import Foundation
import Integration
import JiraClient
import Logging
import Store

/// Deliveries to Atlassian's gateway with the integration's OAuth credentials: the Development panel's
/// development information, Builds and Deployments. Each run takes along the same repository's deliveries of
/// its kind that wait behind it, so a burst costs a few requests.
extension DeliveryRunner {
    /// How many deliveries waiting behind this one a run takes with it, at most.
    static let waitingTaken = 50

    /// A token and the site's cloud id, for one run.
    struct GatewaySession {
        var token: String
        var cloudID: String
        var clientID: String
        var secret: String
    }

    enum Gate {
        case open(GatewaySession)
        /// The delivery ends here (Data Center, turned off, no credentials).
        case closed(Result)
    }

    /// The session for `d`, or why it ends without one. `part` names what is sent (`development information`,
    /// `builds`, `deployments`); `enabled` is whether the integration sends it.
    func gatewaySession(_ settings: JiraSettings, part: String, enabled: Bool, _ log: Logger) async throws(JiraError) -> Gate {
        if settings.deploymentType == .server {
            return .closed(
                Result(
                    outcome: .skipped(
                        reason: "Jira Server and Data Center have no \(part) API; the comment and the remote link carry the reference")))
        }
        guard enabled else { return .closed(Result(outcome: .skipped(reason: "Sending \(part) to Jira is turned off."))) }
        guard let clientID = settings.oauthClientID, let secret = settings.oauthClientSecret, !clientID.isEmpty, !secret.isEmpty else {
            return .closed(Result(outcome: .failed(error: "No OAuth credentials are saved for the Development panel, Builds and Deployments.")))
        }
        let token: String
        do {
            token = try await tokens.token(clientID: clientID, secret: secret, logger: log)
        } catch {
            // The token endpoint refusing the credentials is a 401 of these credentials: they are held.
            if case .http(let status) = error.kind, [400, 401, 403].contains(status) {
                throw JiraError(kind: .http(status: 401), detail: "Atlassian refused the OAuth credentials", jiraMessages: error.jiraMessages)
            }
            throw error
        }
        let cloudID = try await tokens.cloudID(settings, logger: log)
        return .open(GatewaySession(token: token, cloudID: cloudID, clientID: clientID, secret: secret))
    }

    /// How a batch of waiting deliveries is built into one request.
    struct Batching<Batch> {
        /// The item a waiting delivery carries, nil when it cannot go along (a branch deletion).
        var item: (DeliveryWork) -> JSONValue?
        var start: (JSONValue) -> Batch
        /// The batch with one more item, nil when it would pass Atlassian's limits.
        var add: (Batch, JSONValue) -> Batch?
        var body: (Batch) -> JSONValue
    }

    /// Sends `own` with the deliveries of `d`'s repository and action waiting behind it, within the limits of
    /// `batching`; on a 413 half of those taken go back to wait and the rest is sent again. Returns Atlassian's
    /// answer and the deliveries taken along, which the caller ends. A failure ends those taken along as retries
    /// and is thrown (a 403 names the missing `permission`).
    func sendWithWaiting<Batch>(
        _ d: Delivery, own: JSONValue, session: GatewaySession, batching: Batching<Batch>, permission: String, owner: String,
        now: @Sendable () -> Millis, _ log: Logger, send: (JSONValue) async throws(JiraError) -> JSONValue
    ) async throws(JiraError) -> (answer: JSONValue, taken: [(delivery: Delivery, item: JSONValue)]) {
        var taken: [(delivery: Delivery, item: JSONValue)] = []
        var returned: [Int64] = []
        var batch = batching.start(own)
        if let waiting = try? await store.claimWaiting(
            site: d.site, issueKey: d.issueKey, action: d.action, owner: owner, limit: Self.waitingTaken, leaseMillis: 300_000, now: now())
        {
            for other in waiting {
                guard returned.isEmpty, let item = batching.item(other.work), let bigger = batching.add(batch, item) else {
                    returned.append(other.id)
                    continue
                }
                batch = bigger
                taken.append((other, item))
            }
        }
        if !returned.isEmpty { try? await store.unclaim(ids: returned, owner: owner) }
        while true {
            do {
                return (try await send(batching.body(batch)), taken)
            } catch {
                if error.status == 413 && !taken.isEmpty {
                    // Too large for Atlassian (its limit on bytes is not published): half of those taken along go
                    // back to wait, and the rest is sent again.
                    let keep = taken.count / 2
                    try? await store.unclaim(ids: taken[keep...].map(\.delivery.id), owner: owner)
                    taken.removeLast(taken.count - keep)
                    batch = taken.reduce(batching.start(own)) { batching.add($0, $1.item) ?? $0 }
                    log.notice("too large for one request; sending less", metadata: ["taken": "\(keep)"])
                    continue
                }
                await finish(taken.map(\.delivery), .retry(at: now(), error: "sent with delivery \(d.id), which failed"), owner: owner, now: now)
                throw await gatewayFailure(error, session: session, permission: permission)
            }
        }
    }

    /// A failure of the gateway, as a delivery ends with it: a 401 forgets the token (the next run asks for a new
    /// one), a 403 names the permission the OAuth credentials lack.
    func gatewayFailure(_ error: JiraError, session: GatewaySession, permission: String) async -> JiraError {
        if error.status == 401 { await tokens.forget(clientID: session.clientID, secret: session.secret) }
        guard error.status == 403 else { return error }
        return JiraError(
            kind: .http(status: 403), detail: "the OAuth credentials lack the \(permission) permission", jiraMessages: error.jiraMessages)
    }

    /// Sends the repository's change, with the same repository's changes that wait behind it (one request for a
    /// burst of pushes), within Atlassian's limits; a branch deletion is its own request. Those taken along end
    /// with this one's outcome.
    func developmentInfo(
        _ d: Delivery, work: DevelopmentInfoWork, settings: JiraSettings, owner: String, now: @Sendable () -> Millis, _ log: Logger
    ) async throws(JiraError) -> Result {
        let session: GatewaySession
        switch try await gatewaySession(settings, part: "development information", enabled: settings.developmentPanelEnabled, log) {
        case .closed(let result): return result
        case .open(let s): session = s
        }
        if let branch = work.deletedBranch {
            try await jira.deleteDevelopmentEntity(
                gateway: tokens.gateway, cloudID: session.cloudID, token: session.token, repositoryID: work.repositoryID, entityType: "branch",
                entityID: branch, logger: log)
            return Result(outcome: .accepted(note: "Jira deleted branch \(branch) of \(work.repositoryID)"))
        }
        guard let text = work.repository, let own = try? JSONValue.parse(text), own.object != nil else {
            return Result(outcome: .failed(error: "The stored development information is not readable."))
        }
        let batching = Batching<JSONValue>(
            item: { other in
                guard case .developmentInfo(let w) = other, w.deletedBranch == nil, let t = w.repository else { return nil }
                return try? JSONValue.parse(t)
            },
            start: { $0 }, add: { DevelopmentInfo.merge($0, $1) },
            body: { .object(["repositories": .array([$0]), "preventTransitions": .bool(true)]) })
        let (answer, taken) = try await sendWithWaiting(
            d, own: own, session: session, batching: batching, permission: "Development information", owner: owner, now: now, log
        ) { body throws(JiraError) in
            try await jira.storeDevelopmentInformation(
                gateway: tokens.gateway, cloudID: session.cloudID, token: session.token, body: body, logger: log)
        }
        let sentRepository = taken.reduce(own) { DevelopmentInfo.merge($0, $1.item) ?? $0 }
        let unknown = (answer["unknownIssueKeys"]?.array ?? []).compactMap(\.string)
        let failed = DevelopmentInfo.failures(answer)
        // The answer, for the delivery log: what was sent, and what Jira said of it.
        let sent = DevelopmentInfoWork.summary(DevelopmentInfoWork.entities(repositoryID: work.repositoryID, repository: sentRepository))
        let note =
            (failed.isEmpty ? "Jira accepted " : "Jira answered for ") + sent + Self.along(taken.count, work.repositoryID)
            + Self.unknownKeys(unknown) + (failed.isEmpty ? "" : "; Jira refused: \(failed.prefix(10).joined(separator: "; "))")
        log.info("development information sent", metadata: ["taken": "\(taken.count)", "unknown_keys": "\(unknown.count)"])
        // Those taken along share the outcome: Atlassian's refusals name entities, not deliveries.
        let shared = "sent with delivery \(d.id): " + note
        await finish(taken.map(\.delivery), failed.isEmpty ? .accepted(note: shared) : .failed(error: shared), owner: owner, now: now)
        return Result(outcome: failed.isEmpty ? .accepted(note: note) : .failed(error: note))
    }

    /// Sends a build or a deployment, with the same repository's that wait behind it (up to 100 in one
    /// request). One that Jira rejects (all its keys unknown, or malformed) fails with Atlassian's message and is
    /// not retried; the others succeed.
    func cloudData(
        _ d: Delivery, work: CloudDataWork, settings: JiraSettings, owner: String, now: @Sendable () -> Millis, _ log: Logger
    ) async throws(JiraError) -> Result {
        let kind = work.kind
        let enabled = kind == .builds ? settings.buildsEnabled : settings.deploymentsEnabled
        let session: GatewaySession
        switch try await gatewaySession(settings, part: kind.rawValue, enabled: enabled, log) {
        case .closed(let result): return result
        case .open(let s): session = s
        }
        guard let own = try? JSONValue.parse(work.item), own.object != nil else {
            return Result(outcome: .failed(error: "The stored \(kind.rawValue) data is not readable."))
        }
        let batching = Batching<[JSONValue]>(
            item: { other in
                guard case .cloudData(let w) = other, w.kind == kind else { return nil }
                return try? JSONValue.parse(w.item)
            },
            start: { [$0] }, add: { $0.count < BuildsAndDeployments.Limits.perRequest ? $0 + [$1] : nil },
            body: { BuildsAndDeployments.body(kind, $0) ?? .object([:]) })
        let (answer, taken) = try await sendWithWaiting(
            d, own: own, session: session, batching: batching, permission: kind.permission, owner: owner, now: now, log
        ) { body throws(JiraError) in
            try await jira.submitBuildsOrDeployments(
                api: kind.rawValue, gateway: tokens.gateway, cloudID: session.cloudID, token: session.token, body: body, logger: log)
        }
        let rejected = BuildsAndDeployments.rejections(kind, answer)
        let unknown = Self.unknownKeys((answer["unknownIssueKeys"]?.array ?? []).compactMap(\.string))
        func outcome(_ item: JSONValue, along: String) -> DeliveryOutcome {
            let what = BuildsAndDeployments.summary(kind, item)
            if let why = rejected[BuildsAndDeployments.key(kind, item)] { return .failed(error: along + "Jira rejected \(what): \(why)") }
            return .accepted(note: along + "Jira accepted \(what)" + unknown)
        }
        log.info("\(kind.rawValue) sent", metadata: ["taken": "\(taken.count)", "rejected": "\(rejected.count)"])
        for other in taken {
            try? await store.completeDelivery(
                id: other.delivery.id, owner: owner, outcome: outcome(other.item, along: "sent with delivery \(d.id): "), followUps: [],
                effects: .none, now: now())
        }
        switch outcome(own, along: "") {
        case .accepted(let note): return Result(outcome: .accepted(note: note + Self.along(taken.count, work.repositoryID)))
        case let other: return Result(outcome: other)
        }
    }

    static func along(_ count: Int, _ repositoryID: String) -> String {
        count == 0 ? "" : ", with \(count) waiting change(s) of \(repositoryID) in one request"
    }

    static func unknownKeys(_ keys: [String]) -> String {
        keys.isEmpty ? "" : "; Jira knows no issue \(keys.prefix(20).joined(separator: ", "))"
    }

    /// Ends deliveries taken along with another: they share its outcome.
    func finish(_ deliveries: [Delivery], _ outcome: DeliveryOutcome, owner: String, now: @Sendable () -> Millis) async {
        for other in deliveries {
            try? await store.completeDelivery(id: other.id, owner: owner, outcome: outcome, followUps: [], effects: .none, now: now())
        }
    }
}
