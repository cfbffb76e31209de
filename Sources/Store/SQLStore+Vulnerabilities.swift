import Foundation
import Integration

extension SQLStore {
    public func ingest(projectID: Int64, report: SecurityReport.Parsed, commit: String?, now: Millis) async throws -> IngestResult {
        // A report may list one finding twice (same fingerprint): the last one wins.
        var byFingerprint: [String: SecurityReport.Finding] = [:]
        var order: [String] = []
        for f in report.findings {
            if byFingerprint[f.fingerprint] == nil { order.append(f.fingerprint) }
            byFingerprint[f.fingerprint] = f
        }
        let rows = order.map { fp -> (SecurityReport.Finding, String) in
            let f = byFingerprint[fp]!
            return (f, StoredFinding.text(f))
        }
        let scannerIDs = report.scanners.map(\.id)
        let reportType = report.reportType
        return try await database.write { db in
            var ids: [Int64] = []
            var created = 0, updated = 0
            for (f, json) in rows {
                if let id = try await Int64.fetchOne(
                    db, sql: "SELECT id FROM vulnerabilities WHERE project_id = ? AND fingerprint = ?",
                    arguments: [projectID, f.fingerprint])
                {
                    try await db.execute(
                        sql: """
                            UPDATE vulnerabilities SET finding = ?, severity = ?, state = 'detected', resolved_at = NULL,
                                commit_sha = COALESCE(?, commit_sha), updated_at = ? WHERE id = ?
                            """, arguments: [json, f.severity, commit, now, id])
                    ids.append(id)
                    updated += 1
                } else {
                    ids.append(
                        try await db.insert(
                            sql: """
                                INSERT INTO vulnerabilities (project_id, fingerprint, report_type, scanner_id, severity, state, finding, commit_sha,
                                    created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'detected', ?, ?, ?, ?)
                                """, arguments: [projectID, f.fingerprint, f.reportType, f.scanner.id, f.severity, json, commit, now, now]))
                    created += 1
                }
            }
            // Findings of the same scanners that this report no longer has are resolved, not deleted.
            var resolved = 0
            if !scannerIDs.isEmpty {
                let seen = Set(ids)
                let marks = Self.marks(scannerIDs.count)
                var arguments: SQLArguments = [projectID, reportType]
                for id in scannerIDs { arguments += [id] }
                let candidates = try await Int64.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM vulnerabilities WHERE project_id = ? AND report_type = ? AND scanner_id IN (\(marks)) AND state = 'detected'
                        """, arguments: arguments)
                for id in candidates where !seen.contains(id) {
                    try await db.execute(
                        sql: "UPDATE vulnerabilities SET state = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?",
                        arguments: [now, now, id])
                    resolved += 1
                }
            }
            return IngestResult(vulnerabilityIDs: ids, created: created, updated: updated, resolved: resolved)
        }
    }

    static let severityRank = """
        CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END
        """

    public func vulnerabilities(
        projectID: Int64, filter: VulnerabilityFilter, limit: Int, offset: Int
    ) async throws
        -> (items: [VulnerabilityRecord], total: Int)
    {
        var clauses = ["v.project_id = ?"]
        var arguments: SQLArguments = [projectID]
        func values(_ column: String, _ list: [String]) {
            guard !list.isEmpty else { return }
            clauses.append("\(column) IN (\(Self.marks(list.count)))")
            for v in list { arguments += [v] }
        }
        values("v.severity", filter.severities)
        values("v.state", filter.states)
        if let scanner = filter.scanner, !scanner.isEmpty {
            clauses.append("(v.report_type = ? OR v.scanner_id = ?)")
            arguments += [scanner, scanner]
        }
        let whereSQL = clauses.joined(separator: " AND ")
        return try await database.read { [arguments] db in
            let total = try await Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vulnerabilities v WHERE \(whereSQL)", arguments: arguments) ?? 0
            let rows = try await SQLRow.fetchAll(
                db,
                sql: """
                    SELECT v.*, l.state AS link_state, l.issue_id, l.issue_key, l.web_url, l.created_at AS link_created_at
                    FROM vulnerabilities v LEFT JOIN vulnerability_issue_links l ON l.vulnerability_id = v.id
                    WHERE \(whereSQL) ORDER BY \(Self.severityRank.replacingOccurrences(of: "severity", with: "v.severity")), v.id LIMIT ? OFFSET ?
                    """, arguments: arguments + [limit, offset])
            return (try rows.map(Self.vulnerability(from:)), total)
        }
    }

    public func vulnerability(projectID: Int64, id: Int64) async throws -> VulnerabilityRecord? {
        try await database.read { db in
            try await SQLRow.fetchOne(
                db,
                sql: """
                    SELECT v.*, l.state AS link_state, l.issue_id, l.issue_key, l.web_url, l.created_at AS link_created_at
                    FROM vulnerabilities v LEFT JOIN vulnerability_issue_links l ON l.vulnerability_id = v.id
                    WHERE v.project_id = ? AND v.id = ?
                    """, arguments: [projectID, id]
            ).map(Self.vulnerability(from:))
        }
    }

    public func claimIssueCreation(vulnerabilityID: Int64, staleAfter: Int64, now: Millis) async throws -> IssueClaim {
        try await database.write { db in
            if let row = try await SQLRow.fetchOne(
                db, sql: "SELECT * FROM vulnerability_issue_links WHERE vulnerability_id = ?", arguments: [vulnerabilityID])
            {
                let state: String = row["state"]
                if state == "created", let link = Self.link(from: row) { return .created(link) }
                let updated: Int64 = row["updated_at"]
                if now - updated < staleAfter { return .inProgress(since: updated) }
                try await db.execute(
                    sql: "UPDATE vulnerability_issue_links SET updated_at = ? WHERE vulnerability_id = ?", arguments: [now, vulnerabilityID])
                return .reclaimed
            }
            try await db.execute(
                sql: """
                    INSERT INTO vulnerability_issue_links (vulnerability_id, state, created_at, updated_at) VALUES (?, 'creating', ?, ?)
                    """, arguments: [vulnerabilityID, now, now])
            return .claimed
        }
    }

    public func completeIssueCreation(vulnerabilityID: Int64, link: VulnerabilityIssueLink, now: Millis) async throws {
        try await database.write { db in
            try await db.execute(
                sql: """
                    INSERT INTO vulnerability_issue_links (vulnerability_id, state, issue_id, issue_key, web_url, created_at, updated_at)
                    VALUES (?, 'created', ?, ?, ?, ?, ?)
                    ON CONFLICT (vulnerability_id) DO UPDATE SET state = 'created', issue_id = excluded.issue_id, issue_key = excluded.issue_key,
                        web_url = excluded.web_url, created_at = excluded.created_at, updated_at = excluded.updated_at
                    """, arguments: [vulnerabilityID, link.issueID, link.issueKey, link.webURL, link.createdAt, now])
        }
    }

    public func removeIssueLink(vulnerabilityID: Int64) async throws {
        try await database.write { db in
            try await db.execute(sql: "DELETE FROM vulnerability_issue_links WHERE vulnerability_id = ?", arguments: [vulnerabilityID])
        }
    }

    static func vulnerability(from row: SQLRow) throws -> VulnerabilityRecord {
        let json: String = row["finding"]
        guard let finding = StoredFinding.finding(json) else {
            throw StoreError.conflict("vulnerability \(row["id"] as Int64) holds a finding this version cannot read")
        }
        var link: VulnerabilityIssueLink? = nil
        if (row["link_state"] as String?) == "created" {
            link = VulnerabilityIssueLink(
                issueID: row["issue_id"], issueKey: row["issue_key"], webURL: row["web_url"], createdAt: row["link_created_at"])
        }
        return VulnerabilityRecord(
            id: row["id"], projectID: row["project_id"], finding: finding, state: row["state"], commitSHA: row["commit_sha"],
            createdAt: row["created_at"], updatedAt: row["updated_at"], resolvedAt: row["resolved_at"], issueLink: link)
    }

    static func link(from row: SQLRow) -> VulnerabilityIssueLink? {
        guard let id: String = row["issue_id"], let key: String = row["issue_key"], let url: String = row["web_url"] else { return nil }
        return VulnerabilityIssueLink(issueID: id, issueKey: key, webURL: url, createdAt: row["created_at"])
    }
}
