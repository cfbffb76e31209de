import Integration
import Store
import Synchronization

/// Group commit for webhook intake: webhooks that arrive while a commit is in flight are stored together
/// in the next transaction, so 64 concurrent senders cost a few commits instead of 64 queued ones. Each
/// caller still gets its answer only after its own event is committed. The store says how many commits may
/// be in flight at once (`IntakeStore.concurrentIntakeCommits`): on PostgreSQL a batch is stored while the one
/// before waits for the disk.
final class IntakeCommitter: Sendable {
    typealias Item = (incoming: IncomingEvent, registration: ProjectRegistration)
    typealias Answer = Result<(id: String, duplicate: Bool), any Error>

    private struct State {
        var pending: [(Item, CheckedContinuation<Answer, Never>)] = []
        var flushing = 0
    }

    private let store: any IntakeStore
    private let state = Mutex(State())
    /// The most events one transaction takes.
    static let maxBatch = 256

    init(store: any IntakeStore) {
        self.store = store
    }

    func record(_ incoming: IncomingEvent, registration: ProjectRegistration) async throws -> (id: String, duplicate: Bool) {
        let answer: Answer = await withCheckedContinuation { continuation in
            let startFlush = state.withLock { s -> Bool in
                s.pending.append(((incoming, registration), continuation))
                if s.flushing >= max(1, store.concurrentIntakeCommits) { return false }
                s.flushing += 1
                return true
            }
            if startFlush {
                Task { await self.flushUntilEmpty() }
            }
        }
        return try answer.get()
    }

    private func flushUntilEmpty() async {
        while true {
            let batch = state.withLock { s -> [(Item, CheckedContinuation<Answer, Never>)] in
                let taken = Array(s.pending.prefix(Self.maxBatch))
                s.pending.removeFirst(taken.count)
                if taken.isEmpty { s.flushing -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            do {
                let results = try await store.recordEvents(batch.map(\.0))
                for (i, entry) in batch.enumerated() {
                    entry.1.resume(returning: results[i].mapError { $0 as any Error })
                }
            } catch {
                for entry in batch { entry.1.resume(returning: .failure(error)) }
            }
        }
    }
}
