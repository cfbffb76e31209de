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

    struct DeliveriesView: ViewModel {
        struct Row: ViewModel {
            var id: Int64
            var projectID: String
            var issueKey: String
            var action: String
            var status: String
            var attempts: Int
            var lastError: String
            var updated: String
            var updatedShort: String
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
        var project: ProjectView
        var deliveries: [Row]
        var hasDeliveries: Bool
        var total: Int
        var eventNotes: [Note]
        var hasEventNotes: Bool
        var prev: Int?
        var next: Int?
    }

    func deliveriesPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        let identity = try context.requireIdentity()
        guard try await access.allows(identity, .reporter, project: project) else { throw WebError.forbidden }
        let canRetry = try await access.allows(identity, .maintainer, project: project)
        let page = QueryForm(request).webPage(perPage: 50)
        let (items, total) = try await store.deliveries(projectID: project.id, limit: page.perPage, offset: page.offset)
        let rows = items.map { d in
            let updated = isoTimestamp(d.updatedAt)
            return DeliveriesView.Row(id: d.id, projectID: project.address, issueKey: d.issueKey, action: d.action.rawValue, status: d.status.rawValue,
                                      attempts: d.attempts, lastError: d.lastError ?? "", updated: updated, updatedShort: Self.short(updated),
                                      retryable: canRetry && (d.status == .failed || d.status == .dead))
        }
        // Events that reached a limit or could not be planned: what they did not do is said here too.
        let notes = try await store.eventNotes(projectID: project.id, limit: 20, offset: 0).items.map { e in
            let received = isoTimestamp(e.receivedAt)
            return DeliveriesView.Note(id: e.id, kind: e.kind, status: e.status, text: e.error ?? e.note ?? "", received: received,
                                       receivedShort: Self.short(received))
        }
        let view = DeliveriesView(project: ProjectView(project), deliveries: rows, hasDeliveries: !rows.isEmpty, total: total,
                                  eventNotes: notes, hasEventNotes: !notes.isEmpty, prev: page.page > 1 ? page.page - 1 : nil,
                                  next: page.hasNext(total: total) ? page.page + 1 : nil)
        let flash = request.uri.queryParameters.get("retried").map { Flash.ok("Delivery \($0) is queued again.") }
        return render("deliveries", view, context, breadcrumbs: [.home, .project(project)], flash: flash)
    }

    func retryDelivery(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let project = try await lookup.project(context)
        guard try await access.allows(try context.requireIdentity(), .maintainer, project: project) else { throw WebError.forbidden }
        _ = try await WebForm.read(request, context: context)
        guard let id = Int64(try context.parameters.require("delivery_id")), let d = try await store.delivery(id: id), d.projectID == project.id else {
            throw WebError.notFound("The delivery")
        }
        guard try await store.retryDelivery(id: id, now: store.clock.now()) != nil else {
            throw WebError(status: .badRequest, heading: "Not retried", message: "Only failed or dead deliveries can be retried; this one is \(d.status.rawValue).")
        }
        return redirect("/projects/\(project.address)/integrations/jira/deliveries?retried=\(id)")
    }
}
