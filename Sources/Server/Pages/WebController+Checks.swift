import Foundation
import Hummingbird
import Integration
import Store

/// The page a forge's `jira-bridge/...` commit status links to: what was checked for a commit, and each
/// commit's result.
extension WebController {
    struct ChecksView: ViewModel {
        struct Check: ViewModel {
            var subject: String
            var context: String
            var status: String
            var verdict: String
            var summary: String
            var lines: [String]
            var hasLines: Bool
            var error: String
            var updated: String
            var updatedShort: String
        }
        var project: ProjectView
        var short: String
        var checks: [Check]
    }

    func checksPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let sha = context.parameters.get("sha") ?? ""
        guard EventLimits.isCommitID(sha) else { throw WebError.notFound("The commit") }
        var filter = DeliveryFilter()
        filter.issueKey = "commit " + sha
        let (items, _) = try await store.deliveries(projectID: project.id, filter: filter, limit: 20, offset: 0)
        let checks = items.compactMap { d -> ChecksView.Check? in
            guard case .commitStatus(let work) = d.work else { return nil }
            let updated = isoTimestamp(d.updatedAt)
            // A decided check's answer: its conclusion, then one line per commit.
            let answer = d.status == .succeeded ? (d.lastError ?? "").split(separator: "\n").map(String.init) : []
            let verdict: String
            switch d.status {
            case .succeeded:
                // The answer's first line is `success: ...` or `failure: ...` (`DeliveryRunner.commitStatus`).
                verdict = answer.first?.hasPrefix("success: ") == true ? "passed" : "failed"
            case .pending, .running: verdict = "waiting"
            default: verdict = d.status.rawValue
            }
            let summary =
                answer.first.map { $0.replacingOccurrences(of: "success: ", with: "").replacingOccurrences(of: "failure: ", with: "") } ?? ""
            let lines = Array(answer.dropFirst())
            return ChecksView.Check(
                subject: work.subject, context: work.context, status: verdict == "passed" ? "succeeded" : verdict == "waiting" ? "pending" : "failed",
                verdict: verdict, summary: summary, lines: lines, hasLines: !lines.isEmpty,
                error: d.status == .succeeded ? "" : d.lastError ?? "", updated: updated, updatedShort: Self.short(updated))
        }
        let view = ChecksView(project: ProjectView(project), short: String(sha.prefix(8)), checks: checks)
        return render("checks", view, context, breadcrumbs: [.home, .project(project)])
    }
}
