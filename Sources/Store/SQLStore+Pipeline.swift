import Foundation
import Integration

extension SQLStore {
    public func recordEvents(
        _ batch: [(incoming: IncomingEvent, registration: ProjectRegistration)]
    ) async throws
        -> [Result<(id: String, duplicate: Bool), StoreError>]
    {
        let prepared = try batch.map { item in
            (
                item: item, payload: try StoredFormat.encode(event: item.incoming.event), id: UUID().uuidString.lowercased(),
                key: item.incoming.deliveryKey.map { "\(item.incoming.forge.rawValue):\($0)" }
            )
        }
        let now = clock.now()
        // In the order of their delivery keys: two processes storing batches that share keys (a forge's
        // redeliveries) then wait on each other's rows in one order, and never deadlock.
        let order = prepared.indices.sorted { (prepared[$0].3 ?? "\u{10FFFF}", $0) < (prepared[$1].3 ?? "\u{10FFFF}", $1) }
        if database.dialect == .postgres, let results = try await recordEventsInOneStatement(prepared, order: order, now: now) {
            if results.contains(where: { (try? $0.get().duplicate) == false }) { bell(.events).ring() }
            return results
        }
        // A batch costs the same few statements however many webhooks it holds: one read of the keys seen
        // before and of the projects named, one insert of the events and one of their payloads.
        let results = try await database.write { db in
            var results = [Result<(id: String, duplicate: Bool), StoreError>](repeating: .failure(.conflict("not stored")), count: prepared.count)
            let keys = Array(Set(prepared.compactMap(\.3)))
            let projectIDs = Array(Set(prepared.map { $0.0.registration.id }))
            var (seen, defaultBranches) = try await Self.intakeState(db, keys: keys, projectIDs: projectIDs)
            var inserts: [(index: Int, id: String)] = []
            for index in order {
                let (item, _, id, key) = prepared[index]
                if let key, let existing = seen[key] {
                    results[index] = .success((existing, true))
                    continue
                }
                do {
                    try await Self.registerIfNeeded(db, item.registration, known: &defaultBranches, now: now)
                } catch let error as StoreError {
                    results[index] = .failure(error)
                    continue
                }
                if let key { seen[key] = id }
                inserts.append((index, id))
                results[index] = .success((id, false))
            }
            // Another process may have stored one of these keys since the read: its event stands, this one is not stored.
            var stored = Set<String>()
            for chunk in inserts.chunked(Self.rowsPerStatement) {
                let rows = chunk.map { prepared[$0.index] }
                let values = Array(repeating: "(?, ?, ?, ?, ?, 'pending', ?, ?)", count: rows.count).joined(separator: ", ")
                let arguments: SQLArguments = rows.flatMap { row -> SQLArguments in
                    [row.2, row.0.incoming.forge.rawValue, row.3, row.0.registration.id, row.0.incoming.event.kind, now, row.0.incoming.traceContext]
                }
                for id in try await String.fetchAll(
                    db,
                    sql: """
                        INSERT INTO events (id, forge, delivery_key, project_id, kind, status, received_at, trace_context) VALUES \(values)
                        ON CONFLICT (delivery_key) DO NOTHING RETURNING id
                        """, arguments: arguments)
                {
                    stored.insert(id)
                }
            }
            let raced = inserts.filter { !stored.contains($0.id) }
            if !raced.isEmpty {
                let (theirs, _) = try await Self.intakeState(db, keys: raced.compactMap { prepared[$0.index].3 }, projectIDs: [])
                for (index, _) in raced {
                    guard let key = prepared[index].3, let existing = theirs[key] else { throw StoreError.conflict("an event was not stored") }
                    results[index] = .success((existing, true))
                }
            }
            for chunk in inserts.filter({ stored.contains($0.id) }).chunked(Self.rowsPerStatement) {
                let values = Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", ")
                let arguments: SQLArguments = chunk.flatMap { [$0.id, prepared[$0.index].1] as SQLArguments }
                // Not waited for: nothing needs its answer, and a failure fails the COMMIT.
                try await db.send(sql: "INSERT INTO event_payloads (event_id, payload) VALUES \(values)", arguments: arguments)
            }
            if !stored.isEmpty { try await Self.announce(db, .events) }
            return results
        }
        if results.contains(where: { (try? $0.get().duplicate) == false }) { bell(.events).ring() }
        return results
    }

    /// A batch as PostgreSQL takes it when it registers nothing (every project known, no default branch to
    /// follow, at most `rowsPerStatement` new events): the read of keys and projects, then one statement, its own
    /// transaction, that inserts the events (`ON CONFLICT (delivery_key) DO NOTHING`, as the transaction does),
    /// their payloads and the `NOTIFY`. Two round trips and two statements where the transaction took three and
    /// six; its commit waits for the WAL flush, as every intake does. Nil when the batch needs the transaction.
    func recordEventsInOneStatement(
        _ prepared: [(item: (incoming: IncomingEvent, registration: ProjectRegistration), payload: String, id: String, key: String?)],
        order: [Int], now: Millis
    ) async throws -> [Result<(id: String, duplicate: Bool), StoreError>]? {
        let keys = Array(Set(prepared.compactMap(\.key)))
        let projectIDs = Array(Set(prepared.map { $0.item.registration.id }))
        guard keys.count <= Self.rowsPerStatement, projectIDs.count <= Self.rowsPerStatement else { return nil }
        let state = try await database.read { db in try await Self.intakeState(db, keys: keys, projectIDs: projectIDs) }
        var seen = state.events
        var results = [Result<(id: String, duplicate: Bool), StoreError>](repeating: .failure(.conflict("not stored")), count: prepared.count)
        var inserts: [Int] = []
        for index in order {
            let (item, _, id, key) = prepared[index]
            if let key, let existing = seen[key] {
                results[index] = .success((existing, true))
                continue
            }
            guard let branch = state.defaultBranches[item.registration.id],
                case .keep = item.registration.webhookStep(knownDefaultBranch: branch, pathOwner: nil)
            else { return nil }
            if let key { seen[key] = id }
            inserts.append(index)
            results[index] = .success((id, false))
        }
        guard !inserts.isEmpty else { return results }
        guard inserts.count <= Self.rowsPerStatement else { return nil }
        let events = Array(repeating: "(?, ?, ?, ?, ?, 'pending', ?, ?)", count: inserts.count).joined(separator: ", ")
        let payloads = Array(repeating: "(?, ?)", count: inserts.count).joined(separator: ", ")
        var arguments: SQLArguments = []
        for index in inserts {
            let row = prepared[index]
            arguments += [
                row.id, row.item.incoming.forge.rawValue, row.key, row.item.registration.id, row.item.incoming.event.kind, now,
                row.item.incoming.traceContext,
            ]
        }
        for index in inserts { arguments += [prepared[index].id, prepared[index].payload] }
        let bound = arguments
        let stored = Set(
            try await database.writeStatement { db in
                try await String.fetchAll(
                    db,
                    sql: """
                        WITH stored AS (
                            INSERT INTO events (id, forge, delivery_key, project_id, kind, status, received_at, trace_context) VALUES \(events)
                            ON CONFLICT (delivery_key) DO NOTHING RETURNING id
                        ), kept AS (
                            INSERT INTO event_payloads (event_id, payload)
                            SELECT v.id, v.payload FROM (VALUES \(payloads)) AS v(id, payload) JOIN stored ON stored.id = v.id
                            RETURNING event_id
                        )
                        SELECT event_id, pg_notify('\(Self.workChannel)', '\(WorkKind.events.rawValue)') FROM kept
                        """, arguments: bound)
            })
        // Another process stored one of these keys since the read: its event stands (committed by now: the
        // insert waited for it), and this one is not stored.
        let raced = inserts.filter { !stored.contains(prepared[$0].id) }
        if !raced.isEmpty {
            let (theirs, _) = try await database.read { db in
                try await Self.intakeState(db, keys: raced.compactMap { prepared[$0].key }, projectIDs: [])
            }
            for index in raced {
                guard let key = prepared[index].key, let existing = theirs[key] else { throw StoreError.conflict("an event was not stored") }
                results[index] = .success((existing, true))
            }
        }
        return results
    }

    /// The most rows one multi-row statement takes (its arguments stay far below both databases' limits).
    static let rowsPerStatement = 200

    /// In one statement: the events already stored under `keys` (key to id), and the default branch of each
    /// of `projectIDs` that is registered.
    static func intakeState(
        _ db: any SQLConnection, keys: [String], projectIDs: [Int64]
    ) async throws -> (events: [String: String], defaultBranches: [Int64: String]) {
        var events: [String: String] = [:]
        var branches: [Int64: String] = [:]
        let keyChunks = keys.chunked(Self.rowsPerStatement)
        let projectChunks = projectIDs.chunked(Self.rowsPerStatement)
        for i in 0..<max(keyChunks.count, projectChunks.count) {
            var parts: [String] = []
            var arguments: SQLArguments = []
            if i < keyChunks.count {
                parts.append("SELECT 'e' AS kind, delivery_key AS name, id AS value FROM events WHERE delivery_key IN (\(marks(keyChunks[i].count)))")
                arguments += keyChunks[i].map { $0 as (any SQLBindable)? }
            }
            if i < projectChunks.count {
                parts.append(
                    "SELECT 'p' AS kind, CAST(id AS TEXT) AS name, default_branch AS value FROM projects WHERE id IN (\(marks(projectChunks[i].count)))"
                )
                arguments += projectChunks[i].map { $0 as (any SQLBindable)? }
            }
            for row in try await SQLRow.fetchAll(db, sql: parts.joined(separator: " UNION ALL "), arguments: arguments) {
                let name: String = row["name"]
                let value: String = row["value"]
                if (row["kind"] as String) == "e" { events[name] = value } else if let id = Int64(name) { branches[id] = value }
            }
        }
        return (events, branches)
    }

    /// `?, ?, ...`: `count` placeholders.
    static func marks(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    /// Saves what `ProjectRegistration.webhookStep` decides for the project a webhook names; `known` holds the
    /// default branch of each registered project of the batch, and is kept up to date.
    static func registerIfNeeded(_ db: any SQLConnection, _ r: ProjectRegistration, known: inout [Int64: String], now: Millis) async throws {
        let branch = known[r.id]
        let pathOwner =
            branch == nil
            ? try await Int64.fetchOne(db, sql: "SELECT id FROM projects WHERE path_with_namespace = ?", arguments: [r.pathWithNamespace]) : nil
        switch r.webhookStep(knownDefaultBranch: branch, pathOwner: pathOwner) {
        case .keep, .replace:
            return
        case .followDefaultBranch(let branch):
            try await db.execute(sql: "UPDATE projects SET default_branch = ?, updated_at = ? WHERE id = ?", arguments: [branch, now, r.id])
            known[r.id] = branch
        case .conflict(let why):
            throw StoreError.conflict(why)
        case .takeOver(let owner):
            try await checkProjectLimit(db, r)
            try await displace(db, owner, path: r.pathWithNamespace, now: now)
            try await insertProject(db, r, now: now)
            known[r.id] = r.defaultBranch
        case .create:
            try await checkProjectLimit(db, r)
            try await insertProject(db, r, now: now)
            known[r.id] = r.defaultBranch
        }
    }

    /// Refuses a webhook's new project once the registered projects reach the limit: anyone who holds the
    /// instance secret could otherwise register projects without end (each one a row and a home-page line).
    static func checkProjectLimit(_ db: any SQLConnection, _ r: ProjectRegistration) async throws {
        guard let limit = r.projectLimit else { return }
        let count = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projects") ?? 0
        if count >= limit {
            throw StoreError.limitReached(
                """
                jira-bridge already has \(count) projects, its limit for projects registered by webhooks \
                (JIRA_BRIDGE_MAX_PROJECTS=\(limit)); an admin registers this one with POST /api/v4/projects or raises the limit
                """)
        }
    }

    /// Moves a project off `path` (to `ProjectRegistration.displacedPath`), keeping everything else.
    static func displace(_ db: any SQLConnection, _ owner: Int64, path: String, now: Millis) async throws {
        try await db.execute(
            sql: "UPDATE projects SET path_with_namespace = ?, updated_at = ? WHERE id = ?",
            arguments: [ProjectRegistration.displacedPath(path, id: owner), now, owner])
    }

    /// Inserts a new project in its namespace's groups; it takes the nearest default when that is active.
    static func insertProject(_ db: any SQLConnection, _ r: ProjectRegistration, now: Millis) async throws {
        var groupID: Int64? = nil
        if let namespace = r.namespace { groupID = try await ensureGroup(db, fullPath: namespace, name: nil, now: now).id }
        try await db.execute(
            sql: """
                INSERT INTO projects (id, path_with_namespace, name, web_url, default_branch, group_id, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [r.id, r.pathWithNamespace, r.name, r.webURL, r.defaultBranch, groupID, now, now])
        try await inheritActiveDefault(db, .project(r.id), now: now)
    }

    public func claimEvents(limit: Int, leaseMillis: Int64, now: Millis) async throws -> [StoredEvent] {
        // The transaction only claims; payloads are decoded after it, so intake commits wait less.
        let claimed: [(id: String, projectID: Int64, payload: String, trace: String?)] = try await database.write { db in
            try await db.bookkeeping()
            // An event whose planning was started this often and never finished (the process died on it, or
            // it failed each time) is given up, with the reason in its row: it is never claimed forever.
            try await db.execute(
                sql: """
                    UPDATE events SET status = 'failed', lease_until = NULL,
                        error = 'planning did not finish after ' || attempts || ' attempts; the process may have stopped while planning it'
                    WHERE status = 'planning' AND lease_until < ? AND attempts >= ?
                    """, arguments: [now, Self.maxPlanningAttempts])
            // Two queries that each walk the (status, received_at) index: an OR of both would sort.
            var rows = try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT e.id, e.project_id, e.trace_context, p.payload FROM events e JOIN event_payloads p ON p.event_id = e.id
                    WHERE e.status = 'planning' AND e.lease_until < ? ORDER BY e.received_at LIMIT ?\(db.dialect.skipLocked(of: "e"))
                    """, arguments: [now, limit])
            if rows.count < limit {
                rows += try await SQLRow.fetchAll(
                    db,
                    sql: """
                        SELECT e.id, e.project_id, e.trace_context, p.payload FROM events e JOIN event_payloads p ON p.event_id = e.id
                        WHERE e.status = 'pending' ORDER BY e.received_at LIMIT ?\(db.dialect.skipLocked(of: "e"))
                        """, arguments: [limit - rows.count])
            }
            let out = rows.map {
                (
                    id: $0["id"] as String, projectID: $0["project_id"] as Int64, payload: $0["payload"] as String,
                    trace: $0["trace_context"] as String?
                )
            }
            if !out.isEmpty {
                var arguments: SQLArguments = [now + leaseMillis]
                for row in out { arguments += [row.id] }
                try await db.execute(
                    sql: "UPDATE events SET status = 'planning', lease_until = ?, attempts = attempts + 1 WHERE id IN (\(Self.marks(out.count)))",
                    arguments: arguments)
            }
            return out
        }
        var out: [StoredEvent] = []
        var unreadable: [(id: String, error: String)] = []
        for row in claimed {
            do {
                out.append(
                    StoredEvent(id: row.id, projectID: row.projectID, event: try StoredFormat.decodeEvent(row.payload), traceContext: row.trace))
            } catch {
                unreadable.append((row.id, "unreadable payload: \(error)"))
            }
        }
        if !unreadable.isEmpty {
            try await database.write { [unreadable] db in
                for entry in unreadable {
                    try await db.execute(sql: "UPDATE events SET status = 'failed', error = ? WHERE id = ?", arguments: [entry.error, entry.id])
                }
            }
        }
        return out
    }

    /// How often an event's planning is started before it is marked failed (`EventLimits.planningAttempts`).
    public static let maxPlanningAttempts = EventLimits.planningAttempts

    public func failEvent(id: String, error: String) async throws {
        try await database.write { db in
            try await db.execute(
                sql: "UPDATE events SET status = 'failed', lease_until = NULL, error = ? WHERE id = ?", arguments: [String(error.prefix(2000)), id])
        }
    }

    public func finishPlanning(batch: [PlannedEvent], now: Millis) async throws -> Int {
        let work = try batch.map { entry in
            (
                entry.eventID, try entry.deliveries.map { try Self.insertArguments($0, now: now) },
                entry.notes.isEmpty ? nil : entry.notes.joined(separator: "; ")
            )
        }
        // However many events and deliveries: one insert per 200 deliveries, one update per 200 events.
        let inserted = try await database.write { db in
            try await db.bookkeeping()
            let inserted = try await Self.insertDeliveries(db, work.flatMap(\.1))
            for chunk in work.chunked(Self.rowsPerStatement) {
                let notes = chunk.filter { $0.2 != nil }
                var arguments: SQLArguments = [now]
                var noteSQL = "NULL"
                if !notes.isEmpty {
                    noteSQL = "CASE id " + Array(repeating: "WHEN ? THEN ?", count: notes.count).joined(separator: " ") + " ELSE NULL END"
                    for (eventID, _, note) in notes { arguments += [eventID, note.map { String($0.prefix(2000)) }] }
                }
                arguments += chunk.map { $0.0 as (any SQLBindable)? }
                try await db.execute(
                    sql:
                        "UPDATE events SET status = 'planned', planned_at = ?, lease_until = NULL, note = \(noteSQL) WHERE id IN (\(Self.marks(chunk.count)))",
                    arguments: arguments)
            }
            if inserted > 0 { try await Self.announce(db, .deliveries) }
            return inserted
        }
        if inserted > 0 { bell(.deliveries).ring() }
        return inserted
    }

    /// Inserts deliveries (rows of `insertArguments`), 200 to a statement; a delivery whose dedupe or content
    /// key is taken is left out. Returns how many were inserted.
    static func insertDeliveries(_ db: any SQLConnection, _ rows: [SQLArguments]) async throws -> Int {
        var inserted = 0
        for chunk in rows.chunked(rowsPerStatement) {
            let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            try await db.execute(
                sql: """
                    INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, content_key, work, status, attempts,
                        next_run_at, created_at, updated_at, trace_context)
                    VALUES \(values)
                    ON CONFLICT DO NOTHING
                    """, arguments: chunk.flatMap { $0 })
            inserted += db.changesCount
        }
        return inserted
    }

    static func insertArguments(_ d: NewDelivery, now: Millis) throws -> SQLArguments {
        let work = try StoredFormat.encode(work: d.planned.work)
        let content = d.planned.contentKey
        return [
            d.eventID, d.projectID, d.site, d.planned.issueKey, d.planned.action.rawValue, d.planned.dedupeKey, content, work, now, now, now,
            d.traceContext,
        ]
    }

    public func completeDelivery(
        id: Int64, owner: String, outcome: DeliveryOutcome, followUps: [NewDelivery], effects: DeliveryEffects,
        now: Millis
    ) async throws {
        let rows = try followUps.map { try Self.insertArguments($0, now: now) }
        if database.dialect == .postgres && rows.isEmpty && effects == .none {
            try await completeInOneStatement(id: id, owner: owner, outcome: outcome, now: now)
            bell(.deliveries).ring()
            return
        }
        let resumed = try await database.write { db -> Int in
            try await db.bookkeeping()
            let (status, nextRun, error) = outcome.recorded(now: now)
            let holdKey = status == .paused ? effects.credentialsRejected?.key : nil
            // The attempt's number comes back with the update: no second read, and the old attempts are only
            // looked for once there can be more than 20.
            guard
                let attempt = try await Int.fetchOne(
                    db,
                    sql: """
                        UPDATE deliveries SET status = ?, next_run_at = ?, last_error = ?, hold_key = ?, lease_until = NULL, lease_owner = NULL, updated_at = ?
                        WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING attempts
                        """, arguments: [status.rawValue, nextRun, error, holdKey, now, id, owner])
            else {
                return 0  // the lease was lost: someone else runs it now
            }
            // The attempt's line in the log; only the last 20 of a delivery are kept. Nothing after needs these
            // answers: they are sent without waiting, and the commit tells if one failed.
            try await db.send(
                sql: """
                    INSERT INTO delivery_attempts (delivery_id, attempt, finished_at, outcome, error) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (delivery_id, attempt) DO NOTHING
                    """, arguments: [id, attempt, now, outcome.name, error.map { String($0.prefix(2000)) }])
            if attempt > 20 {
                try await db.send(sql: "DELETE FROM delivery_attempts WHERE delivery_id = ? AND attempt <= ?", arguments: [id, attempt - 20])
            }
            _ = try await Self.insertDeliveries(db, rows)
            if let hold = effects.credentialsRejected, holdKey != nil { try await Self.recordCredentialHold(db, hold) }
            if let limit = effects.rateLimit { try await Self.recordRateLimit(db, limit) }
            var resumed = 0
            if let accepted = effects.credentialsAccepted { resumed = try await Self.beginResuming(db, integrationID: accepted, now: now) }
            // A delivery that ends frees its issue and a slot of its site, and follow-ups may be due.
            try await Self.announce(db, .deliveries)
            return resumed
        }
        if resumed > 0 { _ = try await finishResuming(now: now) }
        bell(.deliveries).ring()
    }

    /// A completion with nothing beyond the delivery (no follow-ups, no holds), as PostgreSQL takes it: one
    /// statement, its own transaction, doing what `completeDelivery`'s transaction does (the update that checks
    /// the lease, the attempt's line, the pruning of old lines, `NOTIFY`), its commit not waiting for the WAL
    /// flush (`set_config(..., true)` is the statement's `SET LOCAL`). One round trip and one statement where the
    /// transaction took two and six: PostgreSQL's own work per statement is what bounds the drain.
    func completeInOneStatement(id: Int64, owner: String, outcome: DeliveryOutcome, now: Millis) async throws {
        let (status, nextRun, error) = outcome.recorded(now: now)
        let arguments: SQLArguments = [
            status.rawValue, nextRun, error, now, id, owner, outcome.name, error.map { String($0.prefix(2000)) },
        ]
        _ = try await database.writeStatement { db in
            try await Int.fetchOne(
                db,
                sql: """
                    WITH done AS (
                        UPDATE deliveries SET status = ?, next_run_at = ?, last_error = ?, hold_key = NULL, lease_until = NULL,
                            lease_owner = NULL, updated_at = ?
                        WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING id, attempts, updated_at
                    ), logged AS (
                        INSERT INTO delivery_attempts (delivery_id, attempt, finished_at, outcome, error)
                        SELECT id, attempts, updated_at, ?, ? FROM done ON CONFLICT (delivery_id, attempt) DO NOTHING
                    ), pruned AS (
                        DELETE FROM delivery_attempts a USING done WHERE a.delivery_id = done.id AND a.attempt <= done.attempts - 20
                    )
                    SELECT attempts, set_config('synchronous_commit', 'off', true),
                        pg_notify('\(Self.workChannel)', '\(WorkKind.deliveries.rawValue)') FROM done
                    """, arguments: arguments)
        }
    }

    public func updateDeliveryWork(id: Int64, owner: String, work: DeliveryWork, now: Millis) async throws {
        let text = try StoredFormat.encode(work: work)
        try await database.write { db in
            try await db.execute(
                sql: "UPDATE deliveries SET work = ?, updated_at = ? WHERE id = ? AND lease_owner = ?", arguments: [text, now, id, owner])
        }
    }

    public func deliveries(projectID: Int64, filter: DeliveryFilter, limit: Int, offset: Int) async throws -> (items: [Delivery], total: Int) {
        var condition = "project_id = ?"
        var arguments: SQLArguments = [projectID]
        if let status = filter.status {
            condition += " AND status = ?"
            arguments.append(status.rawValue)
        }
        if let key = filter.issueKey {
            condition += " AND issue_key = ?"
            arguments.append(key)
        }
        let where_ = condition
        let filterArguments = arguments
        return try await database.read { db in
            let total = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE \(where_)", arguments: filterArguments) ?? 0
            var page = filterArguments
            page.append(limit)
            page.append(offset)
            let rows = try await SQLRow.fetchAll(
                db, sql: "SELECT * FROM deliveries WHERE \(where_) ORDER BY id DESC LIMIT ? OFFSET ?", arguments: page)
            return (try rows.map(Self.delivery(from:)), total)
        }
    }

    public func attempts(deliveryIDs: [Int64]) async throws -> [Int64: [DeliveryAttempt]] {
        guard !deliveryIDs.isEmpty else { return [:] }
        let marks = Self.marks(deliveryIDs.count)
        return try await database.read { db in
            var result: [Int64: [DeliveryAttempt]] = [:]
            for row in try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM delivery_attempts WHERE delivery_id IN (\(marks)) ORDER BY delivery_id, attempt
                    """, arguments: SQLArguments(deliveryIDs.map { $0 }))
            {
                let attempt = DeliveryAttempt(
                    deliveryID: row["delivery_id"], number: row["attempt"], finishedAt: row["finished_at"],
                    outcome: row["outcome"], error: row["error"])
                result[attempt.deliveryID, default: []].append(attempt)
            }
            return result
        }
    }

    public func retryFailedDeliveries(projectID: Int64, after: Int64, limit: Int, now: Millis) async throws -> (count: Int, lastID: Int64) {
        let result = try await database.write { db -> (count: Int, lastID: Int64) in
            let ids = try await Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM deliveries WHERE project_id = ? AND id > ? AND status IN (\(DeliveryStatus.sqlList(DeliveryStatus.retriedByRetryAll))) ORDER BY id LIMIT ?
                    """, arguments: [projectID, after, limit])
            guard let last = ids.last else { return (0, after) }
            let marks = Self.marks(ids.count)
            var arguments: SQLArguments = [now, now]
            for id in ids { arguments.append(id) }
            try await db.execute(
                sql: """
                    UPDATE deliveries SET status = 'pending', next_run_at = ?, updated_at = ? WHERE id IN (\(marks)) AND status IN (\(DeliveryStatus.sqlList(DeliveryStatus.retriedByRetryAll)))
                    """, arguments: arguments)
            try await Self.announce(db, .deliveries)
            return (ids.count, last)
        }
        if result.count > 0 { bell(.deliveries).ring() }
        return result
    }

    public func eventLog(projectID: Int64, notedOnly: Bool, limit: Int, offset: Int) async throws -> (items: [EventNote], total: Int) {
        try await database.read { db in
            let condition =
                notedOnly
                ? "project_id = ? AND (status = 'failed' OR (note IS NOT NULL AND note NOT LIKE '\(EventNote.nothingPlanned)%'))"
                : "project_id = ?"
            let total = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE \(condition)", arguments: [projectID]) ?? 0
            // The deliveries of each event by the `deliveries_event` index; a page holds at most 100 events.
            let rows = try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT id, forge, kind, status, attempts, note, error, received_at, planned_at,
                        (SELECT COUNT(*) FROM deliveries d WHERE d.event_id = events.id) AS delivery_count
                    FROM events WHERE \(condition) ORDER BY received_at DESC, id LIMIT ? OFFSET ?
                    """,
                arguments: [projectID, limit, offset])
            return (
                rows.map { row in
                    EventNote(
                        id: row["id"], forge: row["forge"], kind: row["kind"], status: row["status"], attempts: row["attempts"],
                        note: row["note"], error: row["error"], receivedAt: row["received_at"], plannedAt: row["planned_at"],
                        deliveries: row["delivery_count"])
                }, total
            )
        }
    }

    public func delivery(id: Int64) async throws -> Delivery? {
        try await database.read { db in
            try await SQLRow.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id]).map(Self.delivery(from:))
        }
    }

    public func retryDelivery(id: Int64, now: Millis) async throws -> Delivery? {
        let retried = try await database.write { db -> Delivery? in
            try await db.execute(
                sql: """
                    UPDATE deliveries SET status = 'pending', hold_key = NULL, next_run_at = ?, updated_at = ? WHERE id = ? AND status IN (\(DeliveryStatus.sqlList(DeliveryStatus.retryable)))
                    """, arguments: [now, now, id])
            guard db.changesCount > 0 else { return nil }
            try await Self.announce(db, .deliveries)
            return try await SQLRow.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id]).map(Self.delivery(from:))
        }
        if retried != nil { bell(.deliveries).ring() }
        return retried
    }

    public func recentDeliveries(action: DeliveryAction, scope: TokenScope, limit: Int) async throws -> [Delivery] {
        try await database.read { db in
            var sql = "SELECT * FROM deliveries WHERE action = ?"
            var arguments: SQLArguments = [action.rawValue]
            switch scope {
            case .instance: break
            case .project(let id):
                sql += " AND project_id = ?"
                arguments.append(id)
            case .group(let id):
                sql += " AND project_id IN (SELECT p.id FROM projects p WHERE p.group_id IN (\(Self.subtreeSQL)))"
                arguments.append(id)
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments.append(limit)
            return try await SQLRow.fetchAll(db, sql: sql, arguments: arguments).map(Self.delivery(from:))
        }
    }

    public func runAgain(ids: [Int64], now: Millis) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let changed = try await database.write { db -> Int in
            try await db.execute(
                sql: """
                    UPDATE deliveries SET status = 'pending', hold_key = NULL, next_run_at = ?, updated_at = ?
                    WHERE id IN (\(Self.marks(ids.count))) AND status IN ('succeeded', 'skipped', 'failed', 'dead')
                    """, arguments: [now, now] + ids)
            let n = db.changesCount
            if n > 0 { try await Self.announce(db, .deliveries) }
            return n
        }
        if changed > 0 { bell(.deliveries).ring() }
        return changed
    }

    public func deliveryCounts(projectID: Int64) async throws -> [String: Int] {
        try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try await SQLRow.fetchAll(
                db, sql: "SELECT status, COUNT(*) AS n FROM deliveries WHERE project_id = ? GROUP BY status",
                arguments: [projectID])
            {
                counts[row["status"]] = row["n"]
            }
            return counts
        }
    }

    public func lastSucceeded(projectID: Int64, actions: [DeliveryAction]) async throws -> [DeliveryAction: Millis] {
        guard !actions.isEmpty else { return [:] }
        return try await database.read { db in
            var out: [DeliveryAction: Millis] = [:]
            for row in try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT action, MAX(updated_at) AS last FROM deliveries
                    WHERE project_id = ? AND status = 'succeeded' AND action IN (\(Self.marks(actions.count))) GROUP BY action
                    """, arguments: [projectID] + actions.map { $0.rawValue })
            {
                if let action = DeliveryAction(rawValue: row["action"]) { out[action] = row["last"] }
            }
            return out
        }
    }

    public func unfinishedWork(projectID: Int64) async throws -> Int {
        try await database.read { db in
            let d =
                try await Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM deliveries WHERE project_id = ? AND status IN ('pending', 'running')",
                    arguments: [projectID]) ?? 0
            let e =
                try await Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM events WHERE project_id = ? AND status IN ('pending', 'planning')",
                    arguments: [projectID]) ?? 0
            return d + e
        }
    }

    public func queueDepth() async throws -> (deliveries: Int, events: Int) {
        try await database.read { db in
            let d = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'running')") ?? 0
            let e = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE status IN ('pending', 'planning')") ?? 0
            return (d, e)
        }
    }

    public func stuckQueue(now: Millis, bound: Millis) async throws -> String? {
        try await database.read { db in
            if let since = try await Int64.fetchOne(db, sql: "SELECT MIN(updated_at) FROM deliveries WHERE status = 'running'"), since < now - bound {
                return "a delivery has been running for \((now - since) / 1000) s, longer than any attempt takes"
            }
            // One index range (status, next_run_at); the sites it names are few.
            let due = try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT site, MIN(next_run_at) AS due FROM deliveries WHERE status = 'pending' AND next_run_at < ? GROUP BY site LIMIT 100
                    """, arguments: [now - bound])
            for row in due {
                let site: String = row["site"], at: Int64 = row["due"]
                let busy =
                    try await Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE status = 'running' AND site = ?", arguments: [site]) ?? 0
                let held =
                    try await Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rate_limit_holds WHERE site = ? AND until > ?", arguments: [site, now])
                    ?? 0
                if busy == 0 && held == 0 {
                    return "a delivery to \(site) has been due for \((now - at) / 1000) s and none is running"
                }
            }
            return nil
        }
    }

    public func databaseFileProblem() -> String? {
        (database as? SQLiteDatabase)?.fileProblem()
    }

    public func oldestUnfinished() async throws -> [(site: String, createdAt: Millis)] {
        // A skip scan over deliveries_site_age: each step seeks the next site, then that site's oldest row, so
        // the cost grows with the number of sites, not with the queue.
        try await database.read { db in
            var result: [(site: String, createdAt: Millis)] = []
            for status in ["pending", "running"] {
                let rows = try await SQLRow.fetchAll(
                    db,
                    sql: """
                        WITH RECURSIVE sites(site) AS (
                            SELECT MIN(site) FROM deliveries WHERE status = ?
                            UNION ALL
                            SELECT (SELECT MIN(d.site) FROM deliveries d WHERE d.status = ? AND d.site > sites.site)
                            FROM sites WHERE sites.site IS NOT NULL
                        )
                        SELECT site, (SELECT MIN(d.created_at) FROM deliveries d WHERE d.status = ? AND d.site = sites.site) AS oldest
                        FROM sites WHERE site IS NOT NULL
                        """, arguments: [status, status, status])
                for row in rows {
                    let site: String = row["site"]
                    let oldest: Millis = row["oldest"]
                    if let i = result.firstIndex(where: { $0.site == site }) {
                        result[i].createdAt = min(result[i].createdAt, oldest)
                    } else {
                        result.append((site, oldest))
                    }
                }
            }
            return result
        }
    }

    public func prune(before: Millis, limit: Int) async throws -> (deliveries: Int, events: Int) {
        try await database.write { db in
            let deliveries = try await Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM deliveries WHERE status IN ('succeeded', 'skipped') AND updated_at < ? ORDER BY updated_at LIMIT ?
                    """, arguments: [before, limit])
            if !deliveries.isEmpty {
                let marks = Self.marks(deliveries.count)
                try await db.execute(sql: "DELETE FROM delivery_attempts WHERE delivery_id IN (\(marks))", arguments: deliveries.map { $0 })
                try await db.execute(sql: "DELETE FROM deliveries WHERE id IN (\(marks))", arguments: deliveries.map { $0 })
            }
            // Planned events only: a failed one is kept for its error, pending ones are not done.
            let events = try await String.fetchAll(
                db,
                sql: """
                    SELECT e.id FROM events e WHERE e.status = 'planned' AND e.received_at < ?
                    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) ORDER BY e.received_at LIMIT ?
                    """, arguments: [before, limit])
            if !events.isEmpty {
                let marks = Self.marks(events.count)
                let arguments: SQLArguments = events.map { $0 }
                try await db.execute(sql: "DELETE FROM event_payloads WHERE event_id IN (\(marks))", arguments: arguments)
                try await db.execute(sql: "DELETE FROM events WHERE id IN (\(marks))", arguments: arguments)
            }
            return (deliveries.count, events.count)
        }
    }

    static func delivery(from row: SQLRow) throws -> Delivery {
        let workText: String = row["work"]
        let work = try StoredFormat.decodeWork(workText)
        return Delivery(
            id: row["id"], eventID: row["event_id"], projectID: row["project_id"], site: row["site"], issueKey: row["issue_key"],
            action: DeliveryAction(rawValue: row["action"]) ?? .comment, work: work,
            status: DeliveryStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"], nextRunAt: row["next_run_at"],
            lastError: row["last_error"], createdAt: row["created_at"], updatedAt: row["updated_at"], dedupeKey: row["dedupe_key"],
            holdKey: row["hold_key"], traceContext: row["trace_context"])
    }
}

extension SQLStore {
    public var concurrentIntakeCommits: Int {
        switch database.dialect {
        case .sqlite: return 1
        // Paired, 64 connections, three rounds: 4,647 webhooks/s with one commit in flight, 5,297 with four.
        case .postgres: return 4
        }
    }
}
