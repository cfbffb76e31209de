import Forges
import Foundation
import Integration
import JiraClient
import Logging
import Store

/// A backfill's page: read from the forge's API, sent to the Development panel with `operationType: BACKFILL`,
/// and the next page inserted with this one's outcome (`Backfill`).
extension DeliveryRunner {
    func backfill(
        _ d: Delivery, work: BackfillWork, settings: JiraSettings, owner: String, now: @Sendable () -> Millis, _ log: Logger
    ) async throws(JiraError) -> Result {
        let session: GatewaySession
        switch try await gatewaySession(settings, part: "development information", enabled: settings.developmentPanelEnabled, log) {
        case .closed(let result): return result
        case .open(let s): session = s
        }
        let target: ForgeAPITarget
        switch await forgeTarget(d) {
        case .failure(let unavailable):
            return Result(outcome: .failed(error: unavailable.reason + " The history cannot be read."))
        case .success(let t): target = t
        }
        guard let stored = try? await store.project(id: d.projectID) else {
            return Result(outcome: .failed(error: "The project is no longer registered."))
        }
        let extractor: ReferenceExtractor
        do {
            extractor = try ReferenceExtractor(prefix: settings.issuePrefix, regex: settings.issueRegex)
        } catch {
            return Result(outcome: .failed(error: "The integration's issue key rules cannot be used: \(error)"))
        }
        let project = Self.forgeProject(stored)
        let size = Backfill.pageSize(project.forge)
        let wanted = work.wanted(pageSize: size)
        // The forge's page.
        var mergeRequests: [MergeRequestEvent] = []
        var branches: [Backfill.BranchHead] = []
        let count: Int
        do {
            switch work.phase {
            case .mergeRequests:
                let list = try await jira.listMergeRequests(target, page: work.page, perPage: size, logger: log)
                count = list.array?.count ?? 0
                mergeRequests = Listings.mergeRequests(list, project: project, limit: wanted)
            case .branches:
                let list = try await jira.listBranches(target, page: work.page, perPage: size, logger: log)
                count = list.array?.count ?? 0
                branches = Listings.branches(list, project: project, limit: wanted)
                // GitHub's list names only each head's sha: the head is read for a branch whose name names a key
                // (one request each; a branch named without a key is not read).
                for i in branches.indices where branches[i].head == nil && !extractor.allKeys(branches[i].name).isEmpty {
                    branches[i].head = Listings.headCommit(try await jira.branchHead(target, branch: branches[i].name, logger: log), project: project)
                }
            }
        } catch {
            throw Self.forgeError(error, target)
        }
        let (repository, ids) = Backfill.repository(
            project: project, mergeRequests: mergeRequests, branches: branches, sent: Set(work.sent), extractor: extractor)
        var note = "\(work.summary): read \(min(count, wanted))"
        if let repository {
            let answer: JSONValue
            do {
                answer = try await jira.storeDevelopmentInformation(
                    gateway: tokens.gateway, cloudID: session.cloudID, token: session.token, body: Backfill.body(repository), logger: log)
            } catch {
                throw await gatewayFailure(error, session: session, permission: "Development information")
            }
            let failed = DevelopmentInfo.failures(answer)
            let sent = DevelopmentInfoWork.summary(
                DevelopmentInfoWork.entities(repositoryID: work.repositoryID, repository: repository.json))
            note += "; sent " + sent + Self.unknownKeys((answer["unknownIssueKeys"]?.array ?? []).compactMap(\.string))
            if !failed.isEmpty { note += "; Jira refused: \(failed.prefix(10).joined(separator: "; "))" }
        } else {
            note += "; nothing names a Jira issue"
        }
        let next = work.next(count: min(count, wanted), full: count >= size, ids: ids)
        note += next.map { "; next: \($0.summary)" } ?? "; backfill done"
        log.info("backfill page done", metadata: ["phase": "\(work.phase.rawValue)", "page": "\(work.page)", "sent": "\(ids.count)"])
        return Result(outcome: .accepted(note: note), followUps: next.map { [$0.planned()] } ?? [])
    }
}
