import Foundation
import Integration
import JiraClient
import Logging
import Store

/// Runs one delivery against Jira: the reads that make it safe to repeat, then at most one write
/// (several for a list of transitions).
struct DeliveryRunner: Sendable {
    let store: any QueueStore & HoldStore & IntegrationStore
    let jira: JiraHTTPClient
    let policy: RetryPolicy
    let metrics: BridgeMetrics
    /// Tokens for Jira Cloud's development information (OAuth credentials).
    let tokens: AtlassianTokens

    struct Result {
        var outcome: DeliveryOutcome
        var followUps: [PlannedDelivery] = []
        /// What the outcome changes beyond the delivery (holds), written with it.
        var effects: DeliveryEffects = .none
        /// Jira answered 429: the site's adaptive limit is cut.
        var rateLimited = false
    }

    func run(_ d: Delivery, owner: String, now: @Sendable () -> Millis, logger: Logger) async -> Result {
        var log = logger
        log[metadataKey: "delivery_id"] = "\(d.id)"
        log[metadataKey: "issue_key"] = "\(d.issueKey)"
        log[metadataKey: "action"] = "\(d.action.rawValue)"
        log[metadataKey: "jira_site"] = "\(d.site)"
        let settings: JiraSettings
        let credentials: CredentialsKey
        let otherHolds: Bool
        do {
            guard let (record, holds) = try await store.integrationWithHolds(projectID: d.projectID), record.settings.active else {
                return Result(outcome: .failed(error: "The project's Jira integration is not active."))
            }
            settings = record.settings
            credentials = d.action == .developmentInfo ? store.oauthCredentialsKey(record) : store.credentialsKey(record)
            // Jira rejected these credentials already: wait with the others, without asking again.
            if let hold = holds.first(where: { $0.key == credentials.key }) {
                metrics.delivery(site: d.site, action: d.action.rawValue, outcome: "paused")
                let why =
                    (hold.error ?? "").contains("control character")
                    ? "the saved credentials contain a line break or another control character (found at \(isoTimestamp(hold.since)))"
                    : d.action == .developmentInfo
                        ? "Atlassian refused the Development panel's OAuth credentials at \(isoTimestamp(hold.since))"
                        : "Jira rejected these credentials at \(isoTimestamp(hold.since))"
                return Result(
                    outcome: .paused(error: "Not sent: \(why); the delivery waits for new credentials or a Test settings that succeeds."),
                    effects: DeliveryEffects(credentialsRejected: hold))
            }
            otherHolds = !holds.isEmpty
        } catch {
            return Result(outcome: .retry(at: now() + 5_000, error: "the store could not be read: \(error)"))
        }
        do {
            let connection = try JiraConnection(settings: settings)
            var result: Result
            switch d.work {
            case .comment(let body): result = try await comment(d, body: body, connection, log)
            case .remoteLink(let spec): result = try await remoteLink(d, spec: spec, connection, log)
            case .transition(let spec): result = try await transition(d, spec: spec, owner: owner, connection, now: now, log)
            case .developmentInfo(let work): result = try await developmentInfo(d, work: work, settings: settings, owner: owner, now: now, log)
            }
            // Jira took credentials of this integration: a rejection of older ones (replaced since) is over.
            if otherHolds { result.effects.credentialsAccepted = credentials.integrationID }
            log.info("Jira delivery done", metadata: ["outcome": "\(result.outcome)"])
            metrics.delivery(site: d.site, action: d.action.rawValue, outcome: result.outcome.name)
            return result
        } catch {
            var result = await failed(d, error, credentials: credentials, now: now)
            log.warning("Jira delivery failed", metadata: ["error": "\(result.outcome.error ?? "")", "attempt": "\(d.attempts)"])
            metrics.delivery(site: d.site, action: d.action.rawValue, outcome: result.outcome.name)
            result.rateLimited = error.status == 429
            return result
        }
    }

    /// How a failed attempt ends (`DeliveryDecisions.failure`), with the hold it leaves: a 401 pauses the
    /// credentials, a rate limit holds what it names until the wait ends.
    private func failed(_ d: Delivery, _ error: JiraError, credentials: CredentialsKey, now: @Sendable () -> Millis) async -> Result {
        let failure: RetryPolicy.Failure =
            error.status == 401 || error.kind == .unusableCredentials
            ? .credentialsRejected
            : error.outcomeUnknown && !d.action.repeatsSafely
                ? .uncertainWrite
                : error.outcomeUnknown || error.isTransient ? .transient(retryAfterSeconds: error.retryAfterSeconds) : .permanent
        var text = error.description
        let at = now()
        var replaced = false
        if failure == .credentialsRejected {
            // The credentials may have been replaced while this ran: then it simply runs again with the new ones.
            let key = d.action == .developmentInfo ? store.oauthCredentialsKey : store.credentialsKey
            let current = try? await store.integration(at: .project(d.projectID)).map(key)
            replaced = current.map { $0 != credentials } ?? false
            text +=
                replaced
                ? " (with credentials replaced since; it runs again with the new ones)"
                : ": Jira rejected the credentials; this and every delivery that uses them wait for new credentials or a Test settings that succeeds"
        }
        var outcome = DeliveryDecisions.failure(
            failure, error: text, attempts: d.attempts, createdAt: d.createdAt, now: at,
            policy: policy, random: Double.random(in: 0..<1), credentialsReplacedSince: replaced)
        if case .paused = outcome {
            return Result(
                outcome: outcome,
                effects: DeliveryEffects(
                    credentialsRejected: CredentialHold(
                        key: credentials.key, integrationID: credentials.integrationID,
                        site: d.site, since: at, error: text)))
        }
        var effects = DeliveryEffects.none
        if let scope = error.rateLimitScope {
            var until = at + Millis((error.retryAfterSeconds ?? 0) * 1000)
            if case .retry(let next, _) = outcome { until = max(until, next) }
            let hold = RateLimitHold(
                site: d.site, issueKey: scope == .issue ? d.issueKey : nil, until: until,
                reason: error.rateLimitReason ?? "unnamed")
            effects.rateLimit = hold
            text += "; " + RateLimits.describe(hold, now: at)
            switch outcome {
            case .retry(let next, _): outcome = .retry(at: next, error: text)
            case .dead: outcome = .dead(error: text)
            default: break
            }
        }
        return Result(outcome: outcome, effects: effects)
    }

    /// Reads the issue's comments, then posts the comment unless `DeliveryDecisions.comment` finds it there.
    private func comment(_ d: Delivery, body: String, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let issue = try await jira.issue(c, key: d.issueKey, fields: ["comment"], logger: log)
        var comments = issue.comments
        if !issue.hasAllComments { comments = try await jira.comments(c, issue: d.issueKey, logger: log) }
        switch DeliveryDecisions.comment(body, existing: comments.map(\.body)) {
        case .skip(let reason): return Result(outcome: .skipped(reason: reason))
        case .post(let text):
            _ = try await jira.addComment(c, issue: d.issueKey, body: text, logger: log)
            return Result(outcome: .succeeded)
        }
    }

    /// Reads the issue's links, then writes what `DeliveryDecisions.remoteLink` says.
    private func remoteLink(_ d: Delivery, spec: RemoteLinkSpec, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let links = try await jira.remoteLinks(c, issue: d.issueKey, logger: log).map {
            ExistingRemoteLink(id: $0.id, globalID: $0.globalID, url: $0.url, title: $0.title, resolved: $0.resolved)
        }
        let request = RemoteLinkRequest(
            globalId: spec.globalId, relationship: spec.relationship, url: spec.url, title: spec.title,
            resolved: spec.resolved, iconTitle: spec.iconTitle, iconURL: spec.iconURL)
        switch DeliveryDecisions.remoteLink(spec, existing: links) {
        case .skip(let reason): return Result(outcome: .skipped(reason: reason))
        case .update(let linkID):
            try await jira.updateRemoteLink(c, issue: d.issueKey, linkID: linkID, link: request, logger: log)
        case .upsert:
            _ = try await jira.upsertRemoteLink(c, issue: d.issueKey, link: request, logger: log)
        }
        return Result(outcome: .succeeded)
    }

    /// Reads the issue (with its transitions when automatic), applies what `DeliveryDecisions.transition`
    /// says (saving progress after each listed transition, so a retry goes on after them), reads it again,
    /// and ends as `DeliveryDecisions.afterTransitions` says.
    private func transition(
        _ d: Delivery, spec: TransitionSpec, owner: String, _ c: JiraConnection, now: @Sendable () -> Millis,
        _ log: Logger
    ) async throws(JiraError) -> Result {
        let issue = try await jira.issue(c, key: d.issueKey, expand: spec.automatic ? ["transitions"] : [], logger: log)
        let offered = issue.transitions.map { OfferedTransition(id: $0.id, targetCategoryKey: $0.targetCategoryKey) }
        switch DeliveryDecisions.transition(spec, issueKey: d.issueKey, resolved: issue.isResolved, offered: offered) {
        case .skip(let reason): return Result(outcome: .skipped(reason: reason))
        case .fail(let error): return Result(outcome: .failed(error: error))
        case .check: break
        case .apply(let ids, let advancing):
            var progress = spec
            for id in ids {
                try await jira.doTransition(c, issue: d.issueKey, transitionID: id, logger: log)
                if advancing {
                    progress.applied += 1
                    try? await store.updateDeliveryWork(id: d.id, owner: owner, work: .transition(progress), now: now())
                }
            }
        }
        let refreshed = try await jira.issue(c, key: d.issueKey, logger: log)
        if !refreshed.isResolved {
            log.info("the issue was transitioned but Jira shows no resolution; no comment or resolved link")
        }
        let (outcome, followUps) = DeliveryDecisions.afterTransitions(spec, issueKey: d.issueKey, resolvedNow: refreshed.isResolved)
        return Result(outcome: outcome, followUps: followUps)
    }

    // MARK: Development information (Jira Cloud, OAuth credentials)

    /// How many deliveries waiting behind this one a run takes with it, at most.
    static let waitingTaken = 50

    /// Sends the repository's change, with the same repository's changes that wait behind it (one request for a
    /// burst of pushes), within Atlassian's limits; a branch deletion is its own request. Those taken along end
    /// with this one's outcome.
    private func developmentInfo(
        _ d: Delivery, work: DevelopmentInfoWork, settings: JiraSettings, owner: String, now: @Sendable () -> Millis, _ log: Logger
    ) async throws(JiraError) -> Result {
        if settings.deploymentType == .server {
            return Result(
                outcome: .skipped(
                    reason: "Jira Server and Data Center have no development information API; the comment and the remote link carry the reference"))
        }
        guard settings.developmentPanelEnabled else { return Result(outcome: .skipped(reason: "The Development panel is turned off.")) }
        guard let clientID = settings.oauthClientID, let secret = settings.oauthClientSecret, !clientID.isEmpty, !secret.isEmpty else {
            return Result(outcome: .failed(error: "No OAuth credentials are saved for the Development panel."))
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
        if let branch = work.deletedBranch {
            try await jira.deleteDevelopmentEntity(
                gateway: tokens.gateway, cloudID: cloudID, token: token, repositoryID: work.repositoryID, entityType: "branch",
                entityID: branch, logger: log)
            return Result(outcome: .accepted(note: "Jira deleted branch \(branch) of \(work.repositoryID)"))
        }
        guard let text = work.repository, let own = try? JSONValue.parse(text), own.object != nil else {
            return Result(outcome: .failed(error: "The stored development information is not readable."))
        }
        // Those waiting behind it, as long as they fit in one request; the rest go back to wait.
        var taken: [(delivery: Delivery, json: JSONValue)] = []
        var returned: [Int64] = []
        var merged = own
        if let waiting = try? await store.claimWaiting(
            site: d.site, issueKey: d.issueKey, action: .developmentInfo, owner: owner, limit: Self.waitingTaken,
            leaseMillis: 300_000, now: now())
        {
            for other in waiting {
                guard returned.isEmpty, case .developmentInfo(let w) = other.work, w.deletedBranch == nil, let t = w.repository,
                    let next = try? JSONValue.parse(t), let combined = DevelopmentInfo.merge(merged, next)
                else {
                    returned.append(other.id)
                    continue
                }
                merged = combined
                taken.append((other, next))
            }
        }
        if !returned.isEmpty { try? await store.unclaim(ids: returned, owner: owner) }
        let answer: JSONValue
        while true {
            do {
                answer = try await jira.storeDevelopmentInformation(
                    gateway: tokens.gateway, cloudID: cloudID, token: token,
                    body: .object(["repositories": .array([merged]), "preventTransitions": .bool(true)]), logger: log)
                break
            } catch {
                if error.status == 413 && !taken.isEmpty {
                    // Too large for Atlassian (its limit on bytes is not published): half of those taken along go
                    // back to wait, and the rest is sent again.
                    let keep = taken.count / 2
                    try? await store.unclaim(ids: taken[keep...].map(\.delivery.id), owner: owner)
                    taken.removeLast(taken.count - keep)
                    merged = taken.reduce(own) { DevelopmentInfo.merge($0, $1.json) ?? $0 }
                    log.notice("development information too large for one request; sending less", metadata: ["taken": "\(keep)"])
                    continue
                }
                if error.status == 401 { await tokens.forget(clientID: clientID, secret: secret) }
                await finish(taken.map(\.delivery), .retry(at: now(), error: "sent with delivery \(d.id), which failed"), owner: owner, now: now)
                if error.status == 403 {
                    throw JiraError(
                        kind: .http(status: 403), detail: "the OAuth credentials lack the Development information permission",
                        jiraMessages: error.jiraMessages)
                }
                throw error
            }
        }
        let unknown = (answer["unknownIssueKeys"]?.array ?? []).compactMap(\.string)
        let failed = DevelopmentInfo.failures(answer)
        // The answer, for the delivery log: what was sent, and what Jira said of it.
        var said = ""
        if !unknown.isEmpty { said += "; Jira knows no issue \(unknown.prefix(20).joined(separator: ", "))" }
        if !failed.isEmpty { said += "; Jira refused: \(failed.prefix(10).joined(separator: "; "))" }
        let sent = DevelopmentInfoWork.summary(DevelopmentInfoWork.entities(repositoryID: work.repositoryID, repository: merged))
        let note =
            (failed.isEmpty ? "Jira accepted " : "Jira answered for ") + sent
            + (taken.isEmpty ? "" : ", with \(taken.count) waiting change(s) of \(work.repositoryID) in one request") + said
        log.info("development information sent", metadata: ["taken": "\(taken.count)", "unknown_keys": "\(unknown.count)"])
        // Those taken along share the outcome: Atlassian's refusals name entities, not deliveries.
        let shared = "sent with delivery \(d.id): " + note
        await finish(taken.map(\.delivery), failed.isEmpty ? .accepted(note: shared) : .failed(error: shared), owner: owner, now: now)
        return Result(outcome: failed.isEmpty ? .accepted(note: note) : .failed(error: note))
    }

    /// Ends deliveries taken along with another: they share its outcome.
    private func finish(_ deliveries: [Delivery], _ outcome: DeliveryOutcome, owner: String, now: @Sendable () -> Millis) async {
        for other in deliveries {
            try? await store.completeDelivery(id: other.id, owner: owner, outcome: outcome, followUps: [], effects: .none, now: now())
        }
    }
}
