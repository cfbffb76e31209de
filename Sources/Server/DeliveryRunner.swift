import Foundation
import Integration
import JiraClient
import Logging
import Store

/// Runs one delivery against Jira: the reads that make it safe to repeat, then at most one write
/// (several for a list of transitions).
struct DeliveryRunner: Sendable {
    let store: any BridgeStore
    let jira: JiraHTTPClient
    let policy: RetryPolicy
    let metrics: BridgeMetrics

    struct Result {
        var outcome: DeliveryOutcome
        var followUps: [PlannedDelivery] = []
    }

    func run(_ d: Delivery, owner: String, now: @Sendable () -> Millis, logger: Logger) async -> Result {
        var log = logger
        log[metadataKey: "delivery_id"] = "\(d.id)"
        log[metadataKey: "issue_key"] = "\(d.issueKey)"
        log[metadataKey: "action"] = "\(d.action.rawValue)"
        log[metadataKey: "jira_site"] = "\(d.site)"
        let settings: JiraSettings
        do {
            guard let record = try await store.integration(at: .project(d.projectID)), record.settings.active else {
                return Result(outcome: .failed(error: "The project's Jira integration is not active."))
            }
            settings = record.settings
        } catch {
            return Result(outcome: .retry(at: now() + 5_000, error: "the store could not be read: \(error)"))
        }
        do {
            let connection = try JiraConnection(settings: settings)
            let result: Result
            switch d.work {
            case .comment(let body): result = try await comment(d, body: body, connection, log)
            case .remoteLink(let spec): result = try await remoteLink(d, spec: spec, connection, log)
            case .transition(let spec): result = try await transition(d, spec: spec, owner: owner, connection, now: now, log)
            }
            log.info("Jira delivery done", metadata: ["outcome": "\(result.outcome)"])
            metrics.delivery(site: d.site, action: d.action.rawValue, outcome: result.outcome.name)
            return result
        } catch {
            let failure: RetryPolicy.Failure = error.outcomeUnknown ? .uncertainWrite
                : error.isTransient ? .transient(retryAfterSeconds: error.retryAfterSeconds) : .permanent
            let text = error.description
            log.warning("Jira delivery failed", metadata: ["error": "\(text)", "attempt": "\(d.attempts)"])
            let outcome = DeliveryDecisions.failure(failure, error: text, attempts: d.attempts, createdAt: d.createdAt, now: now(),
                                                    policy: policy, random: Double.random(in: 0..<1))
            metrics.delivery(site: d.site, action: d.action.rawValue, outcome: outcome.name)
            return Result(outcome: outcome)
        }
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
        let request = RemoteLinkRequest(globalId: spec.globalId, relationship: spec.relationship, url: spec.url, title: spec.title,
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
    private func transition(_ d: Delivery, spec: TransitionSpec, owner: String, _ c: JiraConnection, now: @Sendable () -> Millis,
                            _ log: Logger) async throws(JiraError) -> Result {
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
}
