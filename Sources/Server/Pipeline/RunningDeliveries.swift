import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// The deliveries this process runs now: the heartbeat renews these leases and no others.
final class RunningDeliveries: Sendable {
    private let members = Mutex<Set<Int64>>([])

    func insert(_ ids: [Int64]) { members.withLock { $0.formUnion(ids) } }
    func remove(_ id: Int64) { _ = members.withLock { $0.remove(id) } }
    var ids: [Int64] { members.withLock { Array($0) } }
    var count: Int { members.withLock { $0.count } }
}
