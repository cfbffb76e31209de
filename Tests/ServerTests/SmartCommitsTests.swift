import Foundation
import Integration
import JiraEmulator
import Testing

/// Smart commits end to end, on Jira Server and on Jira Cloud: `#time`, `#comment` and `#<transition>` from a
/// pushed commit, each once, whatever is pushed again.
@Suite("Smart commits, end to end")
struct SmartCommitsTests {
    static func sha(_ n: Int) -> String { String(format: "%040x", 0x5a00 + n) }

    static func options(_ deployment: EmulatedDeployment) -> Harness.Options {
        var options = Harness.Options()
        options.deployment = deployment
        return options
    }

    static let message = "PROJ-1 PROJ-2 fix the login #time 1w 2d 4h 30m Total work logged #comment corrected indent\n#in-progress Started today"

    @Test(
        "each command on every key before the first: work logged as written, a comment naming the author and commit, a transition by its hyphenated name; a re-push and a rebase run nothing again",
        arguments: [EmulatedDeployment.server, .cloud])
    func commands(_ deployment: EmulatedDeployment) async throws {
        try await Harness.runLive(Self.options(deployment)) { h in
            await h.emulator.addIssue(projectKey: "PROJ", summary: "one")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "two")
            try await h.configure(["smart_commits_enabled": true, "commit_events": false])
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(1), Self.message)]), key: "s-1")
            let log = try await h.settle()
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log.map { "\($0["action"] ?? .null) \($0["last_error"] ?? .null)" })")
            for key in ["PROJ-1", "PROJ-2"] {
                let issue = try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/issues/\(key)", headers: [:]).text)
                let worklogs = issue["worklogs"]?.array ?? []
                #expect(worklogs.count == 1)
                #expect(worklogs.first?["time_spent"] == "1w 2d 4h 30m", "logged as written")
                #expect(worklogs.first?["seconds"] == .number(217_800), "Jira counts it with the site's 8-hour days and 5-day weeks")
                #expect(worklogs.first?["comment"]?.string?.hasPrefix("Total work logged — John Smith, https://gitlab.example.com/") == true)
                let comments = (issue["comments"]?.array ?? []).compactMap { $0["body"]?.string }
                #expect(comments.count == 2, "\(comments)")
                #expect(comments.contains { $0.hasPrefix("corrected indent\n\n— John Smith in [\(Self.sha(1).prefix(8))|") })
                #expect(comments.contains { $0.hasPrefix("Started today\n\n— John Smith") })
                #expect(await h.issue(key).statusID == "3", "In Progress, by #in-progress")
            }
            // Pushed again (another delivery, another branch), and rebased (a new sha, the same message and author).
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/main", commits: [(Self.sha(1), Self.message)]), key: "s-2")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(2), Self.message)]), key: "s-3")
            let again = try await h.settle()
            #expect(again.count == log.count, "nothing new was planned")
            for key in ["PROJ-1", "PROJ-2"] {
                #expect(await h.issue(key).comments.count == 2)
                #expect(await h.issue(key).worklogs.count == 1)
            }
            #expect(await h.jiraRequests("/worklog").filter { $0.method == "POST" }.count == 2)
        }
    }

    @Test("an unknown or ambiguous transition fails visibly with the names the issue offers; other commands still run")
    func unknownTransition() async throws {
        try await Harness.runLive { h in
            _ = await h.emulator.addProject(key: "OPS", workflow: "review")
            await h.emulator.addIssue(projectKey: "OPS", summary: "one")
            await h.emulator.addIssue(projectKey: "OPS", summary: "two", statusName: "Done")
            try await h.configure(["smart_commits_enabled": true, "commit_events": false])
            _ = try await h.webhook(
                "Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(3), "OPS-1 #ship #comment shipped")]), key: "s-4")
            _ = try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(4), "OPS-2 #reopen")]), key: "s-5")
            let log = try await h.settle()
            let unknown = try #require(log.first { $0["issue_key"] == "OPS-1" && $0["action"] == "transition" })
            #expect(unknown["status"] == "failed")
            #expect(unknown["last_error"] == "OPS-1: #ship is no transition the issue offers; it offers #start-progress.", "\(unknown)")
            #expect(await h.issue("OPS-1").comments.count == 1, "the comment still ran")
            let ambiguous = try #require(log.first { $0["issue_key"] == "OPS-2" && $0["action"] == "transition" })
            #expect(ambiguous["status"] == "failed")
            #expect(ambiguous["last_error"]?.string?.contains("#reopen names 2 transitions (Reopen, Reopen)") == true, "\(ambiguous)")
        }
    }

    @Test("off by default: a commit's commands do nothing")
    func offByDefault() async throws {
        try await Harness.runLive { h in
            await h.emulator.addIssue(projectKey: "PROJ", summary: "one")
            try await h.configure(["commit_events": false])
            _ = try await h.webhook(
                "Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha(5), "PROJ-1 #time 1h #done")]), key: "s-6")
            #expect(try await h.settle().isEmpty)
            let issue = await h.issue("PROJ-1")
            #expect(issue.worklogs.isEmpty && issue.statusID == "1")
        }
    }
}
