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
            metrics.delivery(action: d.action.rawValue, outcome: Self.name(result.outcome))
            return result
        } catch {
            let failure: RetryPolicy.Failure = error.outcomeUnknown ? .uncertainWrite
                : error.isTransient ? .transient(retryAfterSeconds: error.retryAfterSeconds) : .permanent
            let age = Double(now() - d.createdAt) / 1000
            let text = error.description
            log.warning("Jira delivery failed", metadata: ["error": "\(text)", "attempt": "\(d.attempts)"])
            let outcome: DeliveryOutcome
            switch policy.decide(failure, attempts: d.attempts, ageSeconds: age, random: Double.random(in: 0..<1)) {
            case .retry(let seconds): outcome = .retry(at: now() + Millis(seconds * 1000), error: text)
            case .fail: outcome = .failed(error: text)
            case .dead: outcome = .dead(error: text)
            }
            metrics.delivery(action: d.action.rawValue, outcome: Self.name(outcome))
            return Result(outcome: outcome)
        }
    }

    static func name(_ outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .succeeded: return "succeeded"
        case .skipped: return "skipped"
        case .retry: return "retry"
        case .failed: return "failed"
        case .dead: return "dead"
        }
    }

    /// GitLab's `comment_exists?`: an existing comment that contains the text means it is already there.
    private func comment(_ d: Delivery, body: String, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let issue = try await jira.issue(c, key: d.issueKey, fields: ["comment"], logger: log)
        var comments = issue.comments
        if !issue.hasAllComments { comments = try await jira.comments(c, issue: d.issueKey, logger: log) }
        if comments.contains(where: { $0.body.contains(body) }) {
            return Result(outcome: .skipped(reason: "The comment is already on the issue."))
        }
        _ = try await jira.addComment(c, issue: d.issueKey, body: body, logger: log)
        return Result(outcome: .succeeded)
    }

    /// Creates or updates the link, but never sets a resolved link back to unresolved.
    private func remoteLink(_ d: Delivery, spec: RemoteLinkSpec, _ c: JiraConnection, _ log: Logger) async throws(JiraError) -> Result {
        let links = try await jira.remoteLinks(c, issue: d.issueKey, logger: log)
        let request = RemoteLinkRequest(globalId: spec.globalId, relationship: spec.relationship, url: spec.url, title: spec.title,
                                        resolved: spec.resolved, iconTitle: "GitLab", iconURL: spec.iconURL)
        if let existing = links.first(where: { $0.globalID == spec.globalId }) ?? links.first(where: { $0.url == spec.url }) {
            if existing.resolved && !spec.resolved {
                return Result(outcome: .skipped(reason: "The link is already resolved; it is never set back to unresolved."))
            }
            if existing.resolved == spec.resolved && existing.title == spec.title && existing.globalID == spec.globalId {
                return Result(outcome: .skipped(reason: "The link is already on the issue."))
            }
            if existing.globalID != spec.globalId {
                try await jira.updateRemoteLink(c, issue: d.issueKey, linkID: existing.id, link: request, logger: log)
                return Result(outcome: .succeeded)
            }
        }
        _ = try await jira.upsertRemoteLink(c, issue: d.issueKey, link: request, logger: log)
        return Result(outcome: .succeeded)
    }

    /// GitLab's `close_issue`: skip resolved issues, apply the transitions (stopping at the first failure),
    /// then, once Jira shows a resolution, comment "Issue solved with ..." and resolve the link.
    private func transition(_ d: Delivery, spec: TransitionSpec, owner: String, _ c: JiraConnection, now: @Sendable () -> Millis,
                            _ log: Logger) async throws(JiraError) -> Result {
        let issue = try await jira.issue(c, key: d.issueKey, expand: spec.automatic ? ["transitions"] : [], logger: log)
        if issue.isResolved && spec.applied == 0 {
            return Result(outcome: .skipped(reason: "The issue is already resolved."))
        }
        if spec.automatic {
            if !issue.isResolved {
                guard let done = issue.transitions.first(where: { $0.targetCategoryKey == "done" }) else {
                    return Result(outcome: .failed(error: "No transition into a status of the done category is available for \(d.issueKey)."))
                }
                try await jira.doTransition(c, issue: d.issueKey, transitionID: done.id, logger: log)
            }
        } else {
            var progress = spec
            while progress.applied < progress.ids.count {
                try await jira.doTransition(c, issue: d.issueKey, transitionID: progress.ids[progress.applied], logger: log)
                progress.applied += 1
                try? await store.updateDeliveryWork(id: d.id, owner: owner, work: .transition(progress), now: now())
            }
        }
        let refreshed = try await jira.issue(c, key: d.issueKey, logger: log)
        guard refreshed.isResolved else {
            log.info("the issue was transitioned but Jira shows no resolution; no comment or resolved link")
            return Result(outcome: .succeeded)
        }
        return Result(outcome: .succeeded, followUps: spec.solvedDeliveries(issueKey: d.issueKey))
    }
}
