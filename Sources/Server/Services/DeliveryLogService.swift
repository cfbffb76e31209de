import Integration
import Store

/// The delivery log's use cases, for the API, the pages and the command line alike: each edge checks who may
/// call and renders the answer; what happens, and the words of a refusal, are decided here once.
public struct DeliveryLogService: Sendable {
    let store: any DeliveryLogStore & HoldStore & IntegrationStore

    public init(store: any DeliveryLogStore & HoldStore & IntegrationStore) { self.store = store }

    /// Why a retry did not happen.
    public enum Refusal: Error, Equatable, Sendable {
        /// No delivery with this id in the project.
        case notFound(Int64)
        /// The delivery is not in a status a retry requeues (`DeliveryStatus.retryable`).
        case notRetryable(Int64, DeliveryStatus)

        public var message: String {
            switch self {
            case .notFound: return "404 Delivery Not Found"
            case .notRetryable(_, let status): return status.notRetryableReason
            }
        }
    }

    /// One page of a project's deliveries, newest first, with the credential holds the paused ones wait on.
    public struct Page: Sendable {
        public var items: [Delivery]
        public var total: Int
        public var holds: [String: CredentialHold]
    }

    public func page(of project: Project, filter: DeliveryFilter, limit: Int, offset: Int) async throws -> Page {
        let (items, total) = try await store.deliveries(projectID: project.id, filter: filter, limit: limit, offset: offset)
        var holds: [String: CredentialHold] = [:]
        for key in Set(items.compactMap(\.holdKey)) {
            if let hold = try await store.credentialHold(key: key) { holds[key] = hold }
        }
        return Page(items: items, total: total, holds: holds)
    }

    /// Requeues one failed, dead or paused delivery of the project.
    public func retry(_ id: Int64, in project: Project) async throws -> Delivery {
        guard let existing = try await store.delivery(id: id), existing.projectID == project.id else { throw Refusal.notFound(id) }
        guard existing.status.isRetryable, let requeued = try await store.retryDelivery(id: id, now: store.clock.now()) else {
            // Between the read and the update another process may have retried it: its status now says why.
            let now = try await store.delivery(id: id)?.status ?? existing.status
            throw Refusal.notRetryable(id, now.isRetryable ? existing.status : now)
        }
        return requeued
    }

    /// Requeues every failed or dead delivery of the project ("Retry all failed"); answers how many.
    public func retryAllFailed(in project: Project) async throws -> Int {
        try await store.retryAllFailedDeliveries(projectID: project.id, now: store.clock.now())
    }
}

extension APIError {
    /// The API's rendering of a refused retry: GitLab's 404 for a delivery not in the project, else a 400.
    init(_ refusal: DeliveryLogService.Refusal) {
        switch refusal {
        case .notFound: self = APIError(.notFound, message: refusal.message)
        case .notRetryable: self = APIError(.badRequest, message: refusal.message)
        }
    }
}

extension WebError {
    /// The pages' rendering of a refused retry.
    init(_ refusal: DeliveryLogService.Refusal) {
        switch refusal {
        case .notFound: self = WebError.notFound("The delivery")
        case .notRetryable: self = WebError(status: .badRequest, heading: "Not retried", message: refusal.message)
        }
    }
}
