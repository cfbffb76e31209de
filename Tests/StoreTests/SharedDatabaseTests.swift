import Foundation
import Integration
import Logging
import Synchronization
import TestDatabases
import Testing

@testable import Store

@Suite("Work bell")
struct WorkBellTests {
    @Test("a ring while nobody waits is kept for the next wait; a ring wakes a waiter; a wait without one times out")
    func bell() async throws {
        let bell = WorkBell()
        bell.ring()
        let clock = ContinuousClock()
        let kept = try await clock.measure { await bell.wait(upTo: .seconds(30)) }
        #expect(kept < .seconds(10))
        let waiter = Task { try await clock.measure { await bell.wait(upTo: .seconds(30)) } }
        // Rung once the waiter waits (the bell says so), not after a guessed pause.
        #expect(await eventually { bell.waiting > 0 })
        bell.ring()
        #expect(try await waiter.value < .seconds(10))
        let quiet = try await clock.measure { await bell.wait(upTo: .milliseconds(100)) }
        #expect(quiet >= .milliseconds(100))
    }
}

/// Two stores on one PostgreSQL database: what two processes share (the throwaway cluster of `scripts/test`).
@Suite("Processes on one PostgreSQL database", .enabled(if: TestDatabases.postgresURL != nil))
struct SharedDatabaseTests {
    func withTwoStores(_ body: (SQLStore, SQLStore) async throws -> Void) async throws {
        let settings = try await TestDatabases.createPostgres()
        let key = SecretBox.generateKey()
        let a = SQLStore(database: try await PostgreSQLDatabase.open(settings), secrets: SecretBox(base64Key: key)!)
        let b = SQLStore(database: try await PostgreSQLDatabase.open(settings), secrets: SecretBox(base64Key: key)!)
        do {
            try await a.database.whileRunning {
                try await b.database.whileRunning {
                    try await a.migrate()
                    try await b.migrate()
                    try await body(a, b)
                }
            }
        } catch {
            await a.database.close(); await b.database.close()
            await TestDatabases.dropPostgres(settings)
            throw error
        }
        await a.database.close(); await b.database.close()
        await TestDatabases.dropPostgres(settings)
    }

    func push(key: String?) -> (incoming: IncomingEvent, registration: ProjectRegistration) {
        (
            IncomingEvent(
                deliveryKey: key,
                event: .push(
                    PushEvent(
                        project: ForgeProject(
                            id: 42, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme", webURL: "https://g/acme/shop",
                            defaultBranch: "main"),
                        ref: "refs/heads/main", before: "", after: "", commits: [], pusher: ForgeUser(name: "", username: "")))),
            registration(42, "acme/shop")
        )
    }

    @Test("the same delivery key sent to two processes at once is one event with one id")
    func redeliveryAcrossProcesses() async throws {
        try await withTwoStores { a, b in
            for n in 0..<20 {
                async let first = a.recordEvents([push(key: "uuid-\(n)")])
                async let second = b.recordEvents([push(key: "uuid-\(n)")])
                let ids = try await [first[0].get(), second[0].get()]
                #expect(ids[0].id == ids[1].id, "uuid-\(n)")
                #expect(ids.filter(\.duplicate).count == 1)
            }
            #expect(try await a.queueDepth().events == 20)
        }
    }

    @Test("claims from two processes at once never exceed the per-site limit together, nor run one issue twice")
    func globalSiteLimit() async throws {
        try await withTwoStores { a, b in
            _ = try await a.registerProject(registration(42, "acme/shop"))
            let rows = (0..<200).map { n in
                NewDelivery(
                    eventID: "e", projectID: 42, site: "https://s.example",
                    planned: PlannedDelivery(
                        action: .comment, issueKey: "P-\(n % 20)", dedupeKey: "comment|\(n)", work: .comment(body: "c\(n)")))
            }
            _ = try await a.finishPlanning(batch: [PlannedEvent(eventID: "e", deliveries: rows)], now: 1)
            let now = Millis(Date().timeIntervalSince1970 * 1000)
            for _ in 0..<10 {
                async let fromA = a.claimDeliveries(owner: "a", limit: 32, perSiteLimit: 3, leaseMillis: 60_000, now: now)
                async let fromB = b.claimDeliveries(owner: "b", limit: 32, perSiteLimit: 3, leaseMillis: 60_000, now: now)
                let (claimedA, claimedB) = try await (fromA, fromB)
                let running = try await a.database.read { db in
                    try await SQLRow.fetchAll(db, sql: "SELECT issue_key FROM deliveries WHERE status = 'running'").map { $0["issue_key"] as String }
                }
                #expect(claimedA.count + claimedB.count == running.count)
                #expect(running.count <= 3)
                #expect(Set(running).count == running.count, "one writer per issue")
                for d in claimedA { try await a.completeDelivery(id: d.id, owner: "a", outcome: .succeeded, followUps: [], now: now) }
                for d in claimedB { try await b.completeDelivery(id: d.id, owner: "b", outcome: .succeeded, followUps: [], now: now) }
            }
            #expect(try await a.queueDepth().deliveries == 200 - 10 * 3, "each round claimed the limit")
        }
    }

    @Test("new work committed by one process wakes the other's idle loop (LISTEN/NOTIFY)")
    func notifications() async throws {
        try await withTwoStores { a, b in
            let listener = Task { try await b.listener(logger: Logger(label: "listener"))!.run() }
            defer { listener.cancel() }
            let woken = Mutex(false)
            let waiter = Task { () -> Bool in
                let clock = ContinuousClock()
                let start = clock.now
                await b.bells[.events].wait(upTo: .seconds(60))
                woken.withLock { $0 = true }
                return clock.now - start < .seconds(30)
            }
            // The listener connects in the background: announce until it hears one. Only a notification
            // can ring b's bell: b itself records nothing.
            var n = 0
            try await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
                n += 1
                _ = try await a.recordEvents([push(key: "notify-\(n)")])
                return woken.withLock { $0 }
            }
            #expect(await waiter.value, "woken by a notification, not by the 60 s timeout")
        }
    }
}
