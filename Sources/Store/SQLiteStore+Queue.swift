import Foundation
import GRDB
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
extension SQLiteStore {
    public func registerWorker(id: String, now: Millis, takeOver: Bool) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                           arguments: [id, now, now])
            guard takeOver else { return 0 }
            let released = try Self.release(db, where: "lease_owner IS NOT NULL AND lease_owner <> ?", [id])
            try db.execute(sql: "UPDATE events SET status = 'pending', lease_until = NULL WHERE status = 'planning'")
            try db.execute(sql: "DELETE FROM workers WHERE id <> ?", arguments: [id])
            return released
        }
    }

    public func heartbeat(worker: String, leaseMillis: Int64, staleAfterMillis: Int64, now: Millis) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                           arguments: [worker, now, now])
            try db.execute(sql: "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND status = 'running'", arguments: [now + leaseMillis, worker])
            let stale = try String.fetchAll(db, sql: "SELECT id FROM workers WHERE heartbeat_at < ?", arguments: [now - staleAfterMillis])
            var released = 0
            for id in stale {
                released += try Self.release(db, where: "lease_owner = ?", [id])
                try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
            }
            // Leases that ran out (their owner is gone without a row, or stopped renewing).
            released += try Self.release(db, where: "lease_until <= ?", [now])
            return released
        }
    }

    public func unregisterWorker(id: String) async throws {
        try await pool.write { db in
            _ = try Self.release(db, where: "lease_owner = ?", [id])
            try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [id])
        }
    }

    /// Puts running deliveries matching `condition` back to pending, runnable at once. The attempt they were
    /// in stays counted.
    static func release(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> Int {
        try db.execute(sql: """
            UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL
            WHERE status = 'running' AND \(condition)
            """, arguments: arguments)
        return db.changesCount
    }

    public func claimDeliveries(owner: String, limit: Int, perSiteLimit: Int, leaseMillis: Int64, now: Millis) async throws -> [Delivery] {
        guard limit > 0 else { return [] }
        return try await pool.write { db in
            // Live leases: the issues being written to and how many run per site.
            var busyIssues: [String: Set<String>] = [:]
            var runningPerSite: [String: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT site, issue_key FROM deliveries WHERE status = 'running' AND lease_until > ?", arguments: [now]) {
                let site: String = r["site"]
                busyIssues[site, default: []].insert(r["issue_key"])
                runningPerSite[site, default: 0] += 1
            }
            // Every site with pending work, one index seek each (a skip scan), however many rows each has.
            let sites = try String.fetchAll(db, sql: """
                WITH RECURSIVE s(site) AS (
                    SELECT (SELECT MIN(site) FROM deliveries WHERE status = 'pending')
                    UNION ALL
                    SELECT (SELECT MIN(site) FROM deliveries WHERE status = 'pending' AND site > s.site) FROM s WHERE s.site IS NOT NULL
                )
                SELECT site FROM s WHERE site IS NOT NULL
                """)
            // Sites take turns, from a random start, so none is always served first.
            var order = sites.filter { runningPerSite[$0, default: 0] < perSiteLimit }
            if order.count > 1 {
                let start = Int.random(in: 0..<order.count)
                order = Array(order[start...] + order[..<start])
            }
            var candidates: [String: [Row]] = [:]
            for site in order {
                let free = perSiteLimit - runningPerSite[site, default: 0]
                let busy = Array(busyIssues[site] ?? [])
                let marks = busy.isEmpty ? "" : " AND issue_key NOT IN (" + Array(repeating: "?", count: busy.count).joined(separator: ",") + ")"
                var arguments: StatementArguments = [site, now]
                for issue in busy { arguments += [issue] }
                // A few more rows than slots: several due rows may belong to one issue.
                arguments += [min(limit, free) * 4]
                candidates[site] = try Row.fetchAll(db, sql: """
                    SELECT * FROM deliveries WHERE status = 'pending' AND site = ? AND next_run_at <= ?\(marks)
                    ORDER BY next_run_at, id LIMIT ?
                    """, arguments: arguments)
            }
            var claimed: [Delivery] = []
            var progress = true
            var cursor: [String: Int] = [:]
            // Round robin: one delivery per site per turn, until the limit or nothing is left.
            while claimed.count < limit && progress {
                progress = false
                for site in order where claimed.count < limit && runningPerSite[site, default: 0] < perSiteLimit {
                    let rows = candidates[site] ?? []
                    var i = cursor[site, default: 0]
                    while i < rows.count {
                        let row = rows[i]
                        i += 1
                        let issue: String = row["issue_key"]
                        if busyIssues[site]?.contains(issue) == true { continue }
                        let id: Int64 = row["id"]
                        try db.execute(sql: """
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
                        break
                    }
                    cursor[site] = i
                }
            }
            return claimed
        }
    }
}
