import Foundation
import Integration
import Store

/// Backfill use cases (the API, the project page and `jira-bridge backfill`): start one, and tell how it goes.
/// A backfill is a chain of deliveries, one page each (`Backfill`); its state is read from them.
public struct BackfillService: Sendable {
    let store: any BridgeStore

    public init(store: any BridgeStore) { self.store = store }

    /// How a project's latest backfill stands.
    public struct State: Sendable, Equatable {
        /// `none`, `running`, `done` or `failed`.
        public var status: String
        public var startedAt: Millis?
        public var pages: Int
        /// The last page's answer or error.
        public var last: String?

        /// One line for the command line: `backfill of acme/shop: done, 5 page(s); last: ...`.
        public func line(_ subject: String) -> String {
            var line = "\(subject): \(status)"
            if pages > 0 { line += ", \(pages) page(s)" }
            if let last { line += "; last: " + String(last.prefix(300)).replacingOccurrences(of: "\n", with: " ") }
            return line
        }

        public var json: JSONValue {
            .object([
                "status": .string(status), "started_at": startedAt.map { .string(isoTimestamp($0)) } ?? .null,
                "pages": .number(Double(pages)), "last": last.map(JSONValue.string) ?? .null,
            ])
        }
    }

    /// Starts a backfill of `project`, unless one is running. Refuses what cannot work: no active integration on
    /// Jira Cloud with the Development panel on and its OAuth credentials, or no forge API token.
    public func start(_ project: Project) async throws -> State {
        guard let record = try await store.integration(at: .project(project.id)), record.settings.active else {
            throw ServiceFailure.notConfigured
        }
        let settings = record.settings
        if settings.deploymentType == .server {
            throw ServiceFailure.badParameter("Jira Server and Data Center have no Development panel API: there is nothing to backfill")
        }
        guard settings.developmentPanelEnabled else {
            throw ServiceFailure.badParameter("the Development panel is turned off (development_panel_enabled)")
        }
        guard !(settings.oauthClientID ?? "").isEmpty, !(settings.oauthClientSecret ?? "").isEmpty else {
            throw ServiceFailure.badParameter("no OAuth credentials are saved for the Development panel (oauth_client_id, oauth_client_secret)")
        }
        guard let chain = try await store.ancestorChain(of: .project(project.id)), try await store.forgeAPIAccess(on: chain) != nil else {
            throw ServiceFailure.badParameter(
                "no forge API token is saved for the project or its groups (forge_api_token): the history cannot be read")
        }
        let current = try await state(project)
        if current.status == "running" {
            throw ServiceFailure.conflict("A backfill of this project is already running (\(current.pages) page(s) so far)")
        }
        let now = store.clock.now()
        let work = BackfillWork.start(run: now, repositoryID: Self.repositoryID(project))
        guard let url = settings.clientURL else { throw ServiceFailure.notConfigured }
        let site = JiraSite.key(url)
        _ = try await store.enqueue([NewDelivery(eventID: "backfill-\(now)", projectID: project.id, site: site, planned: work.planned())], now: now)
        return try await state(project)
    }

    /// The latest backfill's pages: running while one is pending or running, failed when one failed or died.
    public func state(_ project: Project) async throws -> State {
        try await Self.chainState(store, project, issueKey: Backfill.issueKey(Self.repositoryID(project))) {
            if case .backfill(let w) = $0 { return w.run } else { return nil }
        }
    }

    /// How the latest chain of pages under `issueKey` stands (`run` names the chain a page's work belongs to).
    static func chainState(
        _ store: any BridgeStore, _ project: Project, issueKey: String, run: (DeliveryWork) -> Int64?
    ) async throws -> State {
        let (items, _) = try await store.deliveries(projectID: project.id, filter: DeliveryFilter(issueKey: issueKey), limit: 200, offset: 0)
        let pages = items.compactMap { d in run(d.work).map { (d, $0) } }
        guard let latestRun = pages.map(\.1).max() else { return State(status: "none", startedAt: nil, pages: 0, last: nil) }
        let latest = pages.filter { $0.1 == latestRun }.map(\.0).sorted { $0.id < $1.id }
        let last = latest.last!
        let status: String
        switch last.status {
        case .pending, .running, .paused: status = "running"
        case .failed, .dead: status = "failed"
        case .succeeded, .skipped: status = "done"
        }
        return State(status: status, startedAt: latestRun, pages: latest.count, last: last.lastError)
    }

    /// For the command line: the project named as the API names it, then `start` (or only its `state`), with a
    /// refusal as the API words it.
    public func command(project reference: String, start: Bool) async throws -> (project: String, state: State) {
        try await Self.command(store, reference) { start ? try await self.start($0) : try await state($0) }
    }

    /// Runs `body` on the project named as the API names it, with a refusal worded as the API's.
    static func command<T: Sendable>(
        _ store: any BridgeStore, _ reference: String, _ body: (Project) async throws -> T
    ) async throws -> (
        project: String, state: T
    ) {
        guard let project = try await Lookup(store: store).project(reference: reference) else {
            throw APIError(.notFound, message: "no project '\(reference.prefix(200))' (the API's id, full path, or forge:id)")
        }
        do {
            return (project.pathWithNamespace, try await body(project))
        } catch let failure as ServiceFailure {
            throw APIError(failure)
        }
    }

    static func repositoryID(_ project: Project) -> String { "\(project.forge.rawValue)-\(project.forgeID)" }
}
