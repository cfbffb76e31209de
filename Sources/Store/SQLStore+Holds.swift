import Foundation
import Integration

// Holds: what keeps deliveries from running although they are due.
//
// A set of credentials Jira rejected (401) is one row of `credential_holds`; the deliveries that met it are
// `paused` with its key in `hold_key`, and a delivery due under a hold in force is paused without a request.
// Ending a hold (new credentials, a Test settings or a delivery that Jira accepted) marks it `resuming_since`
// and requeues its deliveries 1000 per transaction; the row goes with the last batch. A process that stops
// halfway leaves the mark, and the next sweep finishes the work. A hold being resumed no longer pauses
// anything; a new 401 under the same key puts it back in force.
//
// Jira's rate-limit waits are rows of `rate_limit_holds` per site (issue_key '') or per issue, with the time
// they end: the claim leaves those out (`claimDeliveries`).
extension SQLStore {
    public func credentialsKey(_ record: IntegrationRecord) -> CredentialsKey {
        let owner = record.inheritFromID ?? record.id
        let s = record.settings
        let material = [s.clientURL ?? "", s.url ?? "", String(s.authType), s.username ?? "", s.password ?? ""].joined(separator: "\u{0}")
        return CredentialsKey(key: "\(owner):" + secrets.fingerprint(material).prefix(32), integrationID: owner)
    }

    public func oauthCredentialsKey(_ record: IntegrationRecord) -> CredentialsKey {
        let owner = record.inheritFromID ?? record.id
        let s = record.settings
        let material = ["oauth", s.oauthClientID ?? "", s.oauthClientSecret ?? ""].joined(separator: "\u{0}")
        return CredentialsKey(key: "\(owner):oauth:" + secrets.fingerprint(material).prefix(32), integrationID: owner)
    }

    static func hold(from row: SQLRow) -> CredentialHold {
        CredentialHold(key: row["hold_key"], integrationID: row["integration_id"], site: row["site"], since: row["since"], error: row["error"])
    }

    public func credentialHold(key: String) async throws -> CredentialHold? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM credential_holds WHERE hold_key = ? AND resuming_since IS NULL", arguments: [key]).map(
                Self.hold(from:))
        }
    }

    public func credentialHolds(integrationIDs: [Int64]) async throws -> [CredentialHold] {
        guard !integrationIDs.isEmpty else { return [] }
        let marks = Self.marks(integrationIDs.count)
        return try await database.read { db in
            try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM credential_holds WHERE integration_id IN (\(marks)) AND resuming_since IS NULL ORDER BY since
                    """, arguments: SQLArguments(integrationIDs.map { $0 })
            ).map(Self.hold(from:))
        }
    }

    public func integrationWithHolds(projectID: Int64) async throws -> (record: IntegrationRecord, holds: [CredentialHold])? {
        let secrets = self.secrets
        // One statement: the chain, its integration rows and their holds.
        let (chain, rows, holds) = try await database.read { db in try await Self.chainAndRows(db, .project(projectID), holds: true) }
        guard let record = try Self.effectiveIntegration(chain: chain, rows: rows, at: .project(projectID), secrets: secrets) else { return nil }
        return (record, holds[record.inheritFromID ?? record.id] ?? [])
    }

    public func credentialHolds() async throws -> [CredentialHold] {
        try await database.read { db in
            try await SQLRow.fetchAll(db, sql: "SELECT * FROM credential_holds WHERE resuming_since IS NULL ORDER BY since LIMIT 10000").map(
                Self.hold(from:))
        }
    }

    /// Inside a transaction: Jira rejected these credentials. The first rejection's time stays; a hold being
    /// resumed is put back in force from now.
    static func recordCredentialHold(_ db: any SQLConnection, _ hold: CredentialHold) async throws {
        try await db.execute(
            sql: """
                INSERT INTO credential_holds (hold_key, integration_id, site, since, error, resuming_since) VALUES (?, ?, ?, ?, ?, NULL)
                ON CONFLICT (hold_key) DO UPDATE SET
                    since = CASE WHEN credential_holds.resuming_since IS NULL THEN credential_holds.since ELSE excluded.since END,
                    error = excluded.error, resuming_since = NULL
                """, arguments: [hold.key, hold.integrationID, hold.site, hold.since, hold.error.map { String($0.prefix(2000)) }])
    }

    /// Inside a transaction: Jira asked for a wait. A hold already there is only ever lengthened.
    static func recordRateLimit(_ db: any SQLConnection, _ hold: RateLimitHold) async throws {
        try await db.execute(sql: "DELETE FROM rate_limit_holds WHERE until <= ?", arguments: [hold.until - 86_400_000])
        try await db.execute(
            sql: """
                INSERT INTO rate_limit_holds (site, issue_key, until, reason) VALUES (?, ?, ?, ?)
                ON CONFLICT (site, issue_key) DO UPDATE SET
                    reason = CASE WHEN excluded.until > rate_limit_holds.until THEN excluded.reason ELSE rate_limit_holds.reason END,
                    until = CASE WHEN excluded.until > rate_limit_holds.until THEN excluded.until ELSE rate_limit_holds.until END
                """, arguments: [hold.site, hold.issueKey ?? "", hold.until, hold.reason])
    }

    /// Inside a transaction: marks the holds of integration `integrationID` as being resumed; returns how many
    /// there are to resume.
    static func beginResuming(_ db: any SQLConnection, integrationID: Int64, now: Millis) async throws -> Int {
        try await db.execute(
            sql: "UPDATE credential_holds SET resuming_since = ? WHERE integration_id = ? AND resuming_since IS NULL",
            arguments: [now, integrationID])
        return try await Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM credential_holds WHERE integration_id = ? AND resuming_since IS NOT NULL",
            arguments: [integrationID]) ?? 0
    }

    static let resumeBatch = 1000

    /// Requeues the paused deliveries of every hold being resumed, a batch per transaction, removing the holds
    /// with their last batch. Returns how many deliveries it requeued.
    func finishResuming(now: Millis) async throws -> Int {
        var total = 0
        while true {
            let (count, done) = try await database.write { db -> (Int, Bool) in
                let keys = try await String.fetchAll(db, sql: "SELECT hold_key FROM credential_holds WHERE resuming_since IS NOT NULL LIMIT 100")
                guard !keys.isEmpty else { return (0, true) }
                let marks = Self.marks(keys.count)
                var arguments: SQLArguments = [now, now]
                for key in keys { arguments.append(key) }
                arguments.append(Self.resumeBatch)
                try await db.execute(
                    sql: """
                        UPDATE deliveries SET status = 'pending', hold_key = NULL, next_run_at = ?, updated_at = ?
                        WHERE id IN (SELECT id FROM deliveries WHERE hold_key IN (\(marks)) AND status = 'paused' LIMIT ?)
                        """, arguments: arguments)
                let changed = db.changesCount
                if changed < Self.resumeBatch {
                    try await db.execute(
                        sql: "DELETE FROM credential_holds WHERE hold_key IN (\(marks)) AND resuming_since IS NOT NULL",
                        arguments: SQLArguments(keys.map { $0 }))
                }
                if changed > 0 { try await Self.announce(db, .deliveries) }
                return (changed, false)
            }
            total += count
            if count > 0 { bell(.deliveries).ring() }
            if done { return total }
        }
    }

    public func resumePaused(integrationID: Int64?, projectID: Int64?, now: Millis) async throws -> Int {
        var total = 0
        if let projectID {
            while true {
                let changed = try await database.write { db -> Int in
                    try await db.execute(
                        sql: """
                            UPDATE deliveries SET status = 'pending', hold_key = NULL, next_run_at = ?, updated_at = ?
                            WHERE id IN (SELECT id FROM deliveries WHERE project_id = ? AND status = 'paused' LIMIT ?)
                            """, arguments: [now, now, projectID, Self.resumeBatch])
                    let changed = db.changesCount
                    if changed > 0 { try await Self.announce(db, .deliveries) }
                    return changed
                }
                total += changed
                if changed > 0 { bell(.deliveries).ring() }
                if changed < Self.resumeBatch { break }
            }
        }
        if let integrationID {
            let holds = try await database.write { db in try await Self.beginResuming(db, integrationID: integrationID, now: now) }
            if holds > 0 { total += try await finishResuming(now: now) }
        }
        return total
    }

    public func sweepPaused(deadBefore: Millis, limit: Int, now: Millis) async throws -> (resumed: Int, dead: Int) {
        let resumed = try await finishResuming(now: now)
        let dead = try await database.write { db -> Int in
            try await db.execute(
                sql: """
                    UPDATE deliveries SET status = 'dead', hold_key = NULL, updated_at = ?,
                        last_error = COALESCE(last_error, 'paused') || ' (it waited paused past the retry deadline)'
                    WHERE id IN (SELECT id FROM deliveries WHERE status = 'paused' AND created_at < ? LIMIT ?)
                    """, arguments: [now, deadBefore, limit])
            return db.changesCount
        }
        return (resumed, dead)
    }

    public func pausedDeliveries() async throws -> [String: Int] {
        try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try await SQLRow.fetchAll(db, sql: "SELECT site, COUNT(*) AS n FROM deliveries WHERE status = 'paused' GROUP BY site") {
                counts[row["site"]] = row["n"]
            }
            return counts
        }
    }

    public func rateLimitHolds(now: Millis) async throws -> [RateLimitHold] {
        try await database.read { db in
            try await SQLRow.fetchAll(
                db, sql: "SELECT * FROM rate_limit_holds WHERE until > ? ORDER BY site, issue_key LIMIT 10000", arguments: [now]
            ).map { row in
                let issue: String = row["issue_key"]
                return RateLimitHold(site: row["site"], issueKey: issue.isEmpty ? nil : issue, until: row["until"], reason: row["reason"])
            }
        }
    }
}
