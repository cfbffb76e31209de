import Foundation
import Integration
import JiraEmulator
import Server
import Store
import TestDatabases
import Testing

/// Jira Cloud in 2026 (issue 16): expiring tokens pause deliveries instead of failing them; rate limits hold
/// what their `RateLimit-Reason` names; a 503 with `Retry-After` waits as a 429 does. Against the emulator over HTTP.
@Suite("Rejected credentials and rate limits")
struct JiraCloudLimitsTests {
    /// A push of one commit per issue, each mentioning its own key: a comment and a remote link per issue.
    static func push(_ keys: [String]) -> String {
        Payloads.push(
            commits: keys.enumerated().map { i, key in
                (String(repeating: String(format: "%x", i % 16), count: 40), "Work on \(key)")
            })
    }

    /// A signed-in web session of the instance admin.
    static func session(_ h: Harness) async throws -> String {
        let web = WebSignInTests()
        let r = try await web.signIn(h, token: h.adminToken, form: try await web.signInForm(h))
        precondition(r.status == 303, "sign-in failed")
        return String(
            try #require(
                r.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix(WebSessionCookie.name) }?.1
                    .split(separator: ";").first))
    }

    /// Waits until no delivery of project 42 is pending or running, whatever their count.
    static func quiet(_ h: Harness, expecting count: Int, timeout: Duration = .seconds(30)) async throws -> [JSONValue] {
        let rested = try await eventually(timeout: timeout) {
            let all = try await h.deliveries()
            return all.count == count && !all.contains(where: { $0["status"] == "pending" || $0["status"] == "running" })
        }
        if rested { return try await h.deliveries() }
        Issue.record("deliveries did not come to rest: \(try await h.deliveries())")
        return try await h.deliveries()
    }

    @Test(
        "a token that expires in the middle of 50 deliveries: none fails, the page and the API say so, and a new token completes all 50 exactly once")
    func expiringToken() async throws {
        try await Harness.run { h in
            try await h.configure()
            let keys = (1...25).map { "PROJ-\($0)" }
            for _ in keys { await h.emulator.addIssue(projectKey: "PROJ", summary: "x") }
            // Each delivery reads, then writes: about a dozen get through before the token expires.
            await h.emulator.expireCredentials(user: "jira-bot", afterRequests: 25)
            _ = try await h.webhook("Push Hook", Self.push(keys))
            let paused = try await Self.quiet(h, expecting: 50)
            let statuses = Dictionary(grouping: paused, by: { $0["status"]?.string ?? "" }).mapValues(\.count)
            #expect(statuses["failed"] == nil && statuses["dead"] == nil, "\(statuses)")
            #expect((statuses["paused"] ?? 0) > 0 && (statuses["succeeded"] ?? 0) > 0, "\(statuses)")
            // Once the hold is there, the rest wait without asking Jira: far fewer 401s than paused deliveries.
            let refused = await h.emulator.requests.filter { $0.status == 401 }.count
            #expect(refused <= 4 * 2, "each of at most 4 deliveries in flight met the expiry once: \(refused)")

            // The API: on the integration and on each paused delivery.
            let integration = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            let since = try #require(integration.json["credentials_rejected_since"]?.string, "\(integration.text)")
            for d in paused where d["status"] == "paused" {
                #expect(d["credentials_rejected_since"]?.string == since)
                #expect(d["last_error"]?.string?.contains("401") == true || d["last_error"]?.string?.contains("rejected") == true)
            }
            #expect(paused.filter { $0["status"] == "succeeded" }.allSatisfy { $0["credentials_rejected_since"] == .null })
            // The pages: project, delivery log and settings.
            let cookie = try await Self.session(h)
            for path in ["/projects/42", "/projects/42/integrations/jira/deliveries", "/projects/42/settings/integrations/jira"] {
                let page = try await h.request(.GET, path, headers: [("Cookie", cookie)])
                #expect(page.status == 200 && page.text.contains("id=\"credentials-rejected\"") && page.text.contains(since), "\(path)")
                #expect(!page.text.contains("secret-token") && !page.text.contains("rotated-token"))
            }
            let metrics = try await h.request(.GET, "/metrics").text
            #expect(metrics.contains("jira_bridge_credentials_rejected{site=\"\(h.emulatorURL)\"} 1"), "\(metrics)")
            #expect(metrics.contains("jira_bridge_deliveries_paused{site=\"\(h.emulatorURL)\"} \(statuses["paused"] ?? 0)"))

            // The admin rotates the token in Jira and saves it: everything completes, nobody retries by hand.
            await h.emulator.setPassword(user: "jira-bot", to: "rotated-token")
            let saved = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: h.workingSettings(["password": "rotated-token"]))
            #expect(saved.status == 200 && saved.json["credentials_rejected_since"] == .null, "\(saved.text)")
            let done = try await Self.quiet(h, expecting: 50)
            #expect(done.allSatisfy { $0["status"] == "succeeded" }, "\(done.filter { $0["status"] != "succeeded" })")
            for key in keys {
                let issue = await h.issue(key)
                #expect(
                    issue.comments.count == 1 && issue.remoteLinks.count == 1,
                    "\(key): \(issue.comments.count) comments, \(issue.remoteLinks.count) links")
            }
            let after = try await h.request(.GET, "/metrics").text
            #expect(after.contains("jira_bridge_credentials_rejected{site=\"\(h.emulatorURL)\"} 0"))
            #expect(after.contains("jira_bridge_deliveries_paused{site=\"\(h.emulatorURL)\"} 0"))
        }
    }

    @Test("a Test settings that succeeds with the saved credentials resumes paused deliveries; one that fails resumes nothing")
    func testSettingsResumes() async throws {
        try await Harness.run { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.expireCredentials(user: "jira-bot", afterRequests: 0)
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1"]))
            let paused = try await Self.quiet(h, expecting: 2)
            #expect(paused.allSatisfy { $0["status"] == "paused" }, "\(paused)")
            let failing = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(failing.json["test_failed"] == true)
            // A failed test resumes nothing: a passing one resumes within its own request, so right after the
            // answer the hold is still in force and the deliveries are still paused.
            #expect(try await h.store.credentialHolds().count == 1)
            #expect(try await h.deliveries().allSatisfy { $0["status"] == "paused" })
            // Jira takes the same token again (the admin extended it in Atlassian's settings).
            await h.emulator.setPassword(user: "jira-bot", to: "secret-token")
            let passing = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test")
            #expect(passing.json["success"] == true, "\(passing.text)")
            let done = try await Self.quiet(h, expecting: 2)
            #expect(done.allSatisfy { $0["status"] == "succeeded" }, "\(done)")
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("a group default's rejected token pauses every project that uses it; saving the group's new token resumes them all")
    func groupDefault() async throws {
        try await Harness.run { h in
            let group = try await h.store.ensureGroup(fullPath: "acme/web", name: nil)
            let put = try await h.admin(.PUT, "/api/v4/groups/\(group.id)/integrations/jira", json: h.workingSettings())
            #expect(put.status == 200, "\(put.text)")
            try await h.registerProject()
            let project = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira")
            #expect(project.json["inherited"] == true, "\(project.text)")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.expireCredentials(user: "jira-bot", afterRequests: 0)
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1"]))
            #expect(try await Self.quiet(h, expecting: 2).allSatisfy { $0["status"] == "paused" })
            let groupJSON = try await h.admin(.GET, "/api/v4/groups/\(group.id)/integrations/jira")
            #expect(groupJSON.json["credentials_rejected_since"]?.string != nil, "\(groupJSON.text)")
            let cookie = try await Self.session(h)
            let page = try await h.request(.GET, "/groups/\(group.id)/settings/integrations/jira", headers: [("Cookie", cookie)])
            #expect(page.text.contains("id=\"credentials-rejected\""))
            await h.emulator.setPassword(user: "jira-bot", to: "rotated-token")
            _ = try await h.admin(.PUT, "/api/v4/groups/\(group.id)/integrations/jira", json: h.workingSettings(["password": "rotated-token"]))
            #expect(try await Self.quiet(h, expecting: 2).allSatisfy { $0["status"] == "succeeded" })
        }
    }

    @Test("with the default settings, a delivery still paused a day after its webhook is made dead by the server's own sweep")
    func pausedPastTheDeadline() async throws {
        var options = Harness.Options()
        options.pipeline = PipelineConfiguration()  // the defaults: a day's deadline, a sweep every 15 heartbeats of 2 s
        let clock = TestClock()
        options.clock = clock
        try await Harness.run(options) { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.expireCredentials(user: "jira-bot", afterRequests: 0)
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1"]))
            #expect(try await Self.quiet(h, expecting: 2).allSatisfy { $0["status"] == "paused" })
            // The webhook came a day and an hour ago.
            let past = h.store.clock.now() - 25 * 3_600_000
            try await h.store.database.write { db in try await db.execute(sql: "UPDATE deliveries SET created_at = ?", arguments: [past]) }
            // The heartbeats come every 2 s of the test's clock, and every 15th sweeps: the clock is moved on one
            // heartbeat at a time (each time the heartbeat is back in its wait), for at most two sweeps.
            for _ in 0..<(2 * 15) {
                if try await h.deliveries().allSatisfy({ $0["status"] == "dead" }) { break }
                #expect(await eventually { clock.waits(for: .seconds(2)) == 1 }, "the heartbeat waits for its next beat")
                clock.advance(by: .seconds(2))
            }
            #expect(try await eventually { try await h.deliveries().allSatisfy { $0["status"] == "dead" } })
            let log = try await h.deliveries()
            #expect(
                log.allSatisfy {
                    $0["status"] == "dead" && $0["last_error"]?.string?.hasSuffix("(it waited paused past the retry deadline)") == true
                },
                "\(log)")
        }
    }

    @Test("a 403 stays a failure of that one delivery: no pause, no rejection")
    func forbiddenStaysFailed() async throws {
        try await Harness.run { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "y")
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/PROJ-1/comment", status: 403, times: 1))
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1", "PROJ-2"]))
            let log = try await Self.quiet(h, expecting: 4)
            #expect(log.filter { $0["status"] == "failed" }.count == 1 && log.filter { $0["status"] == "succeeded" }.count == 3, "\(log)")
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").json["credentials_rejected_since"] == .null)
        }
    }

    // MARK: Rate limits

    /// One delivery at a time, so what waits behind a refusal is known.
    static func oneAtATime() -> Harness.Options {
        var options = Harness.Options()
        options.pipeline.perSiteLimit = 1
        return options
    }

    /// Waits until a delivery of project 42 has been tried and waits for its next try, and returns it.
    static func waiting(_ h: Harness) async throws -> JSONValue {
        var found: JSONValue? = nil
        try await eventually(timeout: .seconds(30)) {
            found = try await h.deliveries().first(where: { $0["status"] == "pending" && ($0["attempts"]?.number ?? 0) >= 1 })
            return found != nil
        }
        guard let found else { throw LogNeverWaited() }
        return found
    }
    struct LogNeverWaited: Error {}

    static func seconds(_ d: JSONValue, until field: String = "next_run_at") throws -> Double {
        let updated = try Date(#require(d["updated_at"]?.string), strategy: .iso8601)
        let next = try Date(#require(d[field]?.string), strategy: .iso8601)
        return next.timeIntervalSince(updated)
    }

    @Test("jira-per-issue-on-write holds that issue only: the other issue's deliveries run, the held issue's next write waits")
    func perIssue() async throws {
        try await Harness.run { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "y")
            var fault = EmulatedFault(method: "POST", pathContains: "/PROJ-1/", status: 429, retryAfter: 30, times: 1)
            fault.headers = ["RateLimit-Reason": "jira-per-issue-on-write"]
            await h.emulator.addFault(fault)
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1", "PROJ-2"]))
            let limited = try await Self.waiting(h)
            #expect(limited["issue_key"] == "PROJ-1")
            #expect(try Self.seconds(limited) >= 29, "\(limited)")
            #expect(limited["last_error"]?.string?.contains("rate limited (jira-per-issue-on-write): issue PROJ-1 waits 30 s") == true, "\(limited)")
            // PROJ-2 is not held: both its deliveries finish while PROJ-1 waits.
            try await eventually { try await h.deliveries().filter({ $0["issue_key"] == "PROJ-2" && $0["status"] == "succeeded" }).count == 2 }
            var log = try await h.deliveries()
            #expect(log.filter { $0["issue_key"] == "PROJ-2" && $0["status"] == "succeeded" }.count == 2, "\(log)")
            // PROJ-1's other delivery is due but held with its issue: the queue offers it to no worker (a
            // claim of this test's own finds nothing), so it is never tried.
            #expect(
                try await h.store.claimDeliveries(owner: "probe", limit: 10, perSiteLimit: 10, leaseMillis: 60_000, now: h.store.clock.now()).isEmpty)
            log = try await h.deliveries()
            let other = log.filter { $0["issue_key"] == "PROJ-1" && $0["id"] != limited["id"] }
            #expect(other.count == 1 && other.allSatisfy { $0["status"] == "pending" || $0["status"] == "succeeded" }, "\(other)")
            let holds = try await h.store.rateLimitHolds(now: h.store.clock.now())
            #expect(holds.count == 1 && holds.first?.issueKey == "PROJ-1" && holds.first?.reason == "jira-per-issue-on-write", "\(holds)")
        }
    }

    @Test(
        "burst, quota and unnamed 429s hold the whole site: nothing else is sent to it before the wait ends",
        arguments: [
            "jira-burst-based", "jira-quota-tenant-based", "",
        ])
    func siteWide(_ reason: String) async throws {
        try await Harness.run(Self.oneAtATime()) { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "y")
            var fault = EmulatedFault(method: "POST", pathContains: "/rest/api/2/issue/", status: 429, retryAfter: 30, times: 1)
            if !reason.isEmpty { fault.headers = ["RateLimit-Reason": reason] }
            await h.emulator.addFault(fault)
            _ = try await h.webhook("Push Hook", Self.push(["PROJ-1", "PROJ-2"]))
            let limited = try await Self.waiting(h)
            let sent = await h.emulator.requests.count
            // The queue offers nothing of the held site to any worker (a claim of this test's own finds nothing).
            #expect(
                try await h.store.claimDeliveries(owner: "probe", limit: 10, perSiteLimit: 10, leaseMillis: 60_000, now: h.store.clock.now()).isEmpty)
            #expect(await h.emulator.requests.count == sent, "a held site gets no request")
            let log = try await h.deliveries()
            #expect(log.filter { $0["status"] == "succeeded" }.count < 4, "\(log)")
            let named = reason.isEmpty ? "unnamed" : reason
            #expect(limited["last_error"]?.string?.contains("rate limited (\(named)): the Jira site waits 30 s") == true, "\(limited)")
            let holds = try await h.store.rateLimitHolds(now: h.store.clock.now())
            #expect(holds.count == 1 && holds.first?.issueKey == nil && holds.first?.reason == named, "\(holds)")
            // The delivery log page shows the wait and its reason.
            let cookie = try await Self.session(h)
            let page = try await h.request(.GET, "/projects/42/integrations/jira/deliveries", headers: [("Cookie", cookie)])
            #expect(page.text.contains("id=\"rate-limit-waits\"") && page.text.contains("rate limited (\(named))"))
            let metrics = try await h.request(.GET, "/metrics").text
            #expect(metrics.contains("jira_bridge_rate_limit_holds{site=\"\(h.emulatorURL)\",scope=\"site\"} 1"), "\(metrics)")
        }
    }

    @Test(
        "a 503 with Retry-After waits as a 429 does (and holds the site); a 429 with only X-RateLimit-Reset waits until that time",
        arguments: [(503, "Retry-After", 40), (429, "X-RateLimit-Reset", 40)])
    func waitsAsJiraSays(_ status: Int, _ header: String, _ seconds: Int) async throws {
        try await Harness.run(Self.oneAtATime()) { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            var fault = EmulatedFault(pathContains: "/remotelink", status: status, times: 1)
            fault.headers[header] = header == "Retry-After" ? String(seconds) : Date().addingTimeInterval(Double(seconds)).formatted(.iso8601)
            await h.emulator.addFault(fault)
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [("abc1", "Fix PROJ-1")]))
            let d = try await Self.waiting(h)
            // The harness's own backoff is 50 ms: only Jira's header makes it wait this long.
            // Half the wait at least: X-RateLimit-Reset is a time, set when the fault was made, and a loaded machine
            // may take a while to get there.
            #expect(try Self.seconds(d) >= Double(seconds) / 2, "\(d)")
            let id = Int64(try #require(d["id"]?.number))
            let stored = try #require(try await h.store.delivery(id: id))
            #expect(stored.nextRunAt - stored.updatedAt >= Millis(seconds / 2) * 1000)
            #expect(try await h.store.rateLimitHolds(now: h.store.clock.now()).map(\.issueKey) == [nil])
        }
    }

    @Test(
        "against the emulator's own limits, each reason is met with its wait, and every delivery completes exactly once",
        arguments: EmulatedRateLimit.Reason.allCases)
    func emulatedLimits(_ reason: EmulatedRateLimit.Reason) async throws {
        try await Harness.run { h in
            try await h.configure()
            let keys = ["PROJ-1", "PROJ-2", "PROJ-3"]
            for _ in keys { await h.emulator.addIssue(projectKey: "PROJ", summary: "x") }
            // Windows long enough that a loaded CI machine still sends an issue's two writes (or the six of the
            // push) inside one: with 1.5 s, a slow run sometimes never met the per-issue limit at all.
            switch reason {
            case .perIssueOnWrite: await h.emulator.addRateLimit(EmulatedRateLimit(reason: reason, limit: 1, windowMilliseconds: 6_000))
            case .burst: await h.emulator.addRateLimit(EmulatedRateLimit(reason: reason, limit: 2, windowMilliseconds: 4_000))
            case .tenantQuota: await h.emulator.addRateLimit(EmulatedRateLimit(reason: reason, limit: 5, windowMilliseconds: 4_000))
            }
            _ = try await h.webhook("Push Hook", Self.push(keys))
            let done = try await h.settle(expecting: 6, timeout: .seconds(60))
            #expect(done.allSatisfy { $0["status"] == "succeeded" }, "\(done)")
            for key in keys {
                let issue = await h.issue(key)
                #expect(issue.comments.count == 1 && issue.remoteLinks.count == 1, "\(key)")
            }
            #expect(await h.emulator.requests.contains { $0.status == 429 }, "the limit was met")
            let ids = done.compactMap { $0["id"]?.number.map(Int64.init) }
            let attempts = try await h.store.attempts(deliveryIDs: ids).values.flatMap { $0 }
            let waits = attempts.compactMap(\.error).filter { $0.contains("rate limited") }
            #expect(!waits.isEmpty && waits.allSatisfy { $0.contains("rate limited (\(reason.rawValue))") }, "\(waits)")
            let what = reason == .perIssueOnWrite ? "issue PROJ-" : "the Jira site waits"
            #expect(waits.allSatisfy { $0.contains(what) }, "\(waits)")
        }
    }
}
