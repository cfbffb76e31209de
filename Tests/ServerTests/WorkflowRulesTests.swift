import Foundation
import Integration
import JiraEmulator
import Testing

/// Workflow rules end to end (GitLab webhooks into the server, Jira's answers from the emulator): transitions
/// by name and per Jira project across two workflows, and closing branches.
@Suite("Workflow rules, end to end")
struct WorkflowRulesTests {
    static func sha(_ n: Int) -> String { String(format: "%040x", 0xbeef00 + n) }

    /// The transition ids sent for `key`, in order.
    func transitions(_ h: Harness, _ key: String) async throws -> [String] {
        try await h.jiraRequests("/issue/\(key)/transitions").filter { $0.method == "POST" }.compactMap { r in
            try r.body.map { try JSONValue.parse($0)["transition"]?["id"]?.string ?? "?" }
        }
    }

    @Test("names and per-project lists: PROJ's workflow takes Done, OPS's review workflow takes its three steps in order")
    func namesPerProject() async throws {
        try await Harness.runLive { h in
            _ = await h.emulator.addProject(key: "OPS", workflow: "review")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "default workflow")
            await h.emulator.addIssue(projectKey: "OPS", summary: "review workflow")
            await h.emulator.addIssue(projectKey: "OPS", summary: "review workflow, second")
            try await h.configure(["jira_issue_transition_id": "done; OPS: Start Progress, send to review; Approve"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha(1), "Fixes PROJ-1, fixes OPS-1")]), key: "p-1")
            let log = try await h.settle()
            #expect(log.filter { $0["action"] == "transition" }.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            #expect(await h.issue("PROJ-1").statusID == "10001")
            #expect(try await transitions(h, "PROJ-1") == ["31"], "the name Done, without case, is PROJ's transition 31")
            #expect(await h.issue("OPS-1").statusID == "10001")
            #expect(try await transitions(h, "OPS-1") == ["11", "21", "31"], "Start Progress, Send to Review, Approve: in order")
        }
    }

    @Test("a step the issue cannot take, and a name two transitions share, fail with the names the issue offers")
    func unknownAndAmbiguous() async throws {
        try await Harness.runLive { h in
            _ = await h.emulator.addProject(key: "OPS", workflow: "review")
            await h.emulator.addIssue(projectKey: "OPS", summary: "one")
            await h.emulator.addIssue(projectKey: "OPS", summary: "two")
            try await h.configure(["jira_issue_transition_id": "OPS: Start Progress, Ship it"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha(2), "Fixes OPS-1")]), key: "p-2")
            var log = try await h.settle()
            let unknown = try #require(log.first { $0["issue_key"] == "OPS-1" && $0["action"] == "transition" })
            #expect(unknown["status"] == "failed")
            #expect(
                unknown["last_error"]
                    == "OPS-1 cannot take a transition named \"Ship it\" (step 2 of 2); it can take Send to Review (21), Resolve Issue (51).",
                "\(unknown)")
            #expect(await h.issue("OPS-1").statusID == "3", "the first step was taken")
            // After Approve, two transitions are named Reopen.
            _ = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["jira_issue_transition_id": "OPS: 11, 21, 31, Reopen"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha(3), "Fixes OPS-2")]), key: "p-3")
            log = try await h.settle()
            let ambiguous = try #require(log.first { $0["issue_key"] == "OPS-2" && $0["action"] == "transition" })
            #expect(ambiguous["status"] == "failed")
            #expect(
                ambiguous["last_error"]?.string?.hasPrefix("\"Reopen\" (step 4 of 4) names 2 transitions of OPS-2 (ids 41, 42)") == true,
                "\(ambiguous)")
            #expect(try await transitions(h, "OPS-2") == ["11", "21", "31"])
        }
    }

    @Test("a transition whose screen requires a field is refused by Jira, and reported with Jira's message and the names offered")
    func screen() async throws {
        try await Harness.runLive { h in
            _ = await h.emulator.addProject(key: "OPS", workflow: "review")
            await h.emulator.addIssue(projectKey: "OPS", summary: "one")
            try await h.configure(["jira_issue_transition_id": "OPS: Start Progress, Resolve Issue"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha(9), "Fixes OPS-1")]), key: "p-9")
            let log = try await h.settle()
            let d = try #require(log.first { $0["action"] == "transition" })
            #expect(d["status"] == "failed")
            #expect(d["last_error"]?.string?.contains("Resolution is required.") == true, "\(d)")
            #expect(d["last_error"]?.string?.contains("(step 2 of 2; OPS-1 can take Send to Review (21), Resolve Issue (51))") == true, "\(d)")
            #expect(await h.issue("OPS-1").statusID == "3")
        }
    }

    @Test("closing_branches: a closing reference on release/* transitions; on a feature branch or the default branch it is a mention")
    func closingBranches() async throws {
        try await Harness.runLive { h in
            for n in 1...4 { await h.emulator.addIssue(projectKey: "PROJ", summary: "issue \(n)") }
            try await h.configure(["jira_issue_transition_id": "Done", "closing_branches": "release/*"])
            _ = try await h.webhook(
                "Push Hook", Payloads.push(ref: "refs/heads/release/1.0", commits: [(Self.sha(4), "Fixes PROJ-1")]), key: "p-4")
            _ = try await h.webhook(
                "Push Hook", Payloads.push(ref: "refs/heads/feature/x", commits: [(Self.sha(5), "Fixes PROJ-2")]), key: "p-5")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/main", commits: [(Self.sha(6), "Fixes PROJ-3")]), key: "p-6")
            _ = try await h.webhook(
                "Merge Request Hook", Payloads.mergeRequest(action: "merge", title: "Closes PROJ-4", target: "release/2.0"), key: "p-7")
            let log = try await h.settle()
            let moved = Set(log.filter { $0["action"] == "transition" }.compactMap { $0["issue_key"]?.string })
            #expect(moved == ["PROJ-1", "PROJ-4"], "\(log.map { "\($0["action"] ?? .null) \($0["issue_key"] ?? .null)" })")
            var statuses: [String] = []
            for n in 1...4 { statuses.append(await h.issue("PROJ-\(n)").statusID) }
            #expect(statuses == ["10001", "1", "1", "10001"])
            #expect(await !h.issue("PROJ-2").comments.isEmpty, "a closing reference elsewhere is still a mention")
        }
    }

    /// GitLab's merge request `iid` with `title`, opened (or `action`), as a draft or not; `leftDraft` adds GitLab's
    /// `changes.draft` from true to false.
    static func mergeRequest(_ iid: Int, _ title: String, action: String = "open", draft: Bool = false, leftDraft: Bool = false) -> String {
        var doc = try! JSONSerialization.jsonObject(with: Data(Payloads.mergeRequest(action: action, title: title).utf8)) as! [String: Any]
        var attrs = doc["object_attributes"] as! [String: Any]
        attrs["iid"] = iid
        attrs["url"] = "https://gitlab.example.com/acme/web/shop/-/merge_requests/\(iid)"
        attrs["draft"] = draft
        attrs["state"] = "opened"
        doc["object_attributes"] = attrs
        doc["changes"] = leftDraft ? ["draft": ["previous": true, "current": false]] : [:]
        return String(decoding: try! JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
    }

    @Test(
        "merge_request_opened_transition: on opening each issue takes its project's steps once; one further along is not moved back; a draft waits until it is ready"
    )
    func openedTransition() async throws {
        try await Harness.runLive { h in
            _ = await h.emulator.addProject(key: "OPS", workflow: "review")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "to do")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "done already", statusName: "Done")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "drafted")
            await h.emulator.addIssue(projectKey: "OPS", summary: "review workflow")
            try await h.configure(["merge_request_opened_transition": "In Progress; OPS: Start Progress", "merge_requests_events": false])
            _ = try await h.webhook("Merge Request Hook", Self.mergeRequest(7, "PROJ-1 PROJ-2 OPS-1 login"), key: "m-1")
            var log = try await h.settle()
            #expect(await h.issue("PROJ-1").statusID == "3", "In Progress")
            #expect(await h.issue("PROJ-2").statusID == "10001", "done already: not moved back")
            #expect(await h.issue("OPS-1").statusID == "3", "OPS's own step")
            let skipped = try #require(log.first { $0["issue_key"] == "PROJ-2" })
            #expect(skipped["status"] == "skipped", "\(skipped)")
            #expect(await h.issue("PROJ-1").comments.isEmpty, "no solved comment on opening")
            // Reopened (after someone moved PROJ-1 back): the ledger has it, nothing again.
            await h.emulator.setStatus(issue: "PROJ-1", to: "To Do")
            _ = try await h.webhook("Merge Request Hook", Self.mergeRequest(7, "PROJ-1 PROJ-2 OPS-1 login", action: "reopen"), key: "m-2")
            log = try await h.settle()
            #expect(await h.issue("PROJ-1").statusID == "1")
            #expect(try await transitions(h, "PROJ-1") == ["21"], "once per merge request and issue")
            // A draft: nothing until it leaves draft.
            _ = try await h.webhook("Merge Request Hook", Self.mergeRequest(8, "PROJ-3 wip", draft: true), key: "m-3")
            try await h.settle()
            #expect(await h.issue("PROJ-3").statusID == "1")
            _ = try await h.webhook("Merge Request Hook", Self.mergeRequest(8, "PROJ-3 wip", action: "update", leftDraft: true), key: "m-4")
            try await h.settle()
            #expect(await h.issue("PROJ-3").statusID == "3")
        }
    }
}
