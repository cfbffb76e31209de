import Forges
import Foundation
import Integration
import JiraClient
import Logging
import Store

/// A catch-up's page: one page of what the forge saw (GitHub's deliveries, GitLab's hook events, Gitea's commits
/// and pull requests), what jira-bridge missed of it taken in through the intake's store (its redelivery rule
/// takes each event once), and the next page inserted with this one's outcome (`CatchUp`).
extension DeliveryRunner {
    func catchUp(_ d: Delivery, work: CatchUpWork, _ log: Logger) async throws(JiraError) -> Result {
        let target: ForgeAPITarget
        switch await forgeTarget(d) {
        case .failure(let unavailable): return Result(outcome: .failed(error: unavailable.reason + " Nothing can be caught up."))
        case .success(let t): target = t
        }
        guard let stored = try? await store.project(id: d.projectID) else {
            return Result(outcome: .failed(error: "The project is no longer registered."))
        }
        let project = Self.forgeProject(stored)
        var events: [(key: String, event: ForgeEvent)] = []
        var skipped = 0
        var more = false
        var cursor: String? = nil
        do {
            switch work.phase {
            case .deliveries:
                guard let hook = stored.forgeHookID else { return Result(outcome: .failed(error: Self.noHook)) }
                let (page, next) = try await jira.hookDeliveries(target, hookID: hook, cursor: work.cursor, logger: log)
                let (missed, reached) = CatchUp.githubMissed(page, since: work.since)
                for item in missed where GitHubWebhook.handledEvents.contains(item.event) {
                    let full = try await jira.hookDelivery(target, hookID: hook, deliveryID: item.id, logger: log)
                    guard let payload = full["request"]?["payload"], let event = Self.decode(.github, kind: item.event, payload) else {
                        skipped += 1
                        continue
                    }
                    events.append((item.guid, event))
                }
                (more, cursor) = (!reached && next != nil, next)
            case .events:
                guard let hook = stored.forgeHookID else { return Result(outcome: .failed(error: Self.noHook)) }
                let page = try await jira.hookEvents(target, hookID: hook, page: work.page, logger: log)
                for item in CatchUp.gitlabMissed(page) where GitLabWebhook.handledEvents.contains(item.kind) {
                    guard let key = item.key, let event = Self.decode(.gitlab, kind: item.kind, item.payload) else {
                        skipped += 1
                        continue
                    }
                    events.append((key, event))
                }
                more = (page.array?.count ?? 0) >= CatchUp.pageSize(.gitlab)
            case .commits:
                let since = isoTimestamp(work.since)
                let page = try await jira.commits(target, branch: project.defaultBranch, since: since, page: work.page, logger: log)
                for commit in Listings.commits(page, project: project, limit: CatchUp.pageSize(.gitea)) {
                    let push = PushEvent(
                        project: project, ref: "refs/heads/" + project.defaultBranch, before: "", after: commit.id, commits: [commit],
                        pusher: ForgeUser(name: commit.authorName, username: commit.authorName, email: commit.authorEmail))
                    events.append(("catch-up:commit:" + commit.id, .push(push)))
                }
                more = (page.array?.count ?? 0) >= CatchUp.pageSize(.gitea)
            case .pulls:
                let page = try await jira.listMergeRequests(target, page: work.page, perPage: CatchUp.pageSize(.gitea), logger: log)
                let items = page.array ?? []
                var older = false
                for (mr, item) in zip(Listings.mergeRequests(page, project: project, limit: items.count), items) {
                    let updated = mr.details?.updatedAt.flatMap { JiraTimestamp($0)?.millis } ?? 0
                    guard updated >= work.since else {
                        older = true
                        continue
                    }
                    events.append(
                        ("catch-up:pr:\(mr.iid):\(mr.details?.updatedAt ?? "")", .mergeRequest(Listings.caughtUp(mr, item: item, since: work.since))))
                }
                // Listed by their last update, newest first: one older than `since` ends the list.
                more = !older && items.count >= CatchUp.pageSize(.gitea)
            }
        } catch {
            throw Self.forgeError(error, target)
        }
        // What belongs to another repository (a hook of a group or an organisation) is not this project's.
        let own = events.filter { $0.event.project.id == project.id && $0.event.project.forge == project.forge }
        skipped += events.count - own.count
        var taken = 0
        var duplicates = 0
        if !own.isEmpty {
            let batch = own.compactMap { item -> (incoming: IncomingEvent, registration: ProjectRegistration)? in
                guard let registration = ProjectRegistration(item.event.project) else { return nil }
                return (IncomingEvent(deliveryKey: item.key, event: item.event), registration)
            }
            do {
                for result in try await store.recordEvents(batch) {
                    switch result {
                    case .success(let r): if r.duplicate { duplicates += 1 } else { taken += 1 }
                    case .failure: skipped += 1
                    }
                }
            } catch {
                return Result(outcome: .retry(at: store.clock.now() + 5_000, error: "the store could not take the events in: \(error)"))
            }
        }
        let next = work.next(more: more, cursor: cursor, taken: taken)
        var note = "\(work.summary): took in \(taken) missed event(s)"
        if duplicates > 0 { note += ", \(duplicates) already taken in" }
        if skipped > 0 { note += ", \(skipped) left out (unreadable, or of another repository)" }
        note += next.map { "; next: \($0.summary)" } ?? "; catch-up done, \(work.taken + taken) event(s) taken in"
        log.info("catch-up page done", metadata: ["phase": "\(work.phase.rawValue)", "page": "\(work.page)", "taken": "\(taken)"])
        return Result(outcome: .accepted(note: note), followUps: next.map { [$0.planned()] } ?? [])
    }

    static let noHook = "The project has no forge_hook_id: catch-up reads that webhook's deliveries. Set it on the project (docs/forges.md)."

    /// A webhook payload the forge kept, decoded as its webhook would have been.
    static func decode(_ forge: Forge, kind: String, _ payload: JSONValue) -> ForgeEvent? {
        var writer = JSONWriter()
        writer.value(payload)
        let bytes = writer.bytes
        switch forge {
        case .gitlab:
            guard let document = try? GitLabWebhook.parse(bytes) else { return nil }
            return try? GitLabWebhook.decode(event: kind, document: document)
        case .github:
            guard let document = try? GitHubWebhook.parse(Data(bytes)) else { return nil }
            return (try? GitHubWebhook.decode(event: kind, document: document)) ?? nil
        case .gitea:
            return nil
        }
    }

    /// The stored project as the forge's events name it.
    static func forgeProject(_ stored: Project) -> ForgeProject {
        ForgeProject(
            id: stored.forgeID, pathWithNamespace: stored.forgePath, name: stored.name, namespaceName: stored.namespacePath ?? "",
            webURL: stored.webURL, defaultBranch: stored.defaultBranch, forge: stored.forge)
    }
}
