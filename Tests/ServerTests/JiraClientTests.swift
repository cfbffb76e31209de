import Foundation
import Integration
import JiraClient
import JiraEmulator
import Logging
import Testing

@Suite("Jira client against the emulator")
struct JiraClientTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func withClient(
        _ options: Harness.Options = Harness.Options(),
        _ body: @Sendable (JiraHTTPClient, Harness, JiraConnection) async throws -> Void
    ) async throws {
        try await Harness.run(options) { h in
            let client = JiraHTTPClient(configuration: .init(allowLocalRequests: true, timeouts: options.timeouts))
            var settings = JiraSettings()
            settings.url = h.emulatorURL
            settings.username = h.emulator.deployment == .cloud ? "jira-bot@example.com" : "jira-bot"
            settings.password = "secret-token"
            do {
                try await body(client, h, try JiraConnection(settings: settings))
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test("comments, remote links and transitions round-trip through Jira")
    func writeCalls() async throws {
        try await withClient { client, h, c in
            let issue = await h.emulator.addIssue(projectKey: "PROJ", summary: "Broken login")
            let fetched = try await client.issue(c, key: issue.key, expand: ["transitions"], logger: logger)
            #expect(fetched.key == issue.key)
            #expect(!fetched.isResolved)
            let done = try #require(fetched.transitions.first { $0.targetCategoryKey == "done" })

            _ = try await client.addComment(
                c, issue: issue.key, body: "[Alice|https://gitlab.example.com/alice] mentioned this issue", logger: logger)
            #expect(
                try await client.comments(c, issue: issue.key, logger: logger).map(\.body) == [
                    "[Alice|https://gitlab.example.com/alice] mentioned this issue"
                ])

            let link = RemoteLinkRequest(
                globalId: "https://gitlab.example.com/acme/shop/-/commit/abc", relationship: "mentioned on",
                url: "https://gitlab.example.com/acme/shop/-/commit/abc", title: "Commit - Fix login", resolved: false,
                iconTitle: "GitLab", iconURL: "https://gitlab.example.com/favicon.png")
            let first = try await client.upsertRemoteLink(c, issue: issue.key, link: link, logger: logger)
            var resolved = link
            resolved.object.status.resolved = true
            let second = try await client.upsertRemoteLink(c, issue: issue.key, link: resolved, logger: logger)
            #expect(first == second, "Jira upserts on globalId")
            var retitled = resolved
            retitled.object.title = "Commit - Fix login (retitled)"
            try await client.updateRemoteLink(c, issue: issue.key, linkID: first, link: retitled, logger: logger)
            let links = try await client.remoteLinks(c, issue: issue.key, logger: logger)
            #expect(links.count == 1)
            #expect(links.first?.resolved == true)
            #expect(links.first?.title == "Commit - Fix login (retitled)")

            #expect(try await client.transitions(c, issue: issue.key, logger: logger).contains { $0.id == done.id })
            try await client.doTransition(c, issue: issue.key, transitionID: done.id, logger: logger)
            #expect(try await client.issue(c, key: issue.key, logger: logger).isResolved)
            let bad = await #expect(throws: JiraError.self) {
                try await client.doTransition(c, issue: issue.key, transitionID: "999", logger: logger)
            }
            #expect(bad?.status == 400)
            #expect(bad?.jiraMessages == ["Transition id '999' is not valid for this issue."])
        }
    }

    @Test("a workflow whose done status sets no resolution leaves the issue unresolved")
    func doneWithoutResolution() async throws {
        try await withClient { client, h, c in
            await h.emulator.setResolutionOnDone(false)
            let issue = await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            try await client.doTransition(c, issue: issue.key, transitionID: "31", logger: logger)
            #expect(try await !client.issue(c, key: issue.key, logger: logger).isResolved)
        }
    }

    @Test("projects, issue types and issue creation, with Jira's field errors")
    func createCalls() async throws {
        try await withClient { client, h, c in
            await h.emulator.addProject(key: "PROJ", name: "Project")
            await h.emulator.addProject(key: "STRICT", requiredFields: ["components"])
            let project = try await client.project(c, key: "PROJ", logger: logger)
            #expect(project.issueTypes.contains { $0.subtask })
            #expect(try await client.issueTypes(c, logger: logger).count == 4)
            let created = try await client.createIssue(
                c,
                fields: [
                    "project": ["id": .string(project.id)], "issuetype": ["id": "10001"],
                    "summary": "Investigate vulnerability: SQL injection", "description": "h3. Description",
                ], logger: logger)
            #expect(created.key.hasPrefix("PROJ-"))
            let strict = try await client.project(c, key: "STRICT", logger: logger)
            let error = await #expect(throws: JiraError.self) {
                try await client.createIssue(
                    c, fields: ["project": ["id": .string(strict.id)], "issuetype": ["id": "10001"], "summary": "x"], logger: logger)
            }
            #expect(error?.jiraMessages == ["Components is required."])
            #expect(
                error?.userMessage
                    == "An error occurred while requesting data from Jira: Components is required. Check your Jira integration configuration and try again."
            )
            let missing = await #expect(throws: JiraError.self) { try await client.project(c, key: "NOPE", logger: logger) }
            #expect(missing?.status == 404)
            #expect(missing?.isTransient == false)
        }
    }

    @Test("Server search pages by startAt with a total")
    func serverSearch() async throws {
        try await withClient { client, h, c in
            for i in 1...5 {
                await h.emulator.addIssue(projectKey: "PROJ", summary: "Issue \(i)", created: Date(timeIntervalSince1970: Double(i) * 1000))
            }
            await h.emulator.addIssue(projectKey: "OTHER", summary: "elsewhere")
            let fields = ["summary", "status", "labels"]
            let p1 = try await client.searchServer(
                c, jql: "project in (\"PROJ\") order by created DESC", startAt: 0, maxResults: 2, fields: fields, logger: logger)
            #expect(p1.total == 5)
            #expect(!p1.isLast)
            #expect(p1.issues.map { $0["fields"]?["summary"] } == ["Issue 5", "Issue 4"])
            let p3 = try await client.searchServer(
                c, jql: "project in (\"PROJ\") order by created DESC", startAt: 4, maxResults: 2, fields: fields, logger: logger)
            #expect(p3.isLast)
            #expect(p3.issues.count == 1)
            let bad = await #expect(throws: JiraError.self) {
                try await client.searchServer(c, jql: "project in (ORDER)", startAt: 0, maxResults: 2, fields: fields, logger: logger)
            }
            #expect(bad?.userMessage.contains("'ORDER' is a reserved JQL word") == true)
        }
    }

    @Test("Cloud search pages by nextPageToken; the removed v2 search answers 410")
    func cloudSearch() async throws {
        var options = Harness.Options()
        options.deployment = .cloud
        try await withClient(options) { client, h, c in
            for i in 1...3 { await h.emulator.addIssue(projectKey: "PROJ", summary: "Issue \(i)", labels: ["backend"]) }
            let fields = ["summary"]
            let p1 = try await client.searchCloud(
                c, jql: "project in (\"PROJ\") AND labels = \"backend\"", nextPageToken: nil, maxResults: 2, fields: fields, logger: logger)
            #expect(p1.issues.count == 2)
            #expect(!p1.isLast)
            #expect(p1.total == nil)
            let p2 = try await client.searchCloud(
                c, jql: "project in (\"PROJ\") AND labels = \"backend\"", nextPageToken: p1.nextPageToken, maxResults: 2, fields: fields,
                logger: logger)
            #expect(p2.issues.count == 1)
            #expect(p2.isLast)
            let gone = await #expect(throws: JiraError.self) {
                try await client.searchServer(c, jql: "order by created DESC", startAt: 0, maxResults: 1, fields: fields, logger: logger)
            }
            #expect(gone?.status == 410)
        }
    }

    @Test("a personal access token is sent as Bearer; Cloud refuses it")
    func bearer() async throws {
        try await withClient { client, h, _ in
            let pat = JiraConnection(base: JiraURL(h.emulatorURL)!, credentials: .bearer(token: "pat-secret"))
            let me = try await client.myself(pat, logger: logger)
            #expect(me["name"] == "jira-bot")
            let wrong = JiraConnection(base: JiraURL(h.emulatorURL)!, credentials: .bearer(token: "nope"))
            let e = await #expect(throws: JiraError.self) { try await client.myself(wrong, logger: logger) }
            #expect(e?.status == 401)
            #expect(e?.userMessage == "The credentials for accessing Jira are not valid. Check your Jira integration credentials and try again.")
            #expect(await h.emulator.requests.last?.authScheme == "Bearer")
        }
        var cloud = Harness.Options()
        cloud.deployment = .cloud
        try await withClient(cloud) { client, h, _ in
            let pat = JiraConnection(base: JiraURL(h.emulatorURL)!, credentials: .bearer(token: "pat-secret"))
            await #expect(throws: JiraError.self) { try await client.myself(pat, logger: logger) }
        }
    }

    @Test("a context path is kept in front of every REST path")
    func contextPath() async throws {
        var options = Harness.Options()
        options.contextPath = "/jira"
        try await withClient(options) { client, h, c in
            #expect(c.base.contextPath == "/jira")
            let info = try await client.serverInfo(c, logger: logger)
            #expect(info.deploymentType == "Server")
            #expect(await h.emulator.requests.last?.path == "/rest/api/2/serverInfo")
        }
    }

    @Test("429 surfaces Retry-After; a dropped connection and 5xx are transient; 403 is not")
    func faults() async throws {
        try await withClient { client, h, c in
            await h.emulator.addFault(EmulatedFault(pathContains: "/myself", status: 429, retryAfter: 2))
            let limited = await #expect(throws: JiraError.self) { try await client.myself(c, logger: logger) }
            #expect(limited?.retryAfterSeconds == 2)
            #expect(limited?.isTransient == true)
            await h.emulator.addFault(EmulatedFault(pathContains: "/myself", dropConnection: true))
            let dropped = await #expect(throws: JiraError.self) { try await client.myself(c, logger: logger) }
            #expect(dropped?.isTransient == true, "\(String(describing: dropped))")
            await h.emulator.addFault(EmulatedFault(pathContains: "/myself", status: 503))
            let unavailable = await #expect(throws: JiraError.self) { try await client.myself(c, logger: logger) }
            #expect(unavailable?.isTransient == true)
            await h.emulator.addFault(EmulatedFault(pathContains: "/myself", status: 403))
            let forbidden = await #expect(throws: JiraError.self) { try await client.myself(c, logger: logger) }
            #expect(forbidden?.isTransient == false)
            #expect(
                forbidden?.userMessage
                    == "The credentials for accessing Jira are not allowed to access the data. Check your Jira integration credentials and try again."
            )
            let me = try await client.myself(c, logger: logger)
            #expect(me["name"] == "jira-bot", "faults last only as many calls as asked")
        }
    }

    @Test("a key with path characters cannot leave its path segment")
    func keyEscaping() async throws {
        try await withClient { client, h, c in
            let e = await #expect(throws: JiraError.self) { try await client.issue(c, key: "../../myself", logger: logger) }
            #expect(e?.status == 404)
            #expect(await h.emulator.requests.last?.path.hasPrefix("/rest/api/2/issue/") == true)
        }
    }
}

@Suite("Rate-limit waits")
struct RateLimitWaitTests {
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("Retry-After in seconds or as an HTTP date, else X-RateLimit-Reset; nonsense is ignored and a day is the most")
    func parsing() {
        #expect(RateLimitWait.seconds(retryAfter: "5", rateLimitReset: nil, now: now) == 5)
        #expect(RateLimitWait.seconds(retryAfter: " 0 ", rateLimitReset: nil, now: now) == 0)
        #expect(RateLimitWait.seconds(retryAfter: "99999999999999999999999", rateLimitReset: nil, now: now) == 86_400)
        #expect(RateLimitWait.seconds(retryAfter: "1e300", rateLimitReset: nil, now: now) == nil)
        #expect(RateLimitWait.seconds(retryAfter: "-5", rateLimitReset: nil, now: now) == nil)
        let inThirty = now.addingTimeInterval(30)
        let http = DateFormatter()
        http.locale = Locale(identifier: "en_US_POSIX")
        http.timeZone = TimeZone(identifier: "GMT")
        http.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(RateLimitWait.seconds(retryAfter: http.string(from: inThirty), rateLimitReset: nil, now: now) == 30)
        let iso = inThirty.addingTimeInterval(60).formatted(.iso8601)
        #expect(RateLimitWait.seconds(retryAfter: nil, rateLimitReset: iso, now: now) == 90)
        #expect(RateLimitWait.seconds(retryAfter: "7", rateLimitReset: iso, now: now) == 7, "Retry-After wins")
        #expect(RateLimitWait.seconds(retryAfter: nil, rateLimitReset: now.addingTimeInterval(-10).formatted(.iso8601), now: now) == 0)
        #expect(
            RateLimitWait.seconds(
                retryAfter: nil, rateLimitReset: "2026-03-02T12:00:00.250+01:00",
                now: Date(timeIntervalSince1970: 1_772_449_190)) == 11)
        #expect(RateLimitWait.seconds(retryAfter: nil, rateLimitReset: "soon", now: now) == nil)
        #expect(RateLimitWait.seconds(retryAfter: nil, rateLimitReset: String(repeating: "9", count: 10_000), now: now) == nil)
        #expect(RateLimitWait.seconds(retryAfter: nil, rateLimitReset: "9999-12-31T23:59:59Z", now: now) == 86_400)
    }
}
