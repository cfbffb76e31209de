import Hummingbird
import Store

/// `GET /projects/:id/integrations/jira/events`: the event log. Every webhook taken in for the project, newest
/// first, with what it planned or why it planned nothing (the API's `GET .../integrations/jira/events`).
extension WebController {
    struct EventsView: ViewModel {
        struct Row: ViewModel {
            var id: String
            var forge: String
            var kind: String
            var status: String
            var deliveries: Int
            var outcome: String
            /// The rest of the note (limits reached), after the outcome.
            var detail: String
            var received: String
            var receivedShort: String
            var quiet: Bool
        }
        var project: ProjectView
        var events: [Row]
        var hasEvents: Bool
        var total: Int
        var notedOnly: Bool
        var prev: Int?
        var next: Int?
    }

    func eventsPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let query = QueryForm(request)
        let page = query.webPage(perPage: 50)
        let notedOnly = (try? query.boolean("noted")) == true
        let (items, total) = try await store.eventLog(projectID: project.id, notedOnly: notedOnly, limit: page.perPage, offset: page.offset)
        let rows = items.map { e in
            let received = isoTimestamp(e.receivedAt)
            let outcome = DeliveriesController.outcome(e)
            var detail = e.note ?? ""
            if detail.hasPrefix(outcome) { detail = String(detail.dropFirst(outcome.count)).trimmingCharacters(in: .init(charactersIn: "; ")) }
            return EventsView.Row(
                id: e.id, forge: e.forge, kind: e.kind, status: e.status, deliveries: e.deliveries, outcome: outcome,
                detail: detail, received: received, receivedShort: Self.short(received), quiet: e.deliveries == 0)
        }
        let view = EventsView(
            project: ProjectView(project), events: rows, hasEvents: !rows.isEmpty, total: total, notedOnly: notedOnly,
            prev: page.page > 1 ? page.page - 1 : nil, next: page.hasNext(total: total) ? page.page + 1 : nil)
        return render("events", view, context, breadcrumbs: [.home, .project(project)])
    }
}
