import HTTPTypes
import Hummingbird
import Integration
import Store

/// The delivery log: `GET .../integrations/jira/deliveries`, `POST .../deliveries/:delivery_id/retry`.
struct DeliveriesController: Sendable {
    let store: any BridgeStore
    let access: AccessPolicy
    var lookup: Lookup { Lookup(store: store) }

    func addRoutes(to router: RouterGroup<BridgeRequestContext>) {
        router.get("/api/v4/projects/:id/integrations/jira/deliveries") { request, context in
            try await list(request, context) { try await store.deliveries(projectID: $0, limit: $1.perPage, offset: $1.offset) } render: { Self.render($0) }
        }
        router.get("/api/v4/projects/:id/integrations/jira/events") { request, context in
            try await list(request, context) { try await store.eventNotes(projectID: $0, limit: $1.perPage, offset: $1.offset) } render: { Self.render($0) }
        }
        router.post("/api/v4/projects/:id/integrations/jira/deliveries/:delivery_id/retry") { _, context in
            let project = try await lookup.project(context)
            try await access.require(context, .maintainer, project: project)
            guard let id = Int64(try context.parameters.require("delivery_id")),
                  let existing = try await store.delivery(id: id), existing.projectID == project.id else {
                throw APIError(.notFound, message: "404 Delivery Not Found")
            }
            guard let requeued = try await store.retryDelivery(id: id, now: store.clock.now()) else {
                throw APIError(.badRequest, message: "Only failed or dead deliveries can be retried; this one is \(existing.status.rawValue).")
            }
            return try JSONBody.response(Self.render(requeued))
        }
    }

    /// A paginated list of a project's rows, for its reporters.
    private func list<Item>(_ request: Request, _ context: BridgeRequestContext,
                            fetch: (Int64, PageRequest) async throws -> (items: [Item], total: Int),
                            render: (Item) -> JSONValue) async throws -> Response {
        let project = try await lookup.project(context)
        try await access.require(context, .reporter, project: project)
        let page = try QueryForm(request).pageRequest()
        let (items, total) = try await fetch(project.id, page)
        return try JSONBody.response(.array(items.map(render)), headers: Pagination.headers(page, total: total))
    }

    static func render(_ e: EventNote) -> JSONValue {
        .object([
            "id": .string(e.id), "kind": .string(e.kind), "status": .string(e.status), "attempts": .number(Double(e.attempts)),
            "note": e.note.map { .string($0) } ?? .null, "error": e.error.map { .string($0) } ?? .null,
            "received_at": .string(isoTimestamp(e.receivedAt)),
        ])
    }

    static func render(_ d: Delivery) -> JSONValue {
        .object([
            "id": .number(Double(d.id)),
            "event_id": .string(d.eventID),
            "issue_key": .string(d.issueKey),
            "jira_site": .string(d.site),
            "action": .string(d.action.rawValue),
            "status": .string(d.status.rawValue),
            "attempts": .number(Double(d.attempts)),
            "last_error": d.lastError.map { .string($0) } ?? .null,
            "next_run_at": d.status == .pending ? .string(isoTimestamp(d.nextRunAt)) : .null,
            "created_at": .string(isoTimestamp(d.createdAt)),
            "updated_at": .string(isoTimestamp(d.updatedAt)),
        ])
    }
}
