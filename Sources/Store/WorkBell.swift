import Synchronization

/// What new work a bell announces: events to plan, or deliveries to run.
public enum WorkKind: String, Sendable, CaseIterable {
    case events
    case deliveries
}

/// Wakes a polling loop as soon as there is new work, instead of at its next poll. The store rings it when
/// it commits new events or deliveries; on PostgreSQL, other processes ring it through `NOTIFY`. A ring
/// that comes while nobody waits is kept, so the next wait returns at once: none is lost between a loop's
/// claim and its wait. Polling stays the fallback, so a lost notification costs one poll interval.
public final class WorkBell: Sendable {
    struct State {
        var rung = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    let state = Mutex(State())

    public init() {}

    /// How many tasks wait for the next ring now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    public func ring() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            let all = Array(s.waiters.values)
            s.waiters = [:]
            s.rung = all.isEmpty
            return all
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at the next ring (or at once if one came since the last wait), or after `timeout` as
    /// `sleeper` measures it.
    public func wait(upTo timeout: Duration, sleeper: Sleeper = .system) async {
        if state.withLock({ s in
            defer { s.rung = false }; return s.rung
        }) {
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await sleeper.sleep(for: timeout) }
            group.addTask { await self.nextRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextRing() async {
        let id = state.withLock { s in
            s.next += 1; return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    if s.rung { s.rung = false; return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s in s.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// The bells of one process, one per kind of work. The store rings them when it commits new work; on
/// PostgreSQL, `WorkListener` rings them when another process announces some.
public final class WorkBells: Sendable {
    let bells: [WorkKind: WorkBell] = Dictionary(uniqueKeysWithValues: WorkKind.allCases.map { ($0, WorkBell()) })

    public init() {}

    public subscript(_ kind: WorkKind) -> WorkBell { bells[kind]! }
}
