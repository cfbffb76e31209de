import Foundation
import Integration
import JiraEmulator
import TestDatabases
import Testing

@Suite("Event pipeline: GitLab webhooks to Jira")
struct PipelineTests {
    static let sha1 = "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"
    static let sha2 = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    static let commitURL = "https://gitlab.example.com/acme/web/shop/-/commit/\(sha1)"

    @Test("a push that mentions a key adds GitLab's remote link and comment")
    func pushMention() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let r = try await h.webhook(
                "Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha1, "Fix login for PROJ-1\n\nDetails")]))
            #expect(r.status == 202)
            #expect(r.json["event_id"]?.string != nil)
            let log = try await h.settle(expecting: 2)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            let issue = await h.issue("PROJ-1")
            #expect(
                issue.comments.map(\.body) == [
                    "[John Smith|https://gitlab.example.com/jsmith] mentioned this issue in [a commit|\(Self.commitURL)] of [Web / Shop|https://gitlab.example.com/acme/web/shop] on branch [feature|https://gitlab.example.com/acme/web/shop/-/tree/feature]:{quote}Fix login for PROJ-1{quote}"
                ])
            let link = try #require(issue.remoteLinks.first)
            #expect(link.globalId == Self.commitURL)
            let object = try JSONValue.parse(link.objectJSON)
            #expect(object["title"] == "Commit - Fix login for PROJ-1")
            #expect(object["url"] == .string(Self.commitURL))
            #expect(object["status"]?["resolved"] == false)
            let requests = await h.jiraRequests()
            #expect(requests.count <= 4, "a new mention costs at most 4 Jira requests")
            #expect(requests.filter { $0.method != "GET" }.count == 2)
        }
    }

    @Test("a merge request that mentions a key does the same")
    func mergeRequestMention() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook(
                "Merge Request Hook", Payloads.mergeRequest(action: "open", title: "Add SSO (PROJ-1)", description: "See `PROJ-9` in code"))
            try await h.settle(expecting: 2)
            let issue = await h.issue("PROJ-1")
            #expect(
                issue.comments.first?.body.contains(
                    "mentioned this issue in [a merge request|https://gitlab.example.com/acme/web/shop/-/merge_requests/7]") == true)
            #expect(
                issue.comments.first?.body.hasSuffix(
                    "on branch [ms-viewport|https://gitlab.example.com/acme/web/shop/-/tree/ms-viewport]:{quote}Add SSO (PROJ-1){quote}") == true)
            let object = try JSONValue.parse(issue.remoteLinks[0].objectJSON)
            #expect(object["title"] == "Merge request - Add SSO (PROJ-1)")
            // An edit that mentions the same key again costs no Jira request.
            let before = await h.jiraRequests().count
            _ = try await h.webhook("Merge Request Hook", Payloads.mergeRequest(action: "update", title: "Add SSO (PROJ-1) v2"))
            try await h.settle(expecting: 2)
            #expect(await h.jiraRequests().count == before)
        }
    }

    @Test("closing on the default branch transitions automatically, comments and resolves the link")
    func closeAutomatic() async throws {
        try await Harness.runLive { h in
            try await h.configure(["jira_issue_transition_automatic": true])
            for n in 1...3 { await h.emulator.addIssue(projectKey: "PROJ", summary: "issue \(n)") }
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Rework login\n\nCloses PROJ-1, PROJ-2 and PROJ-3")]))
            let log = try await h.settle(expecting: 9)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            for key in ["PROJ-1", "PROJ-2", "PROJ-3"] {
                let issue = await h.issue(key)
                #expect(issue.resolution == "Done")
                #expect(issue.comments.map(\.body) == ["Issue solved with [\(Self.sha1)|\(Self.commitURL)]."])
                let object = try JSONValue.parse(issue.remoteLinks[0].objectJSON)
                #expect(object["title"] == .string("Solved by commit \(Self.sha1)."))
                #expect(object["status"]?["resolved"] == true)
            }
        }
    }

    @Test("a list of transition ids stops at the first failure, which is recorded with Jira's message")
    func closeWithIDs() async throws {
        try await Harness.runLive { h in
            try await h.configure(["jira_issue_transition_id": "21,999,31"])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fixes PROJ-1")]))
            let log = try await h.settle(expecting: 1)
            #expect(log.first?["status"] == "failed")
            #expect(log.first?["last_error"]?.string?.contains("Transition id '999' is not valid for this issue.") == true)
            #expect(log.first?["last_error"]?.string?.contains("(step 2 of 3; PROJ-1 can take To Do (11), Done (31))") == true, "\(log)")
            let issue = await h.issue("PROJ-1")
            #expect(issue.statusID == "3", "21 (In Progress) applied, 31 never attempted")
            #expect(issue.comments.isEmpty)
            #expect(
                await h.jiraRequests("/transitions").map { $0.body ?? "" } == [
                    "{\"transition\":{\"id\":\"21\"}}", "{\"transition\":{\"id\":\"999\"}}",
                ])
        }
    }

    @Test("a transition that sets no resolution posts no comment; a resolved issue is not transitioned")
    func noResolution() async throws {
        try await Harness.runLive { h in
            try await h.configure(["jira_issue_transition_id": "31"])
            await h.emulator.setResolutionOnDone(false)
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "y", statusName: "Done")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Closes PROJ-1 and PROJ-2")]))
            let log = try await h.settle(expecting: 2)
            #expect(Set(log.compactMap { $0["status"]?.string }) == ["succeeded", "skipped"])
            #expect(await h.issue("PROJ-1").statusID == "10001")
            #expect(await h.issue("PROJ-1").comments.isEmpty)
            #expect(await h.issue("PROJ-2").comments.isEmpty)
        }
    }

    @Test("a closing reference on another branch only mentions; the MR merge commit does not close")
    func otherBranch() async throws {
        try await Harness.runLive { h in
            try await h.configure(["jira_issue_transition_automatic": true])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha1, "Closes PROJ-1")]))
            _ = try await h.webhook(
                "Push Hook",
                Payloads.push(commits: [(Self.sha2, "Merge branch 'feature' into 'main'\n\nCloses PROJ-1\n\nSee merge request acme/web/shop!7")]))
            try await h.settle(expecting: 4)
            let issue = await h.issue("PROJ-1")
            #expect(issue.resolution == nil)
            #expect(issue.comments.count == 2)
            #expect(issue.comments.allSatisfy { $0.body.contains("mentioned this issue") })
        }
    }

    @Test("merging a merge request into the default branch closes with its last commit")
    func mergeCloses() async throws {
        try await Harness.runLive { h in
            try await h.configure(["jira_issue_transition_automatic": true])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Merge Request Hook", Payloads.mergeRequest(action: "merge", title: "Login", description: "Closes PROJ-1"))
            try await h.settle(expecting: 3)
            let issue = await h.issue("PROJ-1")
            #expect(issue.resolution == "Done")
            #expect(
                issue.comments.map(\.body) == ["Issue solved with [\(Self.sha2)|https://gitlab.example.com/acme/web/shop/-/commit/\(Self.sha2)]."])
        }
    }

    @Test("a closing reference with no transition configured is treated as a mention")
    func closeWithoutTransitions() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Closes PROJ-1")]))
            try await h.settle(expecting: 2)
            #expect(await h.issue("PROJ-1").comments.first?.body.contains("mentioned this issue") == true)
        }
    }

    @Test("toggles off send nothing: commit events off, and comments off (links only)")
    func toggles() async throws {
        try await Harness.runLive { h in
            try await h.configure(["commit_events": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "PROJ-1")]))
            try await h.settle(expecting: 0)
            #expect(await h.jiraRequests().isEmpty)
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["commit_events": true, "comment_on_event_enabled": false])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha2, "PROJ-1 again")]))
            try await h.settle(expecting: 1)
            #expect(await h.issue("PROJ-1").comments.isEmpty)
            #expect(await h.issue("PROJ-1").remoteLinks.count == 1)
            _ = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["active": false])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [("c0ffee", "PROJ-1 once more")]))
            try await h.settle(expecting: 1)
        }
    }

    @Test("the same delivery three times, the same commit on two branches, and a rebased re-push give one comment")
    func exactlyOnce() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            let body = Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha1, "Fix PROJ-1")])
            var ids = Set<String>()
            for _ in 0..<3 { ids.insert(try await h.webhook("Push Hook", body, key: "delivery-1").json["event_id"]!.string!) }
            #expect(ids.count == 1, "a redelivery is answered with the first event id")
            try await h.settle(expecting: 2)
            let afterFirst = await h.jiraRequests().count
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/other", commits: [(Self.sha1, "Fix PROJ-1")]))
            _ = try await h.webhook("Push Hook", body)  // the same payload without a delivery key: a re-push
            try await h.settle(expecting: 2)
            #expect(await h.jiraRequests().count == afterFirst, "work already done costs no Jira request")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [("f00d", "Fix PROJ-1")]))
            try await h.settle()
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("a comment that predates jira-bridge is found in Jira and not posted again")
    func existingComment() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            let body =
                "[John Smith|https://gitlab.example.com/jsmith] mentioned this issue in [a commit|\(Self.commitURL)] of [Web / Shop|https://gitlab.example.com/acme/web/shop] on branch [feature|https://gitlab.example.com/acme/web/shop/-/tree/feature]:{quote}Fix PROJ-1{quote}"
            await h.emulator.addComment(issueKey: "PROJ-1", body: "Posted by GitLab itself: " + body, author: "alice")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha1, "Fix PROJ-1")]))
            let log = try await h.settle(expecting: 2)
            #expect(log.first { $0["action"] == "comment" }?["status"] == "skipped")
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("Jira answering 503 and then recovering ends in exactly one comment")
    func recovers() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/comment", status: 503, times: 2))
            await h.emulator.addFault(EmulatedFault(method: "GET", pathContains: "/remotelink", status: 503, times: 1))
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            let log = try await h.settle(expecting: 2)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            #expect(log.first { $0["action"] == "comment" }?["attempts"] == 3)
            #expect(await h.issue("PROJ-1").comments.count == 1)
            #expect(await h.issue("PROJ-1").remoteLinks.count == 1)
        }
    }

    @Test("429 with Retry-After: 2 is not retried sooner")
    func retryAfter() async throws {
        try await Harness.runLive { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(method: "GET", pathContains: "/remotelink", status: 429, retryAfter: 2))
            let start = ContinuousClock.now
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            try await h.settle(expecting: 1)
            #expect(ContinuousClock.now - start >= .seconds(2))
            let gets = await h.jiraRequests("/remotelink").filter { $0.method == "GET" }
            #expect(gets.map(\.status) == [429, 200])
            #expect(try await h.deliveries().first?["attempts"] == 2)
        }
    }

    @Test("project_keys, when set, limits what is written to those Jira projects; the event's note says what was left out")
    func projectKeysLimitMentions() async throws {
        try await Harness.runLive { h in
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            try await h.configure(["project_keys": "PROJ"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1 and OPS-1, read as UTF-8")]))
            let log = try await h.settle()
            #expect(Set(log.compactMap { $0["issue_key"]?.string }) == ["PROJ-1"], "\(log)")
            let events = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/events").json.array ?? []
            #expect(
                events.first?["note"]?.string?.contains("OPS-1, UTF-8 left out: not in the integration's project keys (PROJ)") == true, "\(events)")
        }
    }

    @Test("a key Jira answers 404 for (UTF-8 in a message, a typo) ends skipped with the reason, not as a red failure, and is not retried")
    func notFound() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Read files as UTF-8 for NOPE-1")]))
            let log = try await h.settle(expecting: 4)
            #expect(log.allSatisfy { $0["status"] == "skipped" && $0["attempts"] == 1 }, "\(log)")
            for key in ["UTF-8", "NOPE-1"] {
                let reasons = log.filter { $0["issue_key"]?.string == key }.compactMap { $0["last_error"]?.string }
                #expect(reasons.count == 2 && reasons.allSatisfy { $0.hasPrefix("\(key) does not exist in Jira") }, "\(reasons)")
            }
            // Nothing was written, and nothing waits to be tried again.
            #expect(await h.jiraRequests().filter { $0.method != "GET" }.isEmpty)
            let id = Int(log.first!["id"]!.number!)
            #expect(try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/deliveries/\(id)/retry").status == 400)
            #expect(try await h.admin(.POST, "/api/v4/projects/42/integrations/jira/deliveries/999/retry").status == 404)
        }
    }

    @Test("transient failures until the deadline make a delivery dead")
    func dead() async throws {
        var options = Harness.Options()
        // Long enough for several tries even on a loaded machine (at 0.5 s, and at 3 s beside the robustness
        // tests, a slow first try was the only one).
        options.pipeline.retryPolicy = RetryPolicy(baseDelaySeconds: 0.05, maxDelaySeconds: 0.1, maxAgeSeconds: 8)
        try await Harness.runLive(options) { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(pathContains: "/remotelink", status: 502, times: 1000))
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            let log = try await h.settle(expecting: 1)
            #expect(log.first?["status"] == "dead")
            #expect((log.first?["attempts"]?.number ?? 0) > 1)
        }
    }
}

@Suite("GitLab webhook intake")
struct WebhookIntakeTests {
    @Test("metrics count webhooks, deliveries and Jira requests in Prometheus' text format")
    func metrics() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [("abc1", "Fix PROJ-1")]), key: "m1")
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [("abc1", "Fix PROJ-1")]), key: "m1")
            _ = try await h.webhook("Push Hook", "{}", secret: "wrong")
            try await h.settle(expecting: 2)
            let r = try await h.request(.GET, "/metrics")
            #expect(r.status == 200)
            #expect(r.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/plain") })
            #expect(r.text.contains(#"jira_bridge_webhooks_total{forge="gitlab",outcome="accepted"} 1"#), "\(r.text)")
            #expect(r.text.contains(#"jira_bridge_webhooks_total{forge="gitlab",outcome="duplicate"} 1"#))
            #expect(
                r.text.contains(#"jira_bridge_webhooks_total{forge="gitlab",outcome="bad_request"} 1"#)
                    || r.text.contains(#"jira_bridge_webhooks_total{forge="gitlab",outcome="unauthorized"} 1"#))
            #expect(r.text.contains("jira_bridge_deliveries_total{site=\"\(h.emulatorURL)\",action=\"comment\",outcome=\"succeeded\"} 1"))
            #expect(r.text.contains("jira_bridge_deliveries_total{site=\"\(h.emulatorURL)\",action=\"remote_link\",outcome=\"succeeded\"} 1"))
            #expect(r.text.contains("jira_bridge_jira_request_duration_seconds_bucket{site=\"\(h.emulatorURL)\",status=\"200\""))
            #expect(r.text.contains(#"jira_bridge_queue_depth{queue="deliveries"} 0"#))
            #expect(r.text.contains(#"jira_bridge_build_info{version="unknown",commit="unknown"} 1"#))
            #expect(!r.text.contains("jira_bridge_queue_oldest_age_seconds{"), "no site has unfinished work")
        }
    }

    @Test("the queue's age per Jira site shows a delivery waiting for Jira, and drops to 0 when it is done")
    func queueAge() async throws {
        // The default retry delay (1 to 2 s for a first retry), on a clock the test moves: the wait for the
        // second attempt lasts until the test ends it.
        var options = Harness.Options()
        options.pipeline.retryPolicy = RetryPolicy()
        let clock = TestClock()
        options.clock = clock
        try await Harness.runLive(options) { h in
            try await h.configure(["comment_on_event_enabled": false])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            await h.emulator.addFault(EmulatedFault(pathContains: "/remotelink", status: 502, times: 1))
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [("abc1", "Fix PROJ-1")]))
            // The first attempt fails; the delivery waits for its retry (2 s by default).
            let waiting = try await eventually(timeout: .seconds(4)) {
                let log = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").json.array ?? []
                return log.contains { $0["status"]?.string == "pending" && ($0["attempts"]?.number ?? 0) >= 1 }
            }
            let seen = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/deliveries").text
            #expect(waiting, "\(seen)")
            let during = try await h.request(.GET, "/metrics").text
            #expect(during.contains("jira_bridge_queue_oldest_age_seconds{site=\"\(h.emulatorURL)\"}"), "\(during)")
            #expect(during.contains("jira_bridge_deliveries_total{site=\"\(h.emulatorURL)\",action=\"remote_link\",outcome=\"retry\"} 1"))
            // Still waiting: nothing is due before the clock reaches the retry.
            #expect(
                try await h.store.claimDeliveries(owner: "probe", limit: 10, perSiteLimit: 10, leaseMillis: 60_000, now: h.store.clock.now()).isEmpty)
            // Each check moves the clock on past the retry (and the loops' polls) until the delivery is done: an
            // advance that comes while a loop is between two waits is made up by the next one.
            #expect(
                try await eventually {
                    clock.advance(by: .seconds(2))
                    return try await h.deliveries().allSatisfy { $0["status"] == "succeeded" }
                })
            try await h.settle(expecting: 1)
            let after = try await h.request(.GET, "/metrics").text
            #expect(after.contains("jira_bridge_queue_oldest_age_seconds{site=\"\(h.emulatorURL)\"} 0.0"), "\(after)")
        }
    }

    @Test("a missing or wrong secret is 401 and stores nothing")
    func secrets() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            let body = Payloads.push(commits: [("abc", "PROJ-1")])
            let missing = try await h.webhook("Push Hook", body, secret: nil)
            #expect(missing.status == 401)
            #expect(try await h.webhook("Push Hook", body, secret: "wrong").status == 401)
            #expect(try await h.store.queueDepth().events == 0)
            #expect(try await h.deliveries().isEmpty)
        }
    }

    @Test("project and group secrets take precedence over the instance's; no secret anywhere refuses")
    func secretResolution() async throws {
        var options = Harness.Options()
        options.webhookSecret = nil
        try await Harness.runLive(options) { h in
            let body = Payloads.push(commits: [("abc", "PROJ-1")])
            #expect(try await h.webhook("Push Hook", body, secret: "anything").status == 401, "no secret configured anywhere")
            _ = try await h.admin(.POST, "/api/v4/groups", json: ["full_path": "acme"])
            _ = try await h.admin(.PUT, "/api/v4/groups/acme", json: ["webhook_secret": "group-secret"])
            let registered = try await h.webhook("Push Hook", body, secret: "group-secret")
            #expect(registered.status == 202, "an unknown project under a group with a secret: \(registered.text)")
            #expect(try await h.admin(.GET, "/api/v4/projects/42").json["path_with_namespace"] == "acme/web/shop", "registered from the payload")
            _ = try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": "project-secret"])
            #expect(try await h.webhook("Push Hook", body, secret: "group-secret").status == 401)
            #expect(try await h.webhook("Push Hook", body, secret: "project-secret").status == 202)
        }
    }

    @Test("malformed bodies are 400 with a clear message; bodies above 25 MB are 413; nothing is stored")
    func badBodies() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            let notJSON = try await h.webhook("Push Hook", "{nope")
            #expect(notJSON.status == 400)
            #expect(notJSON.json["message"] == "400 Bad Request: the body is not valid JSON: an object key must be a string at byte 1")
            var doc = Payloads.load("push")
            doc["ref"] = 5
            var project = doc["project"] as! [String: Any]
            project["id"] = 42
            project["path_with_namespace"] = "acme/web/shop"
            doc["project"] = project
            let badRef = try await h.webhook("Push Hook", String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self))
            #expect(badRef.status == 400)
            #expect(badRef.json["message"] == "400 Bad Request: ref is missing or not a string")
            let huge = "{\"project\": {\"id\": 42}, \"pad\": \"" + String(repeating: "x", count: 26 << 20) + "\"}"
            // Refused from its Content-Length before a byte is read; the connection closes after the 413 (nothing
            // is drained), so a client still sending may see the close instead of the answer.
            if let tooBig = try? await h.webhook("Push Hook", huge) { #expect(tooBig.status == 413) }
            #expect(try await h.store.queueDepth().events == 0)
            let announced = try RawConnection(port: h.port)
            announced.send(
                "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: instance-hook-secret\r\nContent-Length: \(26 << 20)\r\n\r\n"
            )
            let (answer, closed) = await announced.readUntilClosed(limit: .seconds(10))
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.lowercased().contains("connection: close"))
            #expect(closed)
        }
    }

    @Test("other event types are acknowledged and ignored")
    func ignored() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            let tag = String(
                decoding: try JSONSerialization.data(
                    withJSONObject: {
                        var d = Payloads.load("tag_push")
                        var p = d["project"] as! [String: Any]
                        p["id"] = 42
                        p["path_with_namespace"] = "acme/web/shop"
                        d["project"] = p
                        return d
                    }()), as: UTF8.self)
            let r = try await h.webhook("Tag Push Hook", tag)
            #expect(r.status == 202)
            #expect(r.json["event_id"] == .null)
            #expect(try await h.store.queueDepth().events == 0)
        }
    }

    @Test("both sets of real GitLab payloads decode")
    func realPayloads() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            for (event, name) in [
                ("Push Hook", "push"), ("Push Hook", "go-gitlab-push"), ("Merge Request Hook", "merge_request"),
                ("Merge Request Hook", "go-gitlab-merge_request"),
            ] {
                let data = try Data(contentsOf: Bundle.module.url(forResource: "Fixtures/gitlab/\(name)", withExtension: "json")!)
                let r = try await h.webhook(event, String(decoding: data, as: UTF8.self), key: name)
                #expect(r.status == 202, "\(name): \(r.text)")
            }
            let projects = try await h.admin(.GET, "/api/v4/projects").json.array?.compactMap { $0["path_with_namespace"]?.string }
            #expect(projects?.contains("mike/diaspora") == true)
            #expect(projects?.contains("gitlabhq/gitlab-test") == true)
        }
    }
}
