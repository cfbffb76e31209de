import Foundation
import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Logging
import Store

/// The delivery log page and its retry button.
extension WebController {
    // MARK: Delivery log

    /// What a Development panel delivery carries, in words; blank for the others.
    static func detail(_ d: Delivery) -> String {
        switch d.work {
        case .developmentInfo(let work): return work.summary
        case .cloudData(let work): return work.summary
        case .backfill(let work): return "backfill: " + work.summary
        case .catchUp(let work): return "catch-up: " + work.summary
        default: return ""
        }
    }

    struct DeliveriesView: ViewModel {
        struct Attempt: ViewModel {
            var number: Int
            var outcome: String
            var error: String
            var finished: String
            var finishedShort: String
        }
        struct Row: ViewModel {
            var id: Int64
            var projectID: String
            var issueKey: String
            /// The issue in Jira (`<url>/browse/KEY`), when the project's integration has a URL.
            var issueURL: String
            var action: String
            /// What a Development panel delivery carries (`2 commits, branch feature/login`).
            var detail: String
            var status: String
            var attempts: Int
            var attemptLog: [Attempt]
            var hasAttemptLog: Bool
            var lastError: String
            /// What Jira answered to a delivery that succeeded, when it said more than yes.
            var answer: String
            var sourceURL: String
            var sourceLabel: String
            var updated: String
            var updatedShort: String
            var nextRun: String
            var retryable: Bool
        }
        struct Note: ViewModel {
            var id: String
            var kind: String
            var status: String
            var text: String
            var received: String
            var receivedShort: String
        }
        struct StatusOption: ViewModel {
            var value: String
            var selected: Bool
        }
        var project: ProjectView
        var deliveries: [Row]
        var hasDeliveries: Bool
        var total: Int
        var statuses: [StatusOption]
        var issueFilter: String
        var filtered: Bool
        /// The filter as a query string (`status=failed&issue=PROJ-1&`), kept by the pager's links.
        var filterQuery: String
        var failedCount: Int
        var canRetryAll: Bool
        var eventNotes: [Note]
        var hasEventNotes: Bool
        var prev: Int?
        var next: Int?
        var rejection: RejectionNotice?
        /// Jira's rate-limit waits in force on this project's site.
        var waits: [String]
        var hasWaits: Bool
    }

    func deliveriesPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let canRetry = try await access.allows(identity, .maintainer, project: project)
        let query = QueryForm(request)
        let page = query.webPage(perPage: 50)
        // A filter that cannot be read shows everything, with the form saying what it took.
        let filter = (try? DeliveriesController.filter(status: query.get("status"), issue: query.get("issue"))) ?? .all
        let (items, total) = try await store.deliveries(projectID: project.id, filter: filter, limit: page.perPage, offset: page.offset)
        let attempts = try await store.attempts(deliveryIDs: items.map(\.id))
        var browseBase = ""
        let record = try await store.integration(at: .project(project.id))
        if let url = record?.settings.url {
            browseBase = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        let rows = items.map { d in
            let updated = isoTimestamp(d.updatedAt)
            let log = (attempts[d.id] ?? []).map { a in
                let finished = isoTimestamp(a.finishedAt)
                return DeliveriesView.Attempt(
                    number: a.number, outcome: a.outcome, error: a.error ?? "", finished: finished, finishedShort: Self.short(finished))
            }
            let source = Self.linkable(d.sourceURL)
            return DeliveriesView.Row(
                id: d.id, projectID: project.address, issueKey: d.issueKey,
                // A repository's development information names no single issue: nothing to link.
                issueURL: browseBase.isEmpty || !d.action.namesIssue ? "" : Self.linkable("\(browseBase)/browse/\(d.issueKey)"),
                action: d.action.rawValue, detail: Self.detail(d), status: d.status.rawValue, attempts: d.attempts, attemptLog: log,
                hasAttemptLog: !log.isEmpty, lastError: d.status == .succeeded ? "" : d.lastError ?? "",
                answer: d.status == .succeeded ? d.lastError ?? "" : "", sourceURL: source,
                sourceLabel: source.isEmpty ? "" : Self.sourceLabel(source),
                updated: updated, updatedShort: Self.short(updated),
                nextRun: d.status == .pending && d.attempts > 0 ? Self.short(isoTimestamp(d.nextRunAt)) : "",
                retryable: canRetry && (d.status == .failed || d.status == .dead || d.status == .paused))
        }
        // Events that reached a limit or could not be planned: what they did not do is said here too.
        let notes = try await store.eventLog(projectID: project.id, notedOnly: true, limit: 20, offset: 0).items.map { e in
            let received = isoTimestamp(e.receivedAt)
            return DeliveriesView.Note(
                id: e.id, kind: e.kind, status: e.status, text: e.error ?? e.note ?? "", received: received,
                receivedShort: Self.short(received))
        }
        let counts = try await store.deliveryCounts(projectID: project.id)
        let failed = (counts["failed"] ?? 0) + (counts["dead"] ?? 0)
        var filterQuery = ""
        if let status = filter.status { filterQuery += "status=\(status.rawValue)&" }
        if let key = filter.issueKey { filterQuery += "issue=\(Self.queryEscaped(key))&" }
        let statuses = ["pending", "running", "succeeded", "skipped", "failed", "dead", "paused"].map {
            DeliveriesView.StatusOption(value: $0, selected: filter.status?.rawValue == $0)
        }
        let now = store.clock.now()
        let site = record?.settings.clientURL.map(JiraSite.key)
        let waits = try await store.rateLimitHolds(now: now).filter { $0.site == site }.prefix(20).map { RateLimits.describe($0, now: now) }
        let view = DeliveriesView(
            project: ProjectView(project), deliveries: rows, hasDeliveries: !rows.isEmpty, total: total,
            statuses: statuses, issueFilter: filter.issueKey ?? "", filtered: filter != .all, filterQuery: filterQuery,
            failedCount: failed, canRetryAll: canRetry && failed > 0,
            eventNotes: notes, hasEventNotes: !notes.isEmpty, prev: page.page > 1 ? page.page - 1 : nil,
            next: page.hasNext(total: total) ? page.page + 1 : nil,
            rejection: try await rejectionNotice(
                record, paused: counts["paused"] ?? 0,
                settingsPath: "/projects/\(project.address)/settings/integrations/jira"),
            waits: Array(waits), hasWaits: !waits.isEmpty)
        var flash = request.uri.queryParameters.get("retried").map { Flash.ok("Delivery \($0) is queued again.") }
        if let n = request.uri.queryParameters.get("retried_all").flatMap({ Int($0) }) {
            flash = Flash.ok(n == 1 ? "1 delivery is queued again." : "\(n) deliveries are queued again.")
        }
        return render("deliveries", view, context, breadcrumbs: [.home, .project(project)], flash: flash)
    }

    /// `1a2b3c4d` for a commit, `!12` for a merge request, `#12` for a pull request, else the address's last part.
    static func sourceLabel(_ url: String) -> String {
        let parts = url.split(separator: "/").map(String.init)
        guard parts.count >= 2 else { return url }
        let kind = parts[parts.count - 2], last = parts[parts.count - 1]
        switch kind {
        case "commit", "commits": return "commit " + String(last.prefix(8))
        case "merge_requests": return "!" + last
        case "pull", "pulls": return "#" + last
        default: return last
        }
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// "Retry all failed": requeues every failed or dead delivery of the project. Maintainers only, with the
    /// session's CSRF token and the form's confirmation box ticked.
    func retryAllFailed(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        let form = try await WebForm.read(request, context: context)
        guard form.string("confirm") == "yes" else {
            throw WebError(
                status: .badRequest, heading: "Not retried",
                message: "Tick the box that confirms retrying every failed delivery of this project, then press the button again.")
        }
        let count = try await DeliveryLogService(store: store).retryAllFailed(in: project)
        return redirect("/projects/\(project.address)/integrations/jira/deliveries?retried_all=\(count)")
    }

    func retryDelivery(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        guard let id = Int64(try context.parameters.require("delivery_id")) else { throw WebError.notFound("The delivery") }
        do {
            _ = try await DeliveryLogService(store: store).retry(id, in: project)
        } catch let refusal as DeliveryLogService.Refusal {
            throw WebError(refusal)
        }
        return redirect("/projects/\(project.address)/integrations/jira/deliveries?retried=\(id)")
    }
}
