import Foundation
import Integration
import JiraClient
import Logging
import Store

/// Runs one delivery against Jira: the reads that make it safe to repeat, then at most one write
/// (several for a list of transitions).
struct DeliveryRunner: Sendable {
    let store: any QueueStore & HoldStore & IntegrationStore & ProjectStore & IntakeStore
    let jira: JiraHTTPClient
    let policy: RetryPolicy
    let metrics: BridgeMetrics
    /// Tokens for Jira Cloud's development information (OAuth credentials).
    let tokens: AtlassianTokens
    /// The server's public address, for the pages a forge's commit status links to.
    let publicURL: String

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
        log[metadataKey: "event_id"] = "\(d.eventID)"
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
            credentials = d.action.usesOAuthCredentials ? store.oauthCredentialsKey(record) : store.credentialsKey(record)
            // Jira rejected these credentials already: wait with the others, without asking again.
            if d.action.callsJira, let hold = holds.first(where: { $0.key == credentials.key }) {
                metrics.delivery(site: d.site, action: d.action.rawValue, outcome: "paused")
                let why =
                    (hold.error ?? "").contains("control character")
                    ? "the saved credentials contain a line break or another control character (found at \(isoTimestamp(hold.since)))"
                    : d.action.usesOAuthCredentials
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
            case .cloudData(let work): result = try await cloudData(d, work: work, settings: settings, owner: owner, now: now, log)
            case .commitStatus(let work): result = try await commitStatus(d, work: work, settings: settings, connection, log)
            case .backfill(let work): result = try await backfill(d, work: work, settings: settings, owner: owner, now: now, log)
            case .catchUp(let work): result = try await catchUp(d, work: work, log)
            case .worklog(let work): result = try await worklog(d, work: work, connection, log)
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
            // Only Jira's own 429s cut the site's adaptive limit; a forge's rate limit is the forge's.
            result.rateLimited = error.status == 429 && error.answeredBy == "Jira"
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
            let key = d.action.usesOAuthCredentials ? store.oauthCredentialsKey : store.credentialsKey
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
        let issue: JiraIssue
        do {
            issue = try await jira.issue(c, key: d.issueKey, fields: ["comment"], logger: log)
        } catch  where error.status == 404 {
            return Self.noSuchIssue(d)
        }
        var comments = issue.comments
        if !issue.hasAllComments { comments = try await jira.comments(c, issue: d.issueKey, logger: log) }
        switch DeliveryDecisions.comment(body, existing: comments.map(\.body)) {
        case .skip(let reason): return Result(outcome: .skipped(reason: reason))
        case .post(let text):
            _ = try await jira.addComment(c, issue: d.issueKey, body: text, logger: log)
            return Result(outcome: .succeeded)
        }
    }

    /// Reads the issue's worklogs, then logs the work unless one of this commit's is there (a worklog is no
    /// upsert: a second one would count twice).
    private func worklog(_ d: Delivery, work: WorklogWork, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let existing = try await jira.worklogComments(c, issue: d.issueKey, logger: log)
        if existing.contains(where: { $0.contains(work.commitURL) }) {
            return Result(outcome: .skipped(reason: "Work from this commit is already logged on the issue."))
        }
        try await jira.addWorklog(c, issue: d.issueKey, timeSpent: work.timeSpent, comment: work.comment, logger: log)
        return Result(outcome: .accepted(note: "Jira logged \(work.timeSpent)"))
    }

    /// A key Jira answers 404 for (a `UTF-8` or `SHA-256` in a commit message, a typo, an issue the integration's
    /// user may not see): nothing to write, and no red failure that looks like an outage.
    static func noSuchIssue(_ d: Delivery) -> Result {
        Result(outcome: .skipped(reason: "\(d.issueKey) does not exist in Jira (or the integration's user may not see it)."))
    }

    /// Reads the issue's links, then writes what `DeliveryDecisions.remoteLink` says.
    private func remoteLink(_ d: Delivery, spec: RemoteLinkSpec, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let found: [RemoteLink]
        do {
            found = try await jira.remoteLinks(c, issue: d.issueKey, logger: log)
        } catch  where error.status == 404 {
            return Self.noSuchIssue(d)
        }
        let links = found.map {
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
        var progress = spec
        // One step at a time: the next step is read against what the issue offers after the one before.
        steps: while true {
            let issue: JiraIssue
            do {
                issue = try await jira.issue(c, key: d.issueKey, expand: ["transitions"], logger: log)
            } catch  where error.status == 404 && progress.applied == 0 {
                return Self.noSuchIssue(d)
            }
            let offered = issue.transitions.map { OfferedTransition(id: $0.id, name: $0.name, targetCategoryKey: $0.targetCategoryKey) }
            switch DeliveryDecisions.transition(
                progress, issueKey: d.issueKey, resolved: issue.isResolved, offered: offered, statusCategory: issue.statusCategoryKey)
            {
            case .skip(let reason): return Result(outcome: .skipped(reason: reason))
            case .fail(let error): return Result(outcome: .failed(error: error))
            case .check: break steps
            case .apply(let ids, let advancing):
                for id in ids {
                    do {
                        try await jira.doTransition(c, issue: d.issueKey, transitionID: id, logger: log)
                    } catch {
                        // Jira's refusal of a listed step, with what the issue could take instead.
                        guard error.status == 400 || error.status == 404 else { throw error }
                        return Result(
                            outcome: .failed(
                                error: error.description + " (step \(progress.applied + 1) of \(progress.ids.count); \(d.issueKey) can take "
                                    + DeliveryDecisions.names(offered) + ")"))
                    }
                    if advancing {
                        progress.applied += 1
                        try? await store.updateDeliveryWork(id: d.id, owner: owner, work: .transition(progress), now: now())
                    }
                }
                if !advancing { break steps }
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
}
