import Foundation
import Integration
import Store
import TestDatabases
import Testing

@testable import Server

/// Group commit of webhooks (`IntakeCommitter`): many senders at once share few transactions, no more of them in
/// flight than the store allows, and each sender is answered for its own event only.
@Suite("Intake group commit")
struct IntakeCommitterTests {
    /// The real store, counting the intake transactions in flight.
    final class CountingStore: IntakeStore, @unchecked Sendable {
        let store: SQLStore
        let allowed: Int
        let counts = NSLock()
        var inFlight = 0
        var most = 0
        var batches = 0
        var clock: WallClock { store.clock }
        var concurrentIntakeCommits: Int { allowed }

        init(_ store: SQLStore, allowed: Int) {
            self.store = store
            self.allowed = allowed
        }

        func recordEvents(
            _ batch: [(incoming: IncomingEvent, registration: ProjectRegistration)]
        ) async throws -> [Result<(id: String, duplicate: Bool), StoreError>] {
            counts.withLock {
                inFlight += 1
                most = max(most, inFlight)
                batches += 1
            }
            defer { counts.withLock { inFlight -= 1 } }
            return try await store.recordEvents(batch)
        }
    }

    func push(_ key: String) -> IncomingEvent {
        IncomingEvent(
            deliveryKey: key,
            event: .push(
                PushEvent(
                    project: ForgeProject(
                        id: 42, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme", webURL: "https://g/acme/shop",
                        defaultBranch: "main"),
                    ref: "refs/heads/main", before: "", after: "", commits: [], pusher: ForgeUser(name: "", username: ""))))
    }

    func withStore(_ body: (SQLStore) async throws -> Void) async throws { try await withStandaloneStore(body) }

    @Test(
        "300 senders at once: each answered for its own event, redeliveries as duplicates, in few transactions, never more in flight than allowed",
        arguments: [1, 4])
    func sharedCommits(allowed: Int) async throws {
        try await withStore { store in
            let counting = CountingStore(store, allowed: allowed)
            let committer = IntakeCommitter(store: counting)
            let registration = ProjectRegistration(
                id: 42, pathWithNamespace: "acme/shop", name: "Shop", webURL: "https://g/acme/shop", defaultBranch: "main")
            // Keys 0..<250, and 50 of them sent twice.
            let keys = (0..<250).map { "k-\($0)" } + (0..<50).map { "k-\($0 * 5)" }
            let answers = try await withThrowingTaskGroup(of: (String, String, Bool).self) { group in
                for key in keys {
                    group.addTask {
                        let answer = try await committer.record(push(key), registration: registration)
                        return (key, answer.id, answer.duplicate)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.count == 300)
            var idsByKey: [String: Set<String>] = [:]
            for (key, id, _) in answers { idsByKey[key, default: []].insert(id) }
            #expect(idsByKey.count == 250)
            #expect(idsByKey.values.allSatisfy { $0.count == 1 }, "a key sent twice is answered with the first event's id")
            #expect(answers.filter(\.2).count == 50, "each second sending is a duplicate")
            #expect(try await store.queueDepth().events == 250)
            let (most, batches) = counting.counts.withLock { (counting.most, counting.batches) }
            #expect(most <= allowed)
            #expect(batches < 150, "senders that arrive together share transactions (\(batches) for 300)")
        }
    }
}
