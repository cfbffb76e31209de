import Foundation
import HTTPTypes
import Integration
import Testing

@testable import Server

/// The event log (issue 31, "nothing silent"): every webhook taken in for a project, with what it planned or why
/// it planned nothing, in the API and on the page.
@Suite("Event log")
struct EventLogTests {
    static let sha1 = "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"
    static let sha2 = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"

    /// The newest event of project 42, once planned.
    func newest(_ h: Harness, query: String = "") async throws -> JSONValue {
        try await h.settle()
        let r = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/events\(query)")
        #expect(r.status == 200, "\(r.text)")
        return r.json.array?.first ?? .null
    }

    @Test("a webhook of a project with no integration says so, and plans nothing")
    func noIntegration() async throws {
        try await Harness.runLive { h in
            _ = try await h.registerProject()
            let answer = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            #expect(answer.status == 202)
            let event = try await newest(h)
            #expect(event["id"] == answer.json["event_id"])
            #expect(event["status"] == "planned" && event["deliveries"] == 0 && event["kind"] == "push" && event["forge"] == "gitlab")
            #expect(event["outcome"]?.string?.hasPrefix("nothing planned: no Jira integration applies to this project") == true, "\(event)")
        }
    }

    @Test("an inactive integration, a message with no key, and events that are off each give their reason")
    func reasons() async throws {
        try await Harness.runLive { h in
            try await h.configure(["active": false])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            #expect(try await newest(h)["outcome"] == "nothing planned: the Jira integration is inactive")

            try await h.configure(["commit_events": false, "jira_issue_transition_id": "31"])
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Tidy the README")]))
            #expect(try await newest(h)["outcome"] == "nothing planned: no commit message names a Jira key")

            // A closing reference on a branch that is not a closing branch, with commit events off: no transition, no mention.
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha2, "Closes PROJ-1")]))
            let feature = try await newest(h)
            #expect(
                feature["outcome"]
                    == "nothing planned: commit events are off (commit_events), and closing references move issues only on the default branch (main): this push is to feature",
                "\(feature)")

            _ = try await h.webhook("Merge Request Hook", Payloads.mergeRequest(action: "close", title: "PROJ-1 tidy"))
            let closed = try await newest(h)
            #expect(closed["outcome"] == "nothing planned: Merge request !7 was closed: only opening, updating and merging are acted on", "\(closed)")

            try await h.configure(["merge_requests_events": false])
            _ = try await h.webhook("Merge Request Hook", Payloads.mergeRequest(action: "open", title: "PROJ-1 tidy"))
            #expect(try await newest(h)["outcome"] == "nothing planned: merge request events are off (merge_requests_events)")

            // A pipeline goes to Builds only.
            _ = try await h.webhook("Pipeline Hook", BuildsDeploymentsTests.gitlabPipeline(status: "running"))
            #expect(
                try await newest(h)["outcome"] == "nothing planned: pipelines go to Jira's Builds only, which are off (jira_builds_enabled)")
        }
    }

    @Test("a planned event counts its deliveries; one whose work was planned for an earlier event says so; the page shows both")
    func plannedAndRepeated() async throws {
        try await Harness.runLive { h in
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            try await h.configure()
            _ = try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha1, "Fix PROJ-1")]))
            let first = try await newest(h)
            #expect(first["deliveries"] == 2 && first["outcome"] == "planned 2 deliveries", "\(first)")
            #expect(first["planned_at"]?.string?.hasSuffix("Z") == true)
            // The same commit pushed to another branch: the comment and link are those of the first push.
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/other", commits: [(Self.sha1, "Fix PROJ-1")]))
            let second = try await newest(h)
            #expect(second["deliveries"] == 0)
            #expect(second["outcome"]?.string?.hasPrefix("planned nothing new: what it calls for was planned for an earlier event") == true)
            // `noted=true` keeps the old list: only limits reached and failures.
            let noted = try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/events?noted=true")
            #expect(noted.status == 200 && noted.json.array?.isEmpty == true, "\(noted.text)")
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira/events?noted=maybe").status == 400)

            let cookie = try await JiraCloudLimitsTests.session(h)
            let page = try await h.request(.GET, "/projects/42/integrations/jira/events", headers: [("Cookie", cookie)])
            #expect(page.status == 200)
            #expect(page.text.contains("planned 2 deliveries") && page.text.contains("planned nothing new"), "\(page.text)")
            #expect(try await h.request(.GET, "/projects/42", headers: [("Cookie", cookie)]).text.contains("/projects/42/integrations/jira/events"))
        }
    }

    @Test("a merge into a branch that is not a closing branch mentions the issue, and the event's note says why it was not moved")
    func mergeElsewhere() async throws {
        try await Harness.runLive { h in
            await h.emulator.addIssue(projectKey: "PROJ", summary: "x")
            try await h.configure(["jira_issue_transition_id": "31"])
            _ = try await h.webhook("Merge Request Hook", Payloads.mergeRequest(action: "merge", title: "Closes PROJ-1", target: "develop"))
            let event = try await newest(h)
            #expect(event["outcome"] == "planned 2 deliveries", "\(event)")
            #expect(
                event["note"]
                    == "PROJ-1 not moved: Merge request !7 was merged into develop, and closing references move issues only on the default branch (main)"
            )
            #expect(await h.jiraRequests("/transitions").filter { $0.method == "POST" }.isEmpty)
        }
    }
}
