import Forges
import Foundation
import Integration
import Testing

/// GitHub's and Gitea's payloads decoded without a server (fixtures copied from `../shared/reference`).
@Suite("GitHub and Gitea decoding")
struct GitHubGiteaWebhookTests {
    static func document(_ name: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&doc)
        return try JSONSerialization.data(withJSONObject: doc)
    }

    @Test("GitHub's push: repository, branch, commit, pusher")
    func githubPush() throws {
        let document = try GitHubWebhook.parse(try Self.document("github-push"))
        #expect(try GitHubWebhook.projectReference(document) == (186853002, "Codertocat/Hello-World"))
        guard case .push(let push)? = try GitHubWebhook.decode(event: "push", document: document) else { Issue.record("a push"); return }
        #expect(push.project.forge == .github && push.project.webURL == "https://github.com/Codertocat/Hello-World")
        #expect(push.project.defaultBranch == "master" && push.branch == "master")
        #expect(push.commits.map(\.id) == ["6113728f27ae82c7b1a177c8d03f9e96e0adf246"])
        #expect(push.pusher.username == "Codertocat")
        #expect(push.project.forgeBaseURL == "https://github.com")
    }

    @Test("GitHub's pull request actions: closed is a merge only when merged, with the merge commit")
    func githubPullRequest() throws {
        func decode(_ action: String, merged: Bool = false) throws -> MergeRequestEvent? {
            let data = try Self.document("github-pull_request.closed") { doc in
                doc["action"] = action
                var pr = doc["pull_request"] as! [String: Any]
                pr["merged"] = merged
                doc["pull_request"] = pr
            }
            guard case .mergeRequest(let mr)? = try GitHubWebhook.decode(event: "pull_request", document: try GitHubWebhook.parse(data)) else {
                return nil
            }
            return mr
        }
        #expect(try decode("closed")?.action == .close)
        let merged = try #require(try decode("closed", merged: true))
        #expect(merged.action == .merge && merged.lastCommitID == "c4295bd74fb0f4fda03689c3df3f2803b658fd85")
        #expect(merged.iid == 2 && merged.url == "https://github.com/Codertocat/Hello-World/pull/2" && merged.targetBranch == "master")
        #expect(try decode("synchronize")?.action == .update)
        #expect(try decode("labeled") == nil, "actions that change nothing are not events")
    }

    @Test("Gitea's push and pull request, its synchronized action, and comment types that are no events")
    func gitea() throws {
        let push = try GiteaWebhook.parse(try Self.document("gitea-push"))
        guard case .push(let p)? = try GiteaWebhook.decode(event: "push", type: nil, document: push) else { Issue.record("a push"); return }
        #expect(p.project.forge == .gitea && p.project.id == 61 && p.project.pathWithNamespace == "gogits/hello-world")
        #expect(p.pusher.username == "unknwon" && p.commits.count == 1)
        let pr = try GiteaWebhook.parse(try Self.document("gitea-pull_request_closed") { $0["action"] = "synchronized" })
        guard case .mergeRequest(let mr)? = try GiteaWebhook.decode(event: "pull_request", type: "pull_request", document: pr) else {
            Issue.record("a pull request"); return
        }
        #expect(mr.action == .update && mr.url == "https://try.gitea.io/jcitizen/my-repo/pulls/1" && mr.user.username == "jcitizen")
        #expect(try GiteaWebhook.decode(event: "pull_request", type: "pull_request_comment", document: pr) == nil)
    }

    @Test("Gitea's delete of a branch is a push to the zero commit that names no commit; a deleted tag is no event")
    func giteaDelete() throws {
        let deleted = try GiteaWebhook.parse(try Self.document("gitea-delete.branch"))
        guard case .push(let p)? = try GiteaWebhook.decode(event: "delete", type: "delete", document: deleted) else {
            Issue.record("a push"); return
        }
        #expect(p.project.id == 61 && p.ref == "refs/heads/feature" && p.branch == "feature")
        #expect(p.deletesBranch && p.commits.isEmpty && p.before.isEmpty && p.pusher.username == "unknwon")
        let tag = try GiteaWebhook.parse(try Self.document("gitea-delete.branch") { $0["ref_type"] = "tag" })
        #expect(try GiteaWebhook.decode(event: "delete", type: "delete", document: tag) == nil)
        let blank = try GiteaWebhook.parse(try Self.document("gitea-delete.branch") { $0["ref"] = "" })
        #expect(throws: WebhookPayloadError("ref is empty")) { try GiteaWebhook.decode(event: "delete", type: "delete", document: blank) }
    }

    @Test("what cannot be read is refused with the field's name")
    func refused() throws {
        #expect(throws: WebhookPayloadError("repository is missing")) { try GitHubWebhook.projectReference(try GitHubWebhook.parse(Data("{}".utf8))) }
        let badURL = try Self.document("github-push") { doc in
            var r = doc["repository"] as! [String: Any]
            r["html_url"] = "javascript:alert(1)"
            doc["repository"] = r
        }
        #expect(throws: WebhookPayloadError("repository.html_url must be an http(s) URL")) {
            try GitHubWebhook.decode(event: "push", document: try GitHubWebhook.parse(badURL))
        }
    }

    @Test("form bodies carry the JSON in payload; JSON bodies are themselves")
    func formBodies() throws {
        let json = Data(#"{"a":1}"#.utf8)
        #expect(try WebhookBody.json(json, contentType: "application/json") == json)
        #expect(try WebhookBody.json(Data("payload=%7B%22a%22%3A1%7D".utf8), contentType: "application/x-www-form-urlencoded") == json)
        #expect(throws: WebhookPayloadError.self) {
            try WebhookBody.json(Data("x=1".utf8), contentType: "application/x-www-form-urlencoded; charset=utf-8")
        }
    }
}
