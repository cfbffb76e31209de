import Foundation
import GRDB
import Integration
import JiraEmulator
import Store
import Synchronization
import TestDatabases
import Testing

/// The real database, with its writes refused while `full` is set, as a full disk refuses them: SQLite's own
/// SQLITE_FULL error from inside the transaction (so the store's mapping of it runs), or on PostgreSQL the
/// store's error for class 53100.
final class DiskFullDatabase: SQLDatabase {
    let inner: any SQLDatabase
    private let state = Mutex((full: false, refused: 0, firstRefusal: ContinuousClock.Instant?.none))

    init(_ inner: any SQLDatabase) { self.inner = inner }

    var dialect: SQLDialect { inner.dialect }
    var full: Bool {
        get { state.withLock { $0.full } }
        set { state.withLock { $0.full = newValue } }
    }
    var refused: (count: Int, since: ContinuousClock.Instant?) { state.withLock { ($0.refused, $0.firstRefusal) } }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        let refuse = state.withLock { s -> Bool in
            guard s.full else { return false }
            s.refused += 1
            if s.firstRefusal == nil { s.firstRefusal = .now }
            return true
        }
        guard refuse else { return try await inner.write(body) }
        if dialect == .sqlite {
            return try await inner.write { _ in throw DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full") }
        }
        throw StoreError.storageFull("PostgreSQL cannot store more: could not extend file: No space left on device")
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) async throws -> T) async throws -> T { try await inner.read(body) }
    func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T { try await inner.whileRunning(body) }
    func migrate() async throws { try await inner.migrate() }
    func close() async { await inner.close() }
}

@Suite("Storage faults")
struct StorageFaultTests {
    @Test(
        "after a disk-full episode in the middle of deliveries the queue drains without a restart, each write once; meanwhile webhooks and readiness answer 503 saying the disk is full"
    )
    func diskFullEpisode() async throws {
        let holder = Mutex<DiskFullDatabase?>(nil)
        var options = Harness.Options()
        options.wrapDatabase = { inner in
            let wrapped = DiskFullDatabase(inner)
            holder.withLock { $0 = wrapped }
            return wrapped
        }
        try await Harness.run(options) { h in
            let disk = try #require(holder.withLock { $0 })
            try await h.configure(["comment_on_event_enabled": false])
            for _ in 1...12 { await h.emulator.addIssue(projectKey: "PROJ", summary: "x") }
            // Jira takes 600 ms to create each link: the deliveries are in flight when the disk fills.
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/remotelink", delayMilliseconds: 600, times: 1_000))
            let push = try await h.webhook("Push Hook", Payloads.push(commits: (1...12).map { (String(format: "%040x", $0), "PROJ-\($0) change") }))
            #expect(push.status == 202)
            // Wait until deliveries run, then fill the disk.
            try await eventually(interval: .milliseconds(10)) {
                try await h.store.database.read { db in
                    try await Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE status = 'running'") ?? 0
                } > 0
            }
            disk.full = true
            // The episode lasts until writes have been refused for 2.5 s (completions, heartbeats, claims).
            await eventually(timeout: .seconds(60), interval: .milliseconds(50)) {
                let (count, since) = disk.refused
                guard count >= 5, let since else { return false }
                return ContinuousClock.now - since > .milliseconds(2_500)
            }
            let refusedHook = try await h.webhook("Push Hook", Payloads.push(commits: [(String(format: "%040x", 99), "PROJ-1 again")]))
            #expect(refusedHook.status == 503)
            #expect(refusedHook.json["message"]?.string?.contains("disk is full") == true, "\(refusedHook.text)")
            let notReady = try await h.request(.GET, "/-/readiness")
            #expect(notReady.status == 503)
            disk.full = false
            let deliveries = try await h.settle(expecting: 12, timeout: .seconds(60))
            #expect(deliveries.count == 12)
            #expect(deliveries.allSatisfy { $0["status"] == "succeeded" }, "\(deliveries.map { $0["status"] ?? .null })")
            for n in 1...12 {
                let links = await h.issue("PROJ-\(n)").remoteLinks
                #expect(links.count == 1, "PROJ-\(n) has \(links.count) remote links")
            }
            // Ready again without a restart.
            try await eventually(timeout: .seconds(10), interval: .milliseconds(100)) { try await h.request(.GET, "/-/readiness").status == 200 }
            let ready = try await h.request(.GET, "/-/readiness")
            #expect(ready.status == 200, "\(ready.text)")
        }
    }

    @Test("readiness fails when the SQLite file is deleted or replaced under the server")
    func deletedDatabaseFile() async throws {
        guard !TestDatabases.onPostgres else { return }
        try await Harness.run { h in
            #expect(try await h.request(.GET, "/-/readiness").status == 200)
            try FileManager.default.removeItem(atPath: h.databasePath)
            let r = try await h.request(.GET, "/-/readiness")
            #expect(r.status == 503)
            #expect(r.json["message"]?.string?.contains("was deleted") == true, "\(r.text)")
            // Put back as another file: still not the one the server has open.
            FileManager.default.createFile(atPath: h.databasePath, contents: Data())
            let replaced = try await h.request(.GET, "/-/readiness")
            #expect(replaced.json["message"]?.string?.contains("was replaced") == true, "\(replaced.text)")
        }
    }

    @Test("readiness fails when a delivery is due and none runs for longer than the bound (a stuck queue)")
    func stuckQueueReadiness() async throws {
        try await Harness.run { h in
            let store = h.store
            let now = store.clock.now()
            // A delivery due eleven minutes ago that nothing claims: written with an owner that holds its lease
            // (a process that died an hour ago would have been released; this one stays as a stuck one would).
            let planned = PlannedDelivery(action: .comment, issueKey: "X-1", dedupeKey: "stuck", work: .comment(body: "c"))
            _ = try await store.finishPlanning(
                batch: [
                    PlannedEvent(
                        eventID: "e",
                        deliveries: [
                            NewDelivery(eventID: "e", projectID: 42, site: "https://stuck.example", planned: planned)
                        ])
                ], now: now - 660_000)
            try await store.database.write { db in
                try await db.execute(
                    sql: "UPDATE deliveries SET status = 'running', lease_owner = 'ghost', lease_until = ?, updated_at = ?",
                    arguments: [now + 3_600_000, now - 660_000])
            }
            let r = try await h.request(.GET, "/-/readiness")
            #expect(r.status == 503)
            #expect(r.json["message"]?.string?.contains("the queue is stuck") == true, "\(r.text)")
        }
    }
}

@Suite("Writes classed by safety")
struct WriteSafetyTests {
    @Test("a remote link whose connection dropped is sent again with the normal backoff (an upsert by globalId), and ends as one link")
    func remoteLinkRetriedAtOnce() async throws {
        try await Harness.run { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/remotelink", dropConnection: true))
            #expect(try await h.webhook("Push Hook", Payloads.push(commits: [(String(repeating: "b", count: 40), "PROJ-1 fix")])).status == 202)
            // Within the settle wait, far below the 120 s uncertain-write delay.
            let deliveries = try await h.settle(expecting: 1)
            #expect(deliveries.first?["status"] == "succeeded", "\(deliveries)")
            #expect(deliveries.first?["attempts"] == 2)
            #expect(await h.issue("PROJ-1").remoteLinks.count == 1)
        }
    }

    @Test("a 200 with a proxy's HTML page is not a permanent failure: a comment waits as a write of unknown outcome, a read is retried")
    func unreadableSuccess() async throws {
        try await Harness.run { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/comment", status: 200, body: "<html>Down for maintenance</html>"))
            await h.emulator.addFault(
                EmulatedFault(method: "GET", pathContains: "/remotelink", status: 200, body: "<html>Down for maintenance</html>"))
            #expect(try await h.webhook("Push Hook", Payloads.push(commits: [(String(repeating: "c", count: 40), "PROJ-1 fix")])).status == 202)
            var comment: JSONValue = .null
            var link: JSONValue = .null
            try await eventually {
                let all = try await h.deliveries()
                comment = all.first { $0["action"] == "comment" } ?? .null
                link = all.first { $0["action"] == "remote_link" } ?? .null
                return comment["attempts"] == 1 && comment["status"] == "pending" && link["status"] == "succeeded"
            }
            #expect(comment["status"] == "pending", "the comment waits to be checked against Jira: \(comment)")
            #expect(comment["last_error"]?.string?.contains("not JSON") == true, "\(comment)")
            #expect(link["status"] == "succeeded", "the read was simply tried again: \(link)")
        }
    }
}
