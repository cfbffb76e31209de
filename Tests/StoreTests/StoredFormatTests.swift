import Foundation
import GRDB
import Integration
import Testing

@testable import Store

/// Rows written by earlier builds must still read: each format is decoded explicitly (`StoredFormat`).
@Suite("Stored formats")
struct StoredFormatTests {
    struct Format0: Decodable {
        var events: [String: String]
        var deliveries: [String: String]
    }

    func format0() throws -> Format0 { try JSONDecoder().decode(Format0.self, from: fixture("format0-rows.json")) }

    @Test("a push stored in format 0 (before the versioned format) decodes with every field")
    func format0Push() throws {
        let event = try StoredFormat.decodeEvent(try format0().events["push"]!)
        guard case .push(let push) = event else { Issue.record("not a push: \(event)"); return }
        #expect(push.project.id == 15 && push.project.pathWithNamespace == "acme/shop" && push.project.namespaceName == "Acme")
        #expect(push.ref == "refs/heads/main" && push.omittedCommits == 3)
        #expect(push.commits.map(\.id) == ["b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"])
        #expect(push.commits[0].message == "Closes PROJ-1 fix\n\nbody" && push.commits[0].authorEmail == "jordi@example.com")
        #expect(push.pusher == ForgeUser(name: "John Smith", username: "jsmith", email: nil))
    }

    @Test("a merge request stored in format 0 decodes, its action included")
    func format0MergeRequest() throws {
        let event = try StoredFormat.decodeEvent(try format0().events["merge_request"]!)
        guard case .mergeRequest(let mr) = event else { Issue.record("not a merge request: \(event)"); return }
        #expect(mr.iid == 7 && mr.action == .merge && mr.lastCommitID == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        #expect(mr.user.email == "a@example.com" && mr.targetBranch == "main")
    }

    @Test("the three kinds of delivery work stored in format 0 decode")
    func format0Work() throws {
        let rows = try format0().deliveries
        #expect(try StoredFormat.decodeWork(rows["comment"]!) == .comment(body: "hello"))
        #expect(
            try StoredFormat.decodeWork(rows["remote_link"]!)
                == .remoteLink(
                    RemoteLinkSpec(
                        globalId: "g", url: "https://x/1", title: "t", resolved: false, relationship: "mentioned on", iconURL: "https://x/favicon.ico"
                    )))
        #expect(
            try StoredFormat.decodeWork(rows["transition"]!)
                == .transition(
                    TransitionSpec(
                        automatic: false, ids: ["11", "21"], applied: 1, commitID: "abc", commitURL: "https://x/c", comment: true,
                        iconURL: "https://x/i")))
    }

    @Test("what is written now carries format 1 and reads back the same")
    func currentRoundTrip() throws {
        for text in try format0().events.values {
            let event = try StoredFormat.decodeEvent(text)
            let written = try StoredFormat.encode(event: event)
            #expect(written.contains("\"format\":1"))
            #expect(!written.contains("\"_0\""))
            #expect(try StoredFormat.decodeEvent(written) == event)
        }
        for text in try format0().deliveries.values {
            let work = try StoredFormat.decodeWork(text)
            let written = try StoredFormat.encode(work: work)
            #expect(written.contains("\"format\":1"))
            #expect(try StoredFormat.decodeWork(written) == work)
        }
    }

    @Test("the development panel's facts (commit time and files, a merge request's state) are stored and read back")
    func developmentFactsRoundTrip() throws {
        let project = ForgeProject(
            id: 7, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "Acme", webURL: "https://g/acme/shop", defaultBranch: "main",
            forge: .github)
        let push = ForgeEvent.push(
            PushEvent(
                project: project, ref: "refs/heads/main", before: "", after: String(repeating: "a", count: 40),
                commits: [
                    ForgeCommit(
                        id: String(repeating: "a", count: 40), message: "PROJ-1", url: "https://g/c", authorName: "A", authorEmail: nil,
                        timestamp: "2024-01-02T03:04:05Z", fileCount: 3)
                ], pusher: ForgeUser(name: "A", username: "a")))
        let mr = ForgeEvent.mergeRequest(
            MergeRequestEvent(
                project: project, iid: 4, title: "PROJ-1", description: "", action: .merge, sourceBranch: "f", targetBranch: "main",
                lastCommitID: nil, url: "https://g/pull/4", user: ForgeUser(name: "A", username: "a"),
                details: ChangeDetails(
                    state: .merged, draft: true, updatedAt: "2024-01-02T03:04:05Z", author: "b", commentCount: 5, reviewers: ["c", "d"])))
        for event in [push, mr] {
            #expect(try StoredFormat.decodeEvent(StoredFormat.encode(event: event)) == event)
        }
    }

    @Test("pipelines, deployments and the builds and deployments they send are stored and read back")
    func buildsAndDeploymentsRoundTrip() throws {
        let project = ForgeProject(
            id: 7, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "Acme", webURL: "https://g/acme/shop", defaultBranch: "main",
            forge: .gitea)
        let pipeline = ForgeEvent.pipeline(
            PipelineEvent(
                project: project, workflowID: "build.yml", workflowName: "CI \"quoted\"", runNumber: 27, state: .inProgress, ref: "PROJ-1-x",
                sha: String(repeating: "b", count: 40), commitMessage: "PROJ-1\nbody é", titles: ["a", "b"], url: "https://g/runs/27",
                updatedAt: "2024-01-02T03:04:05Z"))
        let deployment = ForgeEvent.deployment(
            DeploymentEvent(
                project: project, deploymentID: 15, environment: "production", tier: nil, state: .rolledBack, ref: "", sha: "",
                commitMessage: "", description: "ship", url: "https://g/d/15", updatedAt: nil))
        for event in [pipeline, deployment] {
            #expect(try StoredFormat.decodeEvent(StoredFormat.encode(event: event)) == event)
        }
        let work = DeliveryWork.cloudData(CloudDataWork(kind: .deployments, repositoryID: "gitea-7", item: #"{"state":"successful"}"#))
        #expect(try StoredFormat.decodeWork(StoredFormat.encode(work: work)) == work)
        let page = DeliveryWork.backfill(
            BackfillWork(run: 1_780_000_000_123, repositoryID: "github-9", phase: .branches, page: 3, read: 200, sent: ["mr:7", "branch:a \"b\" é"]))
        #expect(try StoredFormat.decodeWork(StoredFormat.encode(work: page)) == page)
    }

    @Test("a row of a newer format is refused with a message that says to upgrade, not misread")
    func newerFormatRefused() {
        #expect { try StoredFormat.decodeWork(#"{"format":2,"comment":{"body":"x"}}"#) } throws: { error in
            "\(error)".contains("upgrade jira-bridge")
        }
    }

    @Test("format-0 rows in a database are claimed, planned and delivered like new ones")
    func format0RowsInTheDatabase() async throws {
        let rows = try format0()
        try await withStore { store in
            _ = try await store.registerProject(registration(15, "acme/shop"))
            try await store.database.write { db in
                try await db.execute(
                    sql:
                        "INSERT INTO events (id, forge, delivery_key, project_id, kind, status, received_at) VALUES ('old-1', 'gitlab', NULL, 15, 'push', 'pending', 1)"
                )
                try await db.execute(sql: "INSERT INTO event_payloads (event_id, payload) VALUES ('old-1', ?)", arguments: [rows.events["push"]!])
                _ = try await SQLStore.insertDeliveries(
                    db,
                    [
                        [
                            "old-1", 15, "jira.example.com", "PROJ-1", "comment", "comment|x", nil,
                            rows.deliveries["comment"]!, Int64(1), Int64(1), Int64(1), nil,
                        ]
                    ])
            }
            let claimed = try await store.claimEvents(limit: 10, leaseMillis: 10_000, now: 2)
            #expect(claimed.map(\.id) == ["old-1"])
            #expect(claimed.first?.event.kind == "push")
            let (deliveries, total) = try await store.deliveries(projectID: 15, limit: 10, offset: 0)
            #expect(total == 1)
            #expect(deliveries.first?.work == .comment(body: "hello"))
        }
    }
}

/// Format 1 as the build before `JSONWriter` wrote it (through `JSONEncoder`): still read, and what is
/// written now has the same fields, so a build rolled back reads the rows of this one.
@Suite("Stored format 1")
struct StoredFormat1Tests {
    func rows() throws -> StoredFormatTests.Format0 {
        try JSONDecoder().decode(StoredFormatTests.Format0.self, from: fixture("format1-rows.json"))
    }

    @Test("rows written by JSONEncoder read with every field, escapes and non-ASCII text included")
    func readsEncoderRows() throws {
        let rows = try rows()
        guard case .push(let push) = try StoredFormat.decodeEvent(rows.events["push"]!) else { Issue.record("not a push"); return }
        #expect(push.project.forge == .github && push.project.webURL == "https://github.com/acme/shop")
        #expect(push.commits.count == 2 && push.commits[1].authorEmail == nil && push.commits[1].message.isEmpty)
        #expect(push.commits[0].message == "Closes PROJ-1 \"quoted\" \\ back\u{e9}\u{2603}\n\ttab \u{1}")
        #expect(push.pusher.email == nil && push.omittedCommits == 3)
        guard case .mergeRequest(let mr) = try StoredFormat.decodeEvent(rows.events["merge_request"]!) else { Issue.record("not an MR"); return }
        #expect(mr.project.forge == .gitlab && mr.action == .merge && mr.user.email == "a@example.com")
        #expect(try StoredFormat.decodeWork(rows.deliveries["comment"]!) == .comment(body: "hello \"x\"\n"))
        #expect(
            try StoredFormat.decodeWork(rows.deliveries["remote_link"]!)
                == .remoteLink(
                    RemoteLinkSpec(
                        globalId: "g", url: "https://x/1", title: "t", resolved: false, relationship: "mentioned on",
                        iconURL: "https://x/favicon.ico",
                        iconTitle: "GitHub")))
        #expect(
            try StoredFormat.decodeWork(rows.deliveries["transition"]!)
                == .transition(
                    TransitionSpec(
                        automatic: false, ids: ["11", "21"], applied: 1, commitID: "abc", commitURL: "https://x/c", comment: true,
                        iconURL: "https://x/i",
                        iconTitle: "Gitea")))
    }

    @Test("what is written now is the same JSON as the encoder wrote, field for field")
    func writesTheSameFields() throws {
        let rows = try rows()
        for text in rows.events.values {
            let written = try StoredFormat.encode(event: try StoredFormat.decodeEvent(text))
            #expect(try JSONValue.parse(written) == JSONValue.parse(text))
            // And Foundation reads it, as the build before does.
            #expect(try JSONSerialization.jsonObject(with: Data(written.utf8)) is [String: Any])
        }
        for text in rows.deliveries.values {
            let written = try StoredFormat.encode(work: try StoredFormat.decodeWork(text))
            #expect(try JSONValue.parse(written) == JSONValue.parse(text))
        }
    }

    @Test("rows that lack a field or have the wrong type are refused with the field's path")
    func unreadableRows() {
        let cases: [(String, String)] = [
            (#"{"format":1,"comment":{}}"#, "comment.body is missing or not a string"),
            (#"{"format":1,"push":{"project":{"id":"x"}}}"#, "push.project.id is missing or not an integer"),
            (
                #"{"format":1,"remoteLink":{"globalId":"g","url":"u","title":"t","resolved":"no"}}"#,
                "remoteLink.resolved is missing or not true or false"
            ),
            (#"{"format":"1","comment":{"body":"x"}}"#, "format is not a version number"),
            (#"{"format":1}"#, "no known kind"),
            (#"[1]"#, "not a JSON object"),
            ("{", "not JSON"),
        ]
        for (text, message) in cases {
            #expect {
                if text.contains("push") { _ = try StoredFormat.decodeEvent(text) } else { _ = try StoredFormat.decodeWork(text) }
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}

/// Settings and findings were written through `Codable` (JSONEncoder, keys sorted, slashes escaped) before
/// the core's writer wrote them: such rows still read, and the writer's rows read back the same.
@Suite("Stored settings and findings")
struct StoredSettingsFormatTests {
    /// What JSONEncoder wrote for these settings (build of 2026-12-03).
    static let codableSettings =
        #"{"api_url":"https:\/\/api.example.com","comment_on_event_enabled":true,"commit_events":true,"customize_jira_issue_enabled":false,"issues_enabled":true,"jira_auth_type":1,"jira_issue_prefix":"","jira_issue_regex":"","jira_issue_transition_automatic":false,"jira_issue_transition_id":"31,41","merge_requests_events":false,"project_key":"PROJ","project_keys":["PROJ","OPS"],"url":"https:\/\/jira.example.com","username":"bot","vulnerabilities_enabled":false}"#

    @Test("settings stored by the Codable build read with every field, and the writer's text reads back the same")
    func settings() throws {
        let old = try StoredSettings.decode(Self.codableSettings).settings(active: true, password: nil, deploymentType: .cloud)
        #expect(old.url == "https://jira.example.com" && old.apiURL == "https://api.example.com" && old.authType == 1 && old.username == "bot")
        #expect(old.transitionID == "31,41" && old.projectKeys == ["PROJ", "OPS"] && old.projectKey == "PROJ")
        #expect(old.commitEvents && !old.mergeRequestsEvents && old.issuesEnabled && old.vulnerabilitiesExtraFields == "")
        let text = try StoredSettings.encode(old)
        #expect(!text.contains(#"\/"#), "slashes as they are")
        let again = try StoredSettings.decode(text).settings(active: true, password: nil, deploymentType: .cloud)
        #expect(again == old)
        #expect(throws: StoreError.self) { try StoredSettings.decode(#"{"url": "https://x"}"#) }
    }

    /// What JSONEncoder wrote for a finding (build of 2026-12-03).
    static let codableFinding =
        #"{"description":"d","evidence":{"method":"GET","requestHeaders":["A: 1"],"responseHeaders":[]},"fingerprint":"fp1","identifiers":[{"name":"CVE-1","type":"cve","url":"https:\/\/cve.example\/1","value":"CVE-1"}],"links":[{"url":"https:\/\/l.example"}],"location":{"file":"a.c","startLine":3},"reportType":"sast","scanner":{"id":"s","name":"S"},"severity":"high","title":"t"}"#

    @Test("a finding stored by the Codable build reads with every field, and the writer's text reads back the same")
    func finding() throws {
        let old = try #require(StoredFinding.finding(Self.codableFinding))
        #expect(old.reportType == "sast" && old.scanner.id == "s" && old.title == "t" && old.description == "d" && old.severity == "high")
        #expect(old.location.file == "a.c" && old.location.startLine == 3 && old.location.endLine == nil)
        #expect(old.identifiers == [SecurityReport.Identifier(type: "cve", name: "CVE-1", value: "CVE-1", url: "https://cve.example/1")])
        #expect(old.links == [SecurityReport.Link(name: nil, url: "https://l.example")])
        #expect(old.evidence == SecurityReport.Evidence(method: "GET", url: nil, requestHeaders: ["A: 1"], responseStatus: nil, responseHeaders: []))
        #expect(StoredFinding.finding(StoredFinding.text(old)) == old)
        #expect(StoredFinding.finding(#"{"title": "no scanner"}"#) == nil)
    }
}
