import AsyncHTTPClient
import Foundation
import GRDB
import Integration
import JiraClient
import JiraEmulator
import NIOCore
import Server
import Store
import TestDatabases
import Testing

/// The reproductions of the robustness issue, each against the real server on loopback: none stops the
/// process, each gets a clear answer.
@Suite("Robustness")
struct RobustnessTests {
    /// The server still answers: the request before did not stop it.
    func alive(_ h: Harness) async throws {
        #expect(try await h.request(.GET, "/-/health").status == 200)
    }

    @Test("1e300 where an integer or a string is expected is a clear answer, never a crash")
    func hugeNumbers() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            let signIn = try await h.request(.POST, "/sign_in", raw: #"{"next":1e300}"#, headers: [("Content-Type", "text/plain")])
            #expect(signIn.status == 403)
            try await alive(h)
            let token = try await h.admin(.POST, "/api/v4/tokens", json: ["name": .number(1e300), "role": "reporter", "scope": "instance"])
            #expect(token.status == 201 || token.status == 400, "\(token.text)")
            try await alive(h)
            let project = try await h.admin(.PUT, "/api/v4/projects/42", json: ["name": .number(1e300)])
            #expect(project.status < 500)
            let id = try await h.admin(
                .POST, "/api/v4/tokens", json: ["name": "x", "role": "maintainer", "scope": "project", "project_id": .number(1e300)])
            #expect(id.status == 400 || id.status == 404, "\(id.text)")
            try await alive(h)
            let report = """
                {"version": "15.0.0", "scan": {"type": "sast", "scanner": {"id": "semgrep", "name": "Semgrep"}},
                 "vulnerabilities": [{"id": "1", "name": "XSS", "severity": "High",
                   "identifiers": [{"type": "cwe", "name": "CWE-79", "value": "79"}],
                   "location": {"file": "app.js", "start_line": 1e300}}]}
                """
            let upload = try await h.request(
                .POST, "/api/v4/projects/42/security/reports", token: h.adminToken, raw: report,
                headers: [("Content-Type", "application/json")])
            #expect(upload.status == 400)
            #expect(upload.text.contains("start_line"), "\(upload.text)")
            try await alive(h)
        }
    }

    @Test("page and per_page of any size are clamped, on every list")
    func hugePages() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            let huge = "page=9223372036854775807&per_page=9223372036854775807"
            for path in [
                "/api/v4/projects/42/integrations/jira/deliveries", "/api/v4/projects/42/vulnerabilities",
                "/api/v4/admin/integrations/jira/overrides",
            ] {
                _ = try await h.admin(.PUT, "/api/v4/admin/integrations/jira", json: h.workingSettings())
                let r = try await h.admin(.GET, "\(path)?\(huge)")
                #expect(r.status == 200, "\(path): \(r.status) \(r.text)")
                #expect(r.json.array?.isEmpty == true)
                #expect(r.headers.first { $0.0.lowercased() == "x-per-page" }?.1 == "100")
                let bad = try await h.admin(.GET, "\(path)?page=-1e9x")
                #expect(bad.status == 400 && bad.json["error"] == "page is invalid")
            }
            try await alive(h)
        }
    }

    @Test("without a token, an existing and a missing project both answer 401")
    func noExistenceOracle() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            for path in [
                "/api/v4/projects/42", "/api/v4/projects/999", "/api/v4/projects/acme%2Fweb%2Fshop", "/api/v4/projects/no%2Fsuch",
                "/api/v4/groups/acme", "/api/v4/groups/nothing", "/api/v4/projects/42/integrations/jira", "/api/v4/projects/999/integrations/jira",
            ] {
                let r = try await h.request(.GET, path)
                #expect(r.status == 401, "\(path)")
                #expect(r.json["message"] == "401 Unauthorized")
            }
        }
    }

    @Test("next after sign-in is checked as a browser reads it: tabs, newlines and backslashes cannot make //evil.com")
    func openRedirect() async throws {
        try await Harness.runLive { h in
            let tests = WebSignInTests()
            func location(after next: String) async throws -> String? {
                let r = try await tests.signIn(
                    h, token: h.adminToken, form: try await tests.signInForm(h),
                    extra: "&next=" + next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
                #expect(r.status == 303)
                return r.headers.first { $0.0.lowercased() == "location" }?.1
            }
            for hostile in ["/\t/evil.com", "/\n/evil.com", "/\\evil.com", "\\\\evil.com", "//evil.com", "https://evil.com", "/\r\n/evil.com"] {
                let target = try await location(after: hostile)
                #expect(target == "/", "\(hostile.debugDescription)")
            }
            let kept = try await location(after: "/projects/42")
            #expect(kept == "/projects/42", "a local path is kept")
        }
    }

    @Test("the pages clamp huge page numbers too")
    func hugePagesOnPages() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            _ = try await h.admin(.PUT, "/api/v4/admin/integrations/jira", json: h.workingSettings())
            let web = WebSignInTests()
            let signedIn = try await web.signIn(h, token: h.adminToken, form: try await web.signInForm(h))
            let cookie = try #require(
                signedIn.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix("jira_bridge_session") }?.1
                    .split(separator: ";").first.map(String.init))
            for path in ["/projects/42/integrations/jira/deliveries", "/projects/42/security/vulnerabilities", "/admin/integrations/jira"] {
                let r = try await h.request(.GET, path + "?page=9223372036854775807", headers: [("Cookie", cookie)])
                #expect(r.status == 200, "\(path): \(r.status)")
                let nonsense = try await h.request(.GET, path + "?page=1e999", headers: [("Cookie", cookie)])
                #expect(nonsense.status == 200, "\(path): \(nonsense.status)")
            }
            try await alive(h)
        }
    }

    @Test("a webhook whose project URL is not http(s) is refused and stores nothing")
    func javascriptProjectURL() async throws {
        try await Harness.runLive { h in
            var body = Payloads.push(commits: [("abc1", "Fix PROJ-1")])
            body = body.replacingOccurrences(
                of: "https:\\/\\/gitlab.example.com\\/acme\\/web\\/shop", with: "javascript:alert(document.cookie)\\/\\/"
            )
            .replacingOccurrences(of: "https://gitlab.example.com/acme/web/shop", with: "javascript:alert(document.cookie)//")
            let r = try await h.webhook("Push Hook", body)
            #expect(r.status == 400, "\(r.text)")
            #expect(r.text.contains("project.web_url must be an http(s) URL"))
            #expect(try await h.store.project(id: 42) == nil)
        }
    }

    @Test("failed sign-ins count per client behind trusted proxies, and X-Forwarded-For from anyone else is ignored")
    func trustedProxies() async throws {
        var options = Harness.Options()
        options.trustedProxies = [IPNetwork("127.0.0.1")!]
        try await Harness.runLive(options) { h in
            let web = WebSignInTests()
            func wrong(from client: String) async throws -> Int {
                try await web.signIn(h, token: "wrong", form: try await web.signInForm(h), headers: [("X-Forwarded-For", "203.0.113.99, \(client)")])
                    .status
            }
            for _ in 0..<10 {
                let status = try await wrong(from: "198.51.100.1")
                #expect(status == 401)
            }
            let throttled = try await wrong(from: "198.51.100.1")
            #expect(throttled == 429, "the guessing client is throttled")
            let other = try await wrong(from: "198.51.100.2")
            #expect(other == 401, "another client behind the same proxy is not")
        }
        // Without trusted proxies the header is ignored: a guesser cannot escape the throttle by varying it.
        try await Harness.runLive { h in
            let web = WebSignInTests()
            for n in 0..<11 {
                let r = try await web.signIn(h, token: "wrong", form: try await web.signInForm(h), headers: [("X-Forwarded-For", "198.51.100.\(n)")])
                #expect(r.status == (n < 10 ? 401 : 429))
            }
        }
    }

    @Test("a wrong webhook token is refused before its body is read")
    func refuseBeforeBody() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            // Announce 23 MB and never send them: the answer must come anyway.
            var request = HTTPClientRequest(url: h.bridgeURL + "/webhooks/gitlab")
            request.method = .POST
            request.headers.add(name: "X-Gitlab-Event", value: "Push Hook")
            request.headers.add(name: "X-Gitlab-Token", value: "wrong")
            request.headers.add(name: "Content-Type", value: "application/json")
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            request.body = .stream(stream, length: .known(Int64(23 << 20)))
            let started = ContinuousClock.now
            let response = try await h.http.execute(request, timeout: .seconds(20))
            continuation.finish()
            #expect(response.status.code == 401)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(try await h.store.queueDepth().events == 0)
            try await alive(h)
        }
    }

    @Test("a push of 10,000 commits processes 100 and says so in its answer")
    func commitsPerPush() async throws {
        try await Harness.runLive { h in
            try await h.configure(["comment_on_event_enabled": false])
            for _ in 1...5 { await h.emulator.addIssue(projectKey: "PROJ", summary: "x") }
            let body = Payloads.push(
                ref: "refs/heads/feature", commits: (0..<10_000).map { (String(format: "%040x", $0 + 1), "Change for PROJ-\($0 % 5 + 1)") })
            let r = try await h.webhook("Push Hook", body)
            #expect(r.status == 202)
            #expect(r.json["warnings"]?.array?.first?.string?.contains("9900 commits after the first 100") == true, "\(r.text)")
            let deliveries = try await h.settle(timeout: .seconds(90))
            #expect(deliveries.count == 100, "one remote link for each of the first 100 commits")
            let notes = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/events")
            #expect(
                notes.json.array?.first?["note"]?.string?.contains("9900 commits after the first 100 of this push were skipped") == true,
                "\(notes.text)")
        }
    }

    @Test("one commit naming 200,000 keys makes at most 500 per kind, and planning it finishes")
    func keysPerCommit() async throws {
        try await Harness.runLive { h in
            try await h.configure(["comment_on_event_enabled": false])
            let message = "Touches " + (1...200_000).map { "PROJ-\($0)" }.joined(separator: " ")
            let r = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [("abc1", message)]))
            #expect(r.status == 202)
            var total = 0
            try await eventually(timeout: .seconds(60)) {
                guard try await h.store.queueDepth().events == 0 else { return false }
                total = try await h.store.deliveryCounts(projectID: 42).values.reduce(0, +)
                return true
            }
            #expect(total == EventLimits.keysPerEntity)
            try await alive(h)
        }
    }

    @Test("a Jira that trickles its answer is cut off by the 30 s deadline of the default settings")
    func trickleDefaultDeadline() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            var fault = EmulatedFault(method: "GET", pathContains: "/serverInfo", times: 1)
            fault.trickleMilliseconds = 500  // a 300-byte answer would take 150 s
            await h.emulator.addFault(fault)
            let started = ContinuousClock.now
            let r = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test", json: h.workingSettings())
            let elapsed = ContinuousClock.now - started
            #expect(r.json["test_failed"] == true, "\(r.text)")
            #expect(elapsed < .seconds(40), "\(elapsed)")
            #expect(elapsed >= .seconds(29), "the default deadline is 30 s: \(elapsed)")
        }
    }

    @Test("the deadline covers the body: a 2 s total stops a trickling answer after 2 s")
    func trickleShortDeadline() async throws {
        var options = Harness.Options()
        options.timeouts = JiraHTTPClient.Timeouts(connect: .seconds(1), read: .seconds(1), total: .seconds(2))
        try await Harness.runLive(options) { h in
            try await h.registerProject()
            var fault = EmulatedFault(method: "GET", pathContains: "/serverInfo", times: 1)
            fault.trickleMilliseconds = 200  // each byte comes before the read timeout; the whole never does
            await h.emulator.addFault(fault)
            let started = ContinuousClock.now
            let r = try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/test", json: h.workingSettings())
            #expect(r.json["test_failed"] == true)
            // The trickled answer would take well over a minute; a loaded CI machine may add a few seconds.
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test("an answer over 16 MB is a permanent failure that says so, not a connection error retried for a day")
    func oversizedAnswer() async throws {
        try await Harness.runLive { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            var fault = EmulatedFault(method: "GET", pathContains: "/remotelink", times: 1)
            fault.oversizeBytes = 17 << 20
            await h.emulator.addFault(fault)
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [("abc1", "Fix PROJ-1")]))
            let deliveries = try await h.settle(expecting: 1)
            #expect(deliveries.first?["status"] == "failed", "\(deliveries)")
            #expect(deliveries.first?["last_error"]?.string?.contains("larger than 16 MB") == true, "\(deliveries)")
            #expect(deliveries.first?["attempts"] == 1)
        }
    }

    @Test("a comment that Jira finishes after the read timeout ends as exactly one comment")
    func lateWriteIsNotRepeated() async throws {
        var options = Harness.Options()
        options.timeouts = JiraHTTPClient.Timeouts(connect: .seconds(1), read: .seconds(1), total: .seconds(2))
        options.pipeline.retryPolicy.uncertainWriteDelaySeconds = 4
        try await Harness.runLive(options) { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            var fault = EmulatedFault(method: "POST", pathContains: "/comment", times: 1)
            fault.delayAfterMilliseconds = 3_000  // the comment is created at once; the answer comes after the client gave up
            await h.emulator.addFault(fault)
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [("abc1", "Fix PROJ-1")]))
            let deliveries = try await h.settle(expecting: 2, timeout: .seconds(30))
            let comment = deliveries.first { $0["action"] == "comment" }
            #expect(comment?["attempts"] == 2, "\(deliveries)")
            #expect(comment?["status"] == "skipped", "the re-check found the late comment: \(deliveries)")
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("a slow Jira site holds only its own slots: another site's delivery runs at once (default concurrency)")
    func slowSiteKeepsToItsSlots() async throws {
        var options = Harness.Options()
        options.pipeline = PipelineConfiguration(pollInterval: .milliseconds(10))  // the default 32 slots, 4 per site
        try await Harness.runLive(options) { h in
            // Project 42 on the emulator as 127.0.0.1, whose SLOW issues answer after 8 s; project 43 on the same
            // emulator as localhost: another site, as far as jira-bridge can tell.
            try await h.configure(["comment_on_event_enabled": false])
            try await h.registerProject(id: 43, path: "acme/web/fast")
            let fastURL = h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            _ = try await h.admin(
                .PUT, "/api/v4/projects/43/integrations/jira", json: h.workingSettings(["url": .string(fastURL), "comment_on_event_enabled": false]))
            _ = await h.emulator.addProject(key: "SLOW", name: "Slow")
            for _ in 1...10 { await h.emulator.addIssue(projectKey: "SLOW", summary: "slow") }
            await h.emulator.addIssue(projectKey: "PROJ", summary: "fast")
            await h.emulator.addFault(EmulatedFault(pathContains: "/issue/SLOW-", delayMilliseconds: 8_000, times: 1_000))
            let slow = Payloads.push(ref: "refs/heads/feature", commits: (1...10).map { (String(format: "%040x", $0), "Work on SLOW-\($0)") })
            _ = try await h.webhook("Push Hook", slow)
            // The slow site's deliveries are running now (the store says so), holding its slots.
            #expect(try await eventually { try await h.store.deliveryCounts(projectID: 42)["running", default: 0] > 0 })
            var fast = Payloads.mergeRequest(action: "open", title: "Fix PROJ-1")
            fast = fast.replacingOccurrences(of: "\"id\":42", with: "\"id\":43").replacingOccurrences(of: "acme/web/shop", with: "acme/web/fast")
            let started = ContinuousClock.now
            #expect(try await h.webhook("Merge Request Hook", fast).status == 202)
            let done = try await eventually(timeout: .seconds(6) - (ContinuousClock.now - started)) {
                let log = try await h.admin(.GET, "/api/v4/projects/43/integrations/jira/deliveries").json.array ?? []
                return log.contains(where: { $0["status"] == "succeeded" })
            }
            #expect(done, "the other site's delivery finished while the slow site still held its slots")
        }
    }

    /// A store of its own, with no server's workers claiming from it.
    func withStore(_ body: (SQLStore) async throws -> Void) async throws { try await withStandaloneStore(body) }

    @Test("a backlog of thousands on one Jira site does not hide another site's delivery")
    func fairClaim() async throws {
        try await withStore { store in
            func delivery(_ site: String, _ issue: String, _ n: Int) -> NewDelivery {
                NewDelivery(
                    eventID: "e-\(site)", projectID: 42, site: site,
                    planned: PlannedDelivery(
                        action: .comment, issueKey: issue, dedupeKey: "comment|\(n)", work: .comment(body: "c\(n)")))
            }
            // 3,000 pending on site A, most of them for one issue; one on site B, created last.
            let backlog = (0..<3_000).map { delivery("https://a.example", $0 < 2_900 ? "HOT-1" : "A-\($0)", $0) }
            _ = try await store.finishPlanning(batch: [PlannedEvent(eventID: "e-a", deliveries: backlog)], now: 1)
            _ = try await store.finishPlanning(batch: [PlannedEvent(eventID: "e-b", deliveries: [delivery("https://b.example", "B-1", 0)])], now: 2)
            let now = Millis(Date().timeIntervalSince1970 * 1000)
            let first = try await store.claimDeliveries(owner: "w1", limit: 8, perSiteLimit: 4, leaseMillis: 15_000, now: now)
            #expect(first.contains { $0.site == "https://b.example" }, "site B is served in the first claim")
            #expect(first.filter { $0.site == "https://a.example" }.count == 4, "site A gets its per-site share")
            #expect(Set(first.map(\.issueKey)).count == first.count, "one writer per issue")
            // With site A at its limit and HOT-1 busy, nothing more of A runs; B's next delivery still would.
            _ = try await store.finishPlanning(batch: [PlannedEvent(eventID: "e-b2", deliveries: [delivery("https://b.example", "B-2", 1)])], now: 3)
            let second = try await store.claimDeliveries(owner: "w1", limit: 8, perSiteLimit: 4, leaseMillis: 15_000, now: now)
            #expect(second.map(\.issueKey) == ["B-2"])
        }
    }

    @Test("an event whose planning is started three times without finishing is marked failed, never claimed forever")
    func planningAttempts() async throws {
        try await withStore { store in
            let project = ForgeProject(
                id: 42, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme",
                webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")
            let event = ForgeEvent.push(
                PushEvent(
                    project: project, ref: "refs/heads/main", before: "", after: "a1", commits: [],
                    pusher: ForgeUser(name: "A", username: "a", email: nil)))
            let registration = ProjectRegistration(
                id: 42, pathWithNamespace: "acme/shop", name: "Shop",
                webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")
            _ = try await store.recordEvents([(IncomingEvent(deliveryKey: "k1", event: event), registration)])
            // The process dies while planning it, three times over (each lease runs out).
            var now: Millis = 1_000_000
            for attempt in 1...3 {
                let claimed = try await store.claimEvents(limit: 10, leaseMillis: 10_000, now: now)
                #expect(claimed.count == 1, "attempt \(attempt)")
                now += 20_000
            }
            #expect(try await store.claimEvents(limit: 10, leaseMillis: 10_000, now: now).isEmpty)
            let notes = try await store.eventLog(projectID: 42, notedOnly: true, limit: 10, offset: 0).items
            #expect(notes.first?.status == "failed")
            #expect(notes.first?.error?.contains("planning did not finish after 3 attempts") == true)
            #expect(try await store.queueDepth().events == 0)
        }
    }

    /// One pending delivery for X-1, claimed by a newly registered `worker`; returns the claim's time.
    func oneDeliveryHeld(by worker: String, _ store: SQLStore) async throws -> (Millis, [Int64]) {
        let planned = PlannedDelivery(action: .comment, issueKey: "X-1", dedupeKey: "comment|\(worker)", work: .comment(body: "c"))
        _ = try await store.finishPlanning(
            batch: [
                PlannedEvent(
                    eventID: "e",
                    deliveries: [
                        NewDelivery(eventID: "e", projectID: 42, site: "https://s.example", planned: planned)
                    ])
            ], now: 1)
        let t0 = Millis(Date().timeIntervalSince1970 * 1000)
        _ = try await store.registerWorker(id: worker, now: t0, takeOver: false)
        let taken = try await store.claimDeliveries(owner: worker, limit: 1, perSiteLimit: 4, leaseMillis: 15_000, now: t0)
        #expect(taken.count == 1)
        return (t0, taken.map(\.id))
    }

    @Test("a worker's own late heartbeat renews its expired leases instead of releasing them (no second run)")
    func ownLateHeartbeat() async throws {
        try await withStore { store in
            let (t0, taken) = try await oneDeliveryHeld(by: "w", store)
            // The database held the heartbeat up for 20 s: the lease ran out, but the delivery still runs here.
            #expect(try await store.heartbeat(worker: "w", running: taken, leaseMillis: 15_000, staleAfterMillis: 6_000, now: t0 + 20_000) == 0)
            #expect(
                try await store.claimDeliveries(owner: "w", limit: 1, perSiteLimit: 4, leaseMillis: 15_000, now: t0 + 20_000).isEmpty,
                "not claimed a second time while it runs")
        }
    }

    @Test("a worker's own expired lease on a delivery it no longer runs (its outcome could not be recorded) is released, to run again")
    func ownAbandonedLeaseReleased() async throws {
        try await withStore { store in
            let (t0, _) = try await oneDeliveryHeld(by: "w", store)
            // Not renewed while it is not running: the lease runs out 15 s after the claim.
            #expect(try await store.heartbeat(worker: "w", running: [], leaseMillis: 15_000, staleAfterMillis: 6_000, now: t0 + 2_000) == 0)
            #expect(try await store.heartbeat(worker: "w", running: [], leaseMillis: 15_000, staleAfterMillis: 6_000, now: t0 + 15_001) == 1)
            let again = try await store.claimDeliveries(owner: "w", limit: 1, perSiteLimit: 4, leaseMillis: 15_000, now: t0 + 15_001)
            #expect(again.map(\.issueKey) == ["X-1"])
        }
    }

    @Test("a worker whose heartbeat stopped has its deliveries released to the others")
    func staleWorkerReleased() async throws {
        try await withStore { store in
            let (t0, _) = try await oneDeliveryHeld(by: "dead", store)
            // Another worker beats 7 s later: the dead one last beat 7 s ago (stale after 6 s).
            let released = try await store.heartbeat(worker: "alive", running: [], leaseMillis: 15_000, staleAfterMillis: 6_000, now: t0 + 7_001)
            #expect(released == 1)
            let again = try await store.claimDeliveries(owner: "alive", limit: 1, perSiteLimit: 4, leaseMillis: 15_000, now: t0 + 7_001)
            #expect(again.map(\.issueKey) == ["X-1"])
            #expect(again.first?.attempts == 2)
        }
    }
}

@Suite("Readiness")
struct ReadinessTests {
    // SQLite's own lock (another process's exclusive transaction); PostgreSQL has no such whole-database lock.
    @Test(
        "readiness answers 503 while the database cannot be written, logs the failing loops once, and recovers",
        .disabled(if: TestDatabases.onPostgres, "a SQLite file lock"))
    func databaseLocked() async throws {
        try await Harness.runLive { h in
            #expect(try await h.request(.GET, "/-/readiness").status == 200)
            // Another process holds the write lock (as a stuck backup or a full disk would stop every write).
            var config = Configuration()
            config.busyMode = .timeout(10)
            let other = try DatabaseQueue(path: h.databasePath, configuration: config)
            // On a thread of its own: blocking one of the few cooperative threads would slow every other test.
            let (acquired, signal) = AsyncStream<Void>.makeStream()
            let release = DispatchSemaphore(value: 0)
            let locked = Task {
                try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                    Thread.detachNewThread {
                        done.resume(
                            with: Result {
                                try other.inDatabase { db in
                                    try db.execute(sql: "BEGIN EXCLUSIVE")
                                    signal.yield()
                                    // Held until the test has seen the readiness write fail, then a loop's, each after
                                    // SQLite's busy timeout (10 s, the default setting).
                                    release.wait()
                                    try db.execute(sql: "ROLLBACK")
                                }
                            })
                        signal.finish()
                    }
                }
            }
            for await _ in acquired { break }
            let asked = ContinuousClock.now
            let refused = try await h.request(.GET, "/-/readiness")
            #expect(refused.status == 503)
            // Below the 10 s busy timeout: the probe does not wait on the lock (with room for a loaded machine).
            #expect(ContinuousClock.now - asked < .seconds(9), "a probe answers in time")
            #expect(refused.json["message"] == "the database cannot be written")
            #expect(await eventually(timeout: .seconds(40)) { h.logs.all.contains { $0.contains("background loop failing") } })
            release.signal()
            try await locked.value
            let ready = try await eventually(interval: .milliseconds(200)) { try await h.request(.GET, "/-/readiness").status == 200 }
            #expect(ready, "ready again once the database takes writes")
            let failing = h.logs.all.filter { $0.contains("background loop failing") }
            #expect(!failing.isEmpty, "the loops' failures are logged")
            #expect(failing.count <= 6, "once per loop and kind of error, not once per retry: \(failing.count)")
            // Logged by a loop's next successful pass, which may come after readiness's own write.
            #expect(await eventually(timeout: .seconds(40)) { h.logs.all.contains { $0.contains("background loop recovered") } })
        }
    }
}
