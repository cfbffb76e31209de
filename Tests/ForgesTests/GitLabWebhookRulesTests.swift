import Forges
import Foundation
import Integration
import Testing

/// The decoder's finer rules, on GitLab's examples edited one field at a time.
@Suite("GitLab webhook rules")
struct GitLabWebhookRulesTests {
    func decode(_ name: String, _ event: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ForgeEvent {
        try GitLabWebhook.decode(event: event, document: GitLabWebhookTests.document(name, edit))
    }

    @Test("the project id falls back to project_id; booleans and fractions are no ids")
    func projectID() throws {
        let fallback = try decode("push", "Push Hook") { doc in
            var p = doc["project"] as! [String: Any]
            p["id"] = nil
            doc["project"] = p
            doc["project_id"] = 77
        }
        #expect(fallback.project.id == 77)
        for bad: Any in [true, 1.5, -3, "15"] {
            #expect(throws: WebhookPayloadError.self) {
                try decode("push", "Push Hook") { doc in
                    var p = doc["project"] as! [String: Any]
                    p["id"] = bad
                    doc["project"] = p
                    doc["project_id"] = nil
                }
            }
        }
    }

    @Test("a missing default branch reads as main; a missing name as the path's last part")
    func defaults() throws {
        let event = try decode("push", "Push Hook") { doc in
            var p = doc["project"] as! [String: Any]
            p["default_branch"] = nil
            p["name"] = nil
            doc["project"] = p
        }
        #expect(event.project.defaultBranch == "main" && event.project.name == "diaspora")
    }

    @Test("a branch deletion is recognised by its all-zero after")
    func branchDeletion() throws {
        guard case .push(let push) = try decode("push", "Push Hook", { $0["after"] = "0000000000000000000000000000000000000000" }) else {
            Issue.record("a push"); return
        }
        #expect(push.deletesBranch)
    }

    @Test("merge request actions map to the core's, unknown ones to other")
    func actions() throws {
        for (text, action) in [
            ("merge", MergeRequestEvent.Action.merge), ("reopen", .reopen), ("update", .update), ("approved", .approved),
            ("something-new", .other),
        ] {
            let event = try decode("merge_request", "Merge Request Hook") { doc in
                var a = doc["object_attributes"] as! [String: Any]
                a["action"] = text
                doc["object_attributes"] = a
                // The fixture's update takes the draft off (a `ready`, tested apart): a plain update has no such change.
                doc.removeValue(forKey: "changes")
            }
            guard case .mergeRequest(let mr) = event else { Issue.record("a merge request"); return }
            #expect(mr.action == action, "\(text)")
        }
    }

    @Test("a last commit id that is no SHA is dropped, so a merge cannot close with it")
    func badLastCommit() throws {
        let event = try decode("merge_request", "Merge Request Hook") { doc in
            var a = doc["object_attributes"] as! [String: Any]
            a["last_commit"] = ["id": "not a sha; rm -rf"]
            doc["object_attributes"] = a
        }
        guard case .mergeRequest(let mr) = event else { Issue.record("a merge request"); return }
        #expect(mr.lastCommitID == nil)
    }

    @Test("events other than push, merge request, pipeline and deployment are not decoded")
    func otherEvents() throws {
        #expect(GitLabWebhook.handledEvents == ["Push Hook", "Merge Request Hook", "Pipeline Hook", "Deployment Hook"])
        #expect(throws: WebhookPayloadError("unsupported event Issue Hook")) { try decode("push", "Issue Hook") }
    }
}
