import HTTPTypes
import Hummingbird
import Integration
import Store

/// The delivery log for the command line (`jira-bridge deliveries`), with the API's rules and JSON.
public struct DeliveryOperator: Sendable {
    let store: any DeliveryLogStore & HoldStore & IntegrationStore & ProjectStore

    public init(store: any DeliveryLogStore & HoldStore & IntegrationStore & ProjectStore) { self.store = store }

    public struct Listing: Sendable {
        public var project: String
        public var items: [Delivery]
        public var total: Int
        /// Pending and running deliveries, and webhook events not planned yet, of the project.
        public var unfinished: Int
        public var json: String
    }

    /// The project named as the API names it (`42`, `acme/shop`, `github:186853002`), or a usage error.
    func project(_ reference: String) async throws -> Project {
        guard let project = try await Lookup(store: store).project(reference: reference) else {
            throw APIError(.notFound, message: "no project '\(reference.prefix(200))' (the API's id, full path, or forge:id)")
        }
        return project
    }

    /// A project's deliveries, newest first, as `GET .../deliveries` answers them.
    public func list(project reference: String, status: String?, issue: String?, limit: Int) async throws -> Listing {
        let project = try await project(reference)
        let filter: DeliveryFilter
        do { filter = try DeliveriesController.filter(status: status, issue: issue) } catch { throw APIError(error) }
        let listed = try await DeliveryLogService(store: store).page(of: project, filter: filter, limit: limit, offset: 0)
        let unfinished = try await store.unfinishedWork(projectID: project.id)
        var writer = JSONWriter()
        writer.value(.array(listed.items.map { DeliveriesController.render($0, holds: listed.holds) }))
        return Listing(project: project.pathWithNamespace, items: listed.items, total: listed.total, unfinished: unfinished, json: writer.text)
    }

    /// Pending and running deliveries and unplanned events of a project (what `--wait` waits for).
    public func unfinished(project reference: String) async throws -> Int {
        try await store.unfinishedWork(projectID: try await project(reference).id)
    }

    /// Requeues failed or dead deliveries of the project by id; answers what became of each.
    public func retry(project reference: String, ids: [Int64]) async throws -> [(id: Int64, requeued: Bool, reason: String?)] {
        let project = try await project(reference)
        var result: [(id: Int64, requeued: Bool, reason: String?)] = []
        let service = DeliveryLogService(store: store)
        for id in ids {
            do {
                _ = try await service.retry(id, in: project)
                result.append((id, true, nil))
            } catch DeliveryLogService.Refusal.notFound {
                result.append((id, false, "no delivery \(id) in \(project.pathWithNamespace)"))
            } catch let refusal as DeliveryLogService.Refusal {
                result.append((id, false, "delivery \(id): \(refusal.message)"))
            }
        }
        return result
    }

    /// Requeues every failed or dead delivery of the project; answers how many.
    public func retryAllFailed(project reference: String) async throws -> Int {
        try await DeliveryLogService(store: store).retryAllFailed(in: try await project(reference))
    }
}
