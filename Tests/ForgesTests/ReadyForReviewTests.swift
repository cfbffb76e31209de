import Forges
import Foundation
import Integration
import Testing

/// A merge or pull request leaving draft (what `merge_request_opened_transition` waits for), as each forge says it.
@Suite("Leaving draft")
struct ReadyForReviewTests {
    typealias Fixture = DevelopmentInfoTests

    static func action(_ event: ForgeEvent) -> MergeRequestEvent.Action? {
        if case .mergeRequest(let mr) = event { return mr.action }
        return nil
    }

    @Test("GitLab: an update whose changes take draft (or work_in_progress) from true to false; not another update")
    func gitlab() throws {
        for field in ["draft", "work_in_progress"] {
            let ready = try Fixture.gitlab("merge_request", event: "Merge Request Hook") { doc in
                var a = doc["object_attributes"] as! [String: Any]
                a["action"] = "update"
                doc["object_attributes"] = a
                doc["changes"] = [field: ["previous": true, "current": false]]
            }
            #expect(Self.action(ready) == .ready, "\(field)")
        }
        let other = try Fixture.gitlab("merge_request", event: "Merge Request Hook") { doc in
            var a = doc["object_attributes"] as! [String: Any]
            a["action"] = "update"
            doc["object_attributes"] = a
            doc["changes"] = ["draft": ["previous": false, "current": true], "title": ["previous": "a", "current": "b"]]
        }
        #expect(Self.action(other) == .update)
    }

    @Test("GitHub: ready_for_review; Gitea: an edit that takes WIP: or Draft: off the title")
    func githubGitea() throws {
        let github = try Fixture.github("github-pull_request.opened", event: "pull_request") { $0["action"] = "ready_for_review" }
        #expect(Self.action(github) == .ready)
        for (from, to, expected) in [
            ("WIP: login", "login", MergeRequestEvent.Action.ready), ("[draft] login", "PROJ-1 login", .ready), ("login", "PROJ-1 login", .update),
            ("WIP: login", "Draft: login", .update),
        ] {
            let gitea = try Fixture.gitea("gitea-pull_request_closed", event: "pull_request") { doc in
                doc["action"] = "edited"
                var pr = doc["pull_request"] as! [String: Any]
                pr["title"] = to
                doc["pull_request"] = pr
                doc["changes"] = ["title": ["from": from]]
            }
            #expect(Self.action(gitea) == expected, "\(from) -> \(to)")
        }
    }
}
