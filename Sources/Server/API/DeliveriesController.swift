import HTTPTypes
import Hummingbird
import Integration
import Store

/// The delivery log: `GET .../integrations/jira/deliveries`, `POST .../deliveries/:delivery_id/retry`.
struct DeliveriesController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    var lookup: Lookup { Lookup(store: store) }
    var service: DeliveryLogService { DeliveryLogService(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.get("/api/v4/projects/:id/integrations/jira/deliveries") { request, context in
            let filter = try Self.filter(status: QueryForm(request).get("status"), issue: QueryForm(request).get("issue_key"))
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            let page = try QueryForm(request).pageRequest()
            let listed = try await service.page(of: project, filter: filter, limit: page.perPage, offset: page.offset)
            return try JSONBody.response(
                .array(listed.items.map { Self.render($0, holds: listed.holds) }), headers: Pagination.headers(page, total: listed.total))
        }
        router.get("/api/v4/projects/:id/integrations/jira/events") { request, context in
            let notedOnly = try QueryForm(request).boolean("noted") ?? false
            return try await list(request, context) {
                try await store.eventLog(projectID: $0, notedOnly: notedOnly, limit: $1.perPage, offset: $1.offset)
            } render: {
                Self.render($0)
            }
        }
        // A backfill: the last 400 merge requests and branches sent to the Development panel (`BackfillService`).
        router.post("/api/v4/projects/:id/integrations/jira/backfill") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            let state = try await BackfillService(store: store).start(project)
            return try JSONBody.response(state.json, status: .accepted)
        }
        router.get("/api/v4/projects/:id/integrations/jira/backfill") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            return try JSONBody.response(try await BackfillService(store: store).state(project).json)
        }
        // A catch-up: what the forge saw while jira-bridge was down, taken in (`CatchUpService`).
        router.post("/api/v4/projects/:id/integrations/jira/catch_up") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            return try JSONBody.response(try await CatchUpService(store: store).start(project).json, status: .accepted)
        }
        router.get("/api/v4/projects/:id/integrations/jira/catch_up") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .reporter, project: project)
            return try JSONBody.response(try await CatchUpService(store: store).state(project).json)
        }
        router.post("/api/v4/projects/:id/integrations/jira/deliveries/:delivery_id/retry") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            guard let id = Int64(try context.parameters.require("delivery_id")) else { throw APIError(.notFound, message: "404 Delivery Not Found") }
            do {
                return try JSONBody.response(Self.render(try await service.retry(id, in: project)))
            } catch let refusal as DeliveryLogService.Refusal {
                throw APIError(refusal)
            }
        }
    }

    /// A paginated list of a project's rows, for its reporters.
    private func list<Item>(
        _ request: Request, _ context: BridgeRequestContext,
        fetch: (Int64, PageRequest) async throws -> (items: [Item], total: Int),
        render: (Item) -> JSONValue
    ) async throws -> Response {
        let project = try await lookup.project(context)
        try await access.require(context, .reporter, project: project)
        let page = try QueryForm(request).pageRequest()
        let (items, total) = try await fetch(project.id, page)
        return try JSONBody.response(.array(items.map(render)), headers: Pagination.headers(page, total: total))
    }

    static func render(_ e: EventNote) -> JSONValue {
        .object([
            "id": .string(e.id), "forge": .string(e.forge), "kind": .string(e.kind), "status": .string(e.status),
            "attempts": .number(Double(e.attempts)), "deliveries": .number(Double(e.deliveries)),
            "outcome": .string(Self.outcome(e)), "note": e.note.map { .string($0) } ?? .null, "error": e.error.map { .string($0) } ?? .null,
            "received_at": .string(isoTimestamp(e.receivedAt)), "planned_at": e.plannedAt.map { .string(isoTimestamp($0)) } ?? .null,
        ])
    }

    /// What became of an event, in one sentence (the event log's API and page).
    static func outcome(_ e: EventNote) -> String {
        switch e.status {
        case "pending", "running": return "waiting to be planned"
        case "failed": return "planning failed: " + (e.error ?? "no reason was recorded")
        default: break
        }
        if let note = e.note, note.hasPrefix(EventNote.nothingPlanned) {
            return note.split(separator: ";", maxSplits: 1).first.map(String.init) ?? note
        }
        if e.deliveries > 0 { return e.deliveries == 1 ? "planned 1 delivery" : "planned \(e.deliveries) deliveries" }
        // Planned, but every delivery it called for was stored for an earlier event (a redelivery, the same commit
        // pushed to another branch), or pruned since.
        return "planned nothing new: what it calls for was planned for an earlier event (or has been pruned)"
    }

    /// `status` and `issue_key` of a list: blank means any; a status that does not exist or a key longer than
    /// any Jira key is a 400 that says what is accepted.
    static func filter(status: String?, issue: String?) throws(ServiceFailure) -> DeliveryFilter {
        var filter = DeliveryFilter()
        if let status = status?.trimmingCharacters(in: .whitespaces), !status.isEmpty {
            guard let s = DeliveryStatus(rawValue: status.lowercased()) else {
                throw ServiceFailure.badParameter("status must be one of pending, running, succeeded, skipped, failed, dead, paused")
            }
            filter.status = s
        }
        if let issue = issue?.trimmingCharacters(in: .whitespaces), !issue.isEmpty {
            guard issue.utf8.count <= 255 else { throw ServiceFailure.badParameter("issue_key is too long") }
            filter.issueKey = issue.uppercased()
        }
        return filter
    }

    /// The rejections the paused deliveries among `items` wait on, by hold key.
    /// A delivery as the API shows it; a paused one says since when Jira rejected its credentials
    /// (`credentials_rejected_since`, null for the others and for one whose rejection is being resumed).
    static func render(_ d: Delivery, holds: [String: CredentialHold] = [:]) -> JSONValue {
        let since = d.status == .paused ? d.holdKey.flatMap { holds[$0] }.map { JSONValue.string(isoTimestamp($0.since)) } : nil
        return .object([
            "credentials_rejected_since": since ?? .null,
            "id": .number(Double(d.id)),
            "event_id": .string(d.eventID),
            "issue_key": .string(d.issueKey),
            "jira_site": .string(d.site),
            "action": .string(d.action.rawValue),
            "status": .string(d.status.rawValue),
            "attempts": .number(Double(d.attempts)),
            "last_error": d.status == .succeeded ? .null : d.lastError.map { .string($0) } ?? .null,
            "answer": d.status == .succeeded ? d.lastError.map { .string($0) } ?? .null : .null,
            "development_info": { if case .developmentInfo(let w) = d.work { return w.entities } else { return .null } }(),
            "build_or_deployment": { if case .cloudData(let w) = d.work { return w.entities } else { return .null } }(),
            "backfill": {
                guard case .backfill(let w) = d.work else { return .null }
                return .object(["run": .number(Double(w.run)), "phase": .string(w.phase.rawValue), "page": .number(Double(w.page))])
            }(),
            "catch_up": {
                guard case .catchUp(let w) = d.work else { return .null }
                return .object([
                    "run": .number(Double(w.run)), "since": .string(isoTimestamp(w.since)), "phase": .string(w.phase.rawValue),
                    "page": .number(Double(w.page)), "taken": .number(Double(w.taken)),
                ])
            }(),
            "next_run_at": d.status == .pending ? .string(isoTimestamp(d.nextRunAt)) : .null,
            "created_at": .string(isoTimestamp(d.createdAt)),
            "updated_at": .string(isoTimestamp(d.updatedAt)),
            "source_url": d.sourceURL.map { .string($0) } ?? .null,
        ])
    }
}
