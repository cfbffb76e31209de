import Foundation
import Integration
import Logging
import Store

/// Catch-up use cases (the API, `jira-bridge catch-up`, and the server's start): queue one, and tell how it
/// goes. A catch-up is a chain of deliveries, one page each (`CatchUp`).
public struct CatchUpService: Sendable {
    let store: any BridgeStore

    public init(store: any BridgeStore) { self.store = store }

    /// Queues a catch-up of `project` from its latest event taken in (never further back than the forge keeps its
    /// record), unless one is running. Refuses what cannot work: no active integration, no forge API token, no
    /// `forge_hook_id` on GitHub and GitLab.
    public func start(_ project: Project) async throws -> BackfillService.State {
        guard let record = try await store.integration(at: .project(project.id)), record.settings.active, let url = record.settings.clientURL
        else {
            throw ServiceFailure.notConfigured
        }
        if project.forge != .gitea, project.forgeHookID == nil {
            throw ServiceFailure.badParameter(
                "forge_hook_id is not set: catch-up reads the deliveries of the forge's webhook that calls jira-bridge; set its id on the project")
        }
        guard let chain = try await store.ancestorChain(of: .project(project.id)), try await store.forgeAPIAccess(on: chain) != nil else {
            throw ServiceFailure.badParameter("no forge API token is saved for the project or its groups (forge_api_token): nothing can be read")
        }
        let current = try await state(project)
        if current.status == "running" {
            throw ServiceFailure.conflict("A catch-up of this project is already running (\(current.pages) page(s) so far)")
        }
        let now = store.clock.now()
        _ = try await store.enqueue([try await delivery(project, site: JiraSite.key(url), run: now, now: now)], now: now)
        return try await state(project)
    }

    /// The first page's delivery: from ten minutes before the project's latest event (the forge's clock and this
    /// machine's may differ; what is read twice is taken once), at most the forge's retention back.
    func delivery(_ project: Project, site: String, run: Int64, now: Millis) async throws -> NewDelivery {
        let oldest = now - CatchUp.retentionMillis(project.forge)
        let since = max(oldest, (try await store.lastEventReceived(projectID: project.id)).map { $0 - CatchUp.clockMargin } ?? oldest)
        let work = CatchUpWork.start(forge: project.forge, run: run, repositoryID: BackfillService.repositoryID(project), since: since)
        return NewDelivery(eventID: "catch-up-\(run)", projectID: project.id, site: site, planned: work.planned())
    }

    public func state(_ project: Project) async throws -> BackfillService.State {
        try await BackfillService.chainState(store, project, issueKey: CatchUp.issueKey(BackfillService.repositoryID(project))) {
            if case .catchUp(let w) = $0 { return w.run } else { return nil }
        }
    }

    /// At the server's start: a catch-up for each project that can have one (an active integration, a forge API
    /// token, a `forge_hook_id` on GitHub and GitLab) and took in an event within the forge's retention (one that
    /// did not has nothing the forge still keeps). Processes that start within the same ten minutes share one
    /// (the run is the start time rounded down). At most `limit` projects are looked at.
    public func onStart(limit: Int = 10_000, logger: Logger) async {
        let now = store.clock.now()
        let run = now - now % 600_000
        var queued = 0
        var offset = 0
        do {
            while offset < limit {
                let page = try await store.projects(within: .instance, offset: offset, limit: 200)
                var batch: [NewDelivery] = []
                for project in page.items where project.forge == .gitea || project.forgeHookID != nil {
                    guard let record = try await store.integration(at: .project(project.id)), record.settings.active,
                        let url = record.settings.clientURL,
                        let last = try await store.lastEventReceived(projectID: project.id),
                        last >= now - CatchUp.retentionMillis(project.forge),
                        let chain = try await store.ancestorChain(of: .project(project.id)), try await store.forgeAPIAccess(on: chain) != nil
                    else { continue }
                    batch.append(try await delivery(project, site: JiraSite.key(url), run: run, now: now))
                }
                queued += try await store.enqueue(batch, now: now)
                offset += 200
                if page.items.count < 200 { break }
            }
            if queued > 0 { logger.notice("catch-up queued at start", metadata: ["projects": "\(queued)"]) }
        } catch {
            logger.error("catch-up at start failed", metadata: ["error": "\(error)"])
        }
    }

    /// For the command line, as `BackfillService.command`.
    public func command(project reference: String, start: Bool) async throws -> (project: String, state: BackfillService.State) {
        try await BackfillService.command(store, reference) { start ? try await self.start($0) : try await state($0) }
    }
}
