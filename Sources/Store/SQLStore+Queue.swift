import Foundation
import Integration

// The queue's claim and the processes that hold its leases.
//
// A delivery is `running` under a lease (`lease_owner`, `lease_until`). The owner is a worker: one process,
// registered in `workers` with a heartbeat. Each heartbeat renews the leases its worker holds, so leases
// can be short; the work of a worker whose heartbeat stopped is released by the next heartbeat of any other
// worker, and a process that takes over the database (it holds the process lock) releases every other
// worker's work at once. The per-site limit and the one-writer-per-issue rule count live leases only.
//
// The claim finds runnable work per Jira site through the (status, site, next_run_at, issue_key) index, so a
// site with a backlog of any size costs another site nothing: no fixed window of the oldest rows.
extension SQLStore {
    public func registerWorker(id: String, now: Millis, takeOver: Bool) async throws -> Int {
        try await database.write { db in
            try await db.execute(
                sql:
                    "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                arguments: [id, now, now])
            guard takeOver else { return 0 }
            let released = try await Self.release(db, where: "lease_owner IS NOT NULL AND lease_owner <> ?", [id])
            try await db.execute(sql: "UPDATE events SET status = 'pending', lease_until = NULL WHERE status = 'planning'")
            try await db.execute(sql: "DELETE FROM workers WHERE id <> ?", arguments: [id])
            return released
        }
    }

    public func heartbeat(worker: String, running: [Int64], leaseMillis: Int64, staleAfterMillis: Int64, now: Millis) async throws -> Int {
        try await database.write { db in
            try await db.execute(
                sql:
                    "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                arguments: [worker, now, now])
            // Only what really runs here: a delivery whose outcome could not be recorded (a full disk) is not
            // renewed, so its lease runs out and it is released below, to run again.
            for chunk in running.chunked(500) {
                let marks = Self.marks(chunk.count)
                try await db.execute(
                    sql: "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND status = 'running' AND id IN (\(marks))",
                    arguments: [now + leaseMillis, worker] + chunk.map { $0 as (any SQLBindable)? })
            }
            let stale = try await String.fetchAll(db, sql: "SELECT id FROM workers WHERE heartbeat_at < ?", arguments: [now - staleAfterMillis])
            var released = 0
            for id in stale {
                released += try await Self.release(db, where: "lease_owner = ?", [id])
                try await db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
            }
            // Leases that ran out: their owner is gone without a row, or stopped renewing them. This worker's
            // own count too unless it runs them now: its renewals may only have been held up, and running one
            // twice could write twice.
            let mine = Set(running)
            let expiredOwn = try await Int64.fetchAll(
                db, sql: "SELECT id FROM deliveries WHERE status = 'running' AND lease_owner = ? AND lease_until <= ?",
                arguments: [worker, now]
            ).filter { !mine.contains($0) }
            for id in expiredOwn { released += try await Self.release(db, where: "id = ?", [id]) }
            released += try await Self.release(db, where: "lease_until <= ? AND lease_owner <> ?", [now, worker])
            return released
        }
    }

    public func unregisterWorker(id: String) async throws {
        try await database.write { db in
            _ = try await Self.release(db, where: "lease_owner = ?", [id])
            try await db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
        }
    }

    /// Puts running deliveries matching `condition` back to pending, runnable at once. The attempt they were
    /// in stays counted.
    static func release(_ db: any SQLConnection, where condition: String, _ arguments: SQLArguments) async throws -> Int {
        try await db.execute(
            sql: """
                UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL
                WHERE status = 'running' AND \(condition)
                """, arguments: arguments)
        return db.changesCount
    }

    /// The most issues one claim looks at per site before it gives up on that site for this turn.
    static let maxIssuesVisited = 512

    /// The earliest due delivery of the next idle issue of `site` after `cursor`, in issue-key order, wrapping
    /// around once; moves the cursor past the issues it looked at. One index seek per issue visited (the
    /// first row of an issue in the (status, site, issue_key, next_run_at) index is its earliest), so an issue
    /// with thousands of rows costs what one with one row costs, and issues take turns.
    static func nextRunnable(
        _ db: any SQLConnection, site: String, after cursor: inout String?, busy: Set<String>, now: Millis
    ) async throws -> SQLRow? {
        let start = cursor ?? ""
        var key = start
        var wrapped = false
        for _ in 0..<maxIssuesVisited {
            guard
                let row = try await SQLRow.fetchOne(
                    db,
                    sql: """
                        SELECT * FROM deliveries WHERE status = 'pending' AND site = ? AND issue_key > ?
                        ORDER BY issue_key, next_run_at, id LIMIT 1\(db.dialect.skipLocked(of: "deliveries"))
                        """, arguments: [site, key])
            else {
                if wrapped || start.isEmpty { return nil }
                wrapped = true
                key = ""
                continue
            }
            let issue: String = row["issue_key"]
            if wrapped && issue > start { return nil }
            key = issue
            cursor = issue
            if busy.contains(issue) { continue }
            let due: Millis = row["next_run_at"]
            if due <= now { return row }
        }
        return nil
    }

    /// The rows after the cursor that `claimInWindow` looks at.
    static let claimWindow = 64

    /// PostgreSQL: the search and the update of `nextRunnable` in one statement, in the common case, one statement
    /// less per claim. Among the next `claimWindow` pending rows of `site` after the cursor (in the claim's index
    /// order), the first that is due and whose issue is not busy is set running and returned; a row's issue is
    /// busy, or not due, exactly when its earliest row is (rows of an issue are in due order), so it is the row
    /// `nextRunnable` finds. Nil when the window holds none (the end of the issues, a site full of waiting
    /// retries): then `nextRunnable` walks on, an issue at a time, wrapping around. A row another transaction set
    /// running meanwhile (`claimWaiting`) is not taken: the update checks the status again after its lock.
    static func claimInWindow(
        _ db: any SQLConnection, site: String, after cursor: String, busy: Set<String>, owner: String, leaseUntil: Millis, now: Millis
    ) async throws -> SQLRow? {
        let skip = busy.isEmpty ? "" : " AND w.issue_key NOT IN (\(marks(busy.count)))"
        return try await SQLRow.fetchOne(
            db,
            sql: """
                UPDATE deliveries SET status = 'running', lease_until = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?
                WHERE status = 'pending' AND id = (
                    SELECT w.id FROM (
                        SELECT id, issue_key, next_run_at FROM deliveries WHERE status = 'pending' AND site = ? AND issue_key > ?
                        ORDER BY issue_key, next_run_at, id LIMIT \(claimWindow)
                    ) AS w
                    WHERE w.next_run_at <= ?\(skip)
                    ORDER BY w.issue_key, w.next_run_at, w.id LIMIT 1)
                RETURNING *
                """,
            arguments: [leaseUntil, owner, now, site, cursor, now] + busy.sorted().map { $0 as (any SQLBindable)? })
    }

    public func claimDeliveries(
        owner: String, limit: Int, perSiteLimit: Int, siteLimits: [String: Int], leaseMillis: Int64,
        now: Millis
    ) async throws -> [Delivery] {
        guard limit > 0 else { return [] }
        return try await database.write { db in
            // One claim at a time across processes: the live leases it counts are then all there are, so the
            // per-site limit and the one-writer-per-issue rule hold for every process together. The same
            // statement marks the transaction as bookkeeping.
            // Not waited for: the next statement runs once the lock is taken, without a round trip of its own.
            if let lock = db.dialect.claimLockSQL { try await db.send(sql: lock, arguments: []) } else { try await db.bookkeeping() }
            // In one statement: the live leases (the issues being written to and how many run per site),
            // Jira's waits (a held issue counts as busy, a held site is left out; a small table, holds end by
            // time), and every site with pending work, one index seek each (a skip scan), however many rows
            // each has. `ORDER BY site LIMIT 1` rather than `MIN(site)`: with the statistics of a table that grew
            // faster than autovacuum's analyze, PostgreSQL read every pending row for the MIN (1 ms a claim).
            var busyIssues: [String: Set<String>] = [:]
            var runningPerSite: [String: Int] = [:]
            var heldSites = Set<String>()
            var sites: [String] = []
            for r in try await SQLRow.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE s(site) AS (
                        SELECT (SELECT site FROM deliveries WHERE status = 'pending' ORDER BY site LIMIT 1)
                        UNION ALL
                        SELECT (SELECT site FROM deliveries WHERE status = 'pending' AND site > s.site ORDER BY site LIMIT 1)
                        FROM s WHERE s.site IS NOT NULL
                    )
                    SELECT 'running' AS kind, site, issue_key FROM deliveries WHERE status = 'running' AND lease_until > ?
                    UNION ALL SELECT 'held', site, issue_key FROM rate_limit_holds WHERE until > ?
                    UNION ALL SELECT 'pending', site, '' FROM s WHERE site IS NOT NULL
                    """, arguments: [now, now])
            {
                let site: String = r["site"]
                let issue: String = r["issue_key"]
                switch r["kind"] as String {
                case "running":
                    busyIssues[site, default: []].insert(issue)
                    runningPerSite[site, default: 0] += 1
                case "held":
                    if issue.isEmpty { heldSites.insert(site) } else { busyIssues[site, default: []].insert(issue) }
                default:
                    sites.append(site)
                }
            }
            func siteLimit(_ site: String) -> Int { min(perSiteLimit, max(1, siteLimits[site] ?? perSiteLimit)) }
            // Sites take turns, from a random start, so none is always served first.
            var order = sites.filter { !heldSites.contains($0) && runningPerSite[$0, default: 0] < siteLimit($0) }
            if order.count > 1 {
                let start = Int.random(in: 0..<order.count)
                order = Array(order[start...] + order[..<start])
            }
            var claimed: [Delivery] = []
            // Round robin over sites: each turn gives every site with room one more delivery.
            var cursors: [String: String] = self.claimCursors.withLock { $0 }
            var exhausted = Set<String>()
            while claimed.count < limit {
                var progress = false
                for site in order where claimed.count < limit && !exhausted.contains(site) && runningPerSite[site, default: 0] < siteLimit(site) {
                    if db.dialect == .postgres,
                        let row = try await Self.claimInWindow(
                            db, site: site, after: cursors[site] ?? "", busy: busyIssues[site] ?? [], owner: owner,
                            leaseUntil: now + leaseMillis, now: now)
                    {
                        let issue: String = row["issue_key"]
                        cursors[site] = issue
                        busyIssues[site, default: []].insert(issue)
                        runningPerSite[site, default: 0] += 1
                        claimed.append(try Self.delivery(from: row))
                        progress = true
                        continue
                    }
                    guard let row = try await Self.nextRunnable(db, site: site, after: &cursors[site], busy: busyIssues[site] ?? [], now: now) else {
                        exhausted.insert(site)
                        continue
                    }
                    let issue: String = row["issue_key"]
                    let id: Int64 = row["id"]
                    // Not waited for: the row is this claim's (locked, under the claim's lock), so the update cannot miss.
                    try await db.send(
                        sql: """
                            UPDATE deliveries SET status = 'running', lease_until = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?
                            WHERE id = ?
                            """, arguments: [now + leaseMillis, owner, now, id])
                    busyIssues[site, default: []].insert(issue)
                    runningPerSite[site, default: 0] += 1
                    var d = try Self.delivery(from: row)
                    d.status = .running
                    d.attempts += 1
                    claimed.append(d)
                    progress = true
                }
                if !progress { break }
            }
            self.claimCursors.withLock { stored in
                for (site, issue) in cursors { stored[site] = issue }
                if stored.count > 10_000 { stored.removeAll() }
            }
            return claimed
        }
    }

    public func claimWaiting(
        site: String, issueKey: String, action: DeliveryAction, owner: String, limit: Int, leaseMillis: Int64, now: Millis
    ) async throws -> [Delivery] {
        guard limit > 0 else { return [] }
        return try await database.write { db in
            try await db.bookkeeping()
            let rows = try await SQLRow.fetchAll(
                db,
                sql: """
                    UPDATE deliveries SET status = 'running', lease_until = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?
                    WHERE id IN (
                        SELECT id FROM deliveries WHERE status = 'pending' AND site = ? AND issue_key = ? AND action = ? AND next_run_at <= ?
                        ORDER BY id LIMIT ?\(db.dialect.skipLocked(of: "deliveries")))
                    RETURNING *
                    """, arguments: [now + leaseMillis, owner, now, site, issueKey, action.rawValue, now, limit])
            return try rows.map(Self.delivery(from:)).sorted { $0.id < $1.id }
        }
    }

    public func unclaim(ids: [Int64], owner: String) async throws {
        guard !ids.isEmpty else { return }
        try await database.write { db in
            for chunk in ids.chunked(Self.rowsPerStatement) {
                try await db.execute(
                    sql: """
                        UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL, attempts = attempts - 1
                        WHERE status = 'running' AND lease_owner = ? AND id IN (\(Self.marks(chunk.count)))
                        """, arguments: [owner] + chunk.map { $0 as (any SQLBindable)? })
            }
        }
    }

    public func enqueue(_ deliveries: [NewDelivery], now: Millis) async throws -> Int {
        let rows = try deliveries.map { try Self.insertArguments($0, now: now) }
        guard !rows.isEmpty else { return 0 }
        let inserted = try await database.write { db -> Int in
            try await db.bookkeeping()
            let inserted = try await Self.insertDeliveries(db, rows)
            if inserted > 0 { try await Self.announce(db, .deliveries) }
            return inserted
        }
        if inserted > 0 { bell(.deliveries).ring() }
        return inserted
    }
}
