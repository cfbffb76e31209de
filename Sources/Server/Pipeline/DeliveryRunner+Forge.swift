import Foundation
import Integration
import JiraClient
import Logging
import Store

/// Deliveries that talk back to the forge: a Jira issue check, decided from Jira's answers and set as a
/// commit status through the forge's API.
extension DeliveryRunner {
    /// Decides the check and sets its status. While Jira cannot be reached, the status is set to `pending`
    /// (once, on the first attempt: the claim has counted it, so `attempts` is 1) and the delivery is retried like any other; the forge refusing the token is a
    /// failure with the reason, never a hold of the Jira credentials.
    func commitStatus(
        _ d: Delivery, work: CommitStatusWork, settings: JiraSettings, _ jiraConnection: JiraConnection, _ log: Logger
    ) async throws(JiraError) -> Result {
        let target: ForgeAPITarget
        switch await forgeTarget(d) {
        case .failure(let unavailable): return Result(outcome: .failed(error: unavailable.reason + " The status cannot be set."))
        case .success(let t): target = t
        }
        let targetURL = checkPageURL(d, sha: work.sha)
        func set(_ state: CommitStatus.State, _ description: String) async throws(JiraError) {
            do {
                try await jira.setCommitStatus(
                    target, sha: work.sha, status: CommitStatus(state: state, context: work.context, description: description, targetURL: targetURL),
                    logger: log)
            } catch {
                throw Self.forgeError(error, target)
            }
        }
        if work.context == JiraIssueCheck.mergeRequestContext {
            let failure = work.mergeRequestFailure
            try await set(failure == nil ? .success : .failure, failure ?? "The title or description mentions a Jira issue")
            return Result(outcome: .accepted(note: failure.map { "failure: " + $0 } ?? "success: The title or description mentions a Jira issue"))
        }
        let rules = JiraIssueCheck.Rules(settings)
        var issues: [String: JiraIssueCheck.Issue] = [:]
        if rules.needsJira {
            for key in Set(work.commits.compactMap(\.key)).sorted() {
                do {
                    let issue = try await jira.issue(jiraConnection, key: key, fields: ["status", "assignee"], logger: log)
                    let assignee = issue.fields?["assignee"]
                    issues[key] = JiraIssueCheck.Issue(
                        exists: true, status: issue.fields?["status"]?["name"]?.string, assigneeName: assignee?["displayName"]?.string,
                        assigneeEmail: assignee?["emailAddress"]?.string)
                } catch {
                    if error.status == 404 {
                        issues[key] = JiraIssueCheck.Issue(exists: false, status: nil, assigneeName: nil, assigneeEmail: nil)
                        continue
                    }
                    // The check waits for Jira; the forge shows it as pending meanwhile.
                    if d.attempts <= 1 { try? await set(.pending, "Waiting for Jira to answer about \(key)") }
                    throw error
                }
            }
        }
        let failures = work.commits.map { JiraIssueCheck.failure($0, issue: $0.key.flatMap { issues[$0] }, rules: rules) }
        let (success, description) = JiraIssueCheck.conclusion(failures, checked: work.commits.count)
        try await set(success ? .success : .failure, description)
        // Every commit's result, one per line, for the page the status links to.
        let lines = zip(work.commits, failures).map { commit, failure in
            "\(commit.sha.prefix(8)) \(commit.title): " + (failure.map { "fails (\($0))" } ?? "passes (\(commit.key ?? "no key"))")
        }
        return Result(outcome: .accepted(note: ([(success ? "success: " : "failure: ") + description] + lines).joined(separator: "\n")))
    }

    /// The project's forge API, with the token of the project or its nearest group.
    func forgeTarget(_ d: Delivery) async -> Swift.Result<ForgeAPITarget, ForgeTargets.Unavailable> {
        await ForgeTargets(store: store).target(projectID: d.projectID)
    }

    /// The page that explains a commit's check: every commit's result.
    func checkPageURL(_ d: Delivery, sha: String) -> String {
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        return "\(base)/projects/\(Forge.address(storageID: d.projectID))/integrations/jira/checks/\(sha)"
    }

    /// A forge's refusal in the forge's words: 401 and 403 say the token is refused (a failure, not a hold of
    /// Jira's credentials); a 404 that the project or commit is unknown to the token.
    static func forgeError(_ error: JiraError, _ target: ForgeAPITarget) -> JiraError {
        let forge = target.forge.displayName
        switch error.status {
        case 401, 403:
            return JiraError(
                kind: .http(status: 400), detail: "\(forge) refused the forge API token (\(error.status ?? 0)): give it the scope the docs name"
            ).fromForge(forge)
        case 404:
            return JiraError(kind: .http(status: 404), detail: "\(forge) knows no such project or commit for this token").fromForge(forge)
        default:
            // A rate limit of the forge waits as long as the forge says, and holds nothing of the Jira site's.
            return error.fromForge(forge)
        }
    }
}
