import Forges
import Foundation
import Integration
import Testing

/// GitLab's payloads decoded into forge-neutral events, without a server.
@Suite("GitLab webhook decoding")
struct GitLabWebhookTests {
    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        return try Data(contentsOf: url)
    }

    static func document(_ name: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> GitLabWebhook.Document {
        var doc = try #require(try JSONSerialization.jsonObject(with: fixture(name)) as? [String: Any])
        edit(&doc)
        return try GitLabWebhook.parse(JSONSerialization.data(withJSONObject: doc))
    }

    @Test("GitLab's push example: project, branch, commits, pusher")
    func push() throws {
        let document = try Self.document("push")
        let reference = try GitLabWebhook.projectReference(document)
        #expect(reference.id == 15 && reference.path == "mike/diaspora")
        guard case .push(let push) = try GitLabWebhook.decode(event: "Push Hook", document: document) else {
            Issue.record("a push")
            return
        }
        #expect(push.project.webURL == "http://example.com/mike/diaspora")
        #expect(push.project.defaultBranch == "master")
        #expect(push.project.fullName == "Mike / Diaspora")
        #expect(push.branch == "master" && !push.deletesBranch)
        #expect(push.commits.count == 2)
        #expect(push.commits[0].id == "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327")
        #expect(push.commits[0].title == "Update Catalan translation to e38cb41.")
        #expect(push.pusher.name == "John Smith")
        #expect(push.omittedCommits == nil)
    }

    @Test("GitLab's merge request example: iid, title, branches, last commit, URL")
    func mergeRequest() throws {
        let document = try Self.document("merge_request")
        guard case .mergeRequest(let mr) = try GitLabWebhook.decode(event: "Merge Request Hook", document: document) else {
            Issue.record("a merge request")
            return
        }
        #expect(mr.iid == 1 && mr.title == "MS-Viewport" && mr.action == .open)
        #expect(mr.sourceBranch == "ms-viewport" && mr.targetBranch == "master")
        #expect(mr.lastCommitID == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        #expect(mr.url == "http://example.com/diaspora/merge_requests/1")
        #expect(mr.user.username == "root")
    }

    @Test("a tag push is a push on no branch")
    func tagPush() throws {
        guard case .push(let push) = try GitLabWebhook.decode(event: "Push Hook", document: try Self.document("tag_push")) else {
            Issue.record("a push")
            return
        }
        #expect(push.branch == nil)
    }

    @Test(
        "what cannot be read is refused with the field's name",
        arguments: [
            ("the body is not valid JSON: an object key must be a string at byte 1", "{"), ("the body is not a JSON object", "[1]"),
            ("project is missing", "{}"),
            ("project.id is missing or not a positive integer", #"{"project": {"id": 1e300, "path_with_namespace": "a/b"}}"#),
            ("project.id is missing or not a positive integer", #"{"project": {"id": -4, "path_with_namespace": "a/b"}}"#),
            ("project.path_with_namespace is missing", #"{"project": {"id": 4}}"#),
        ])
    func refusals(_ message: String, _ body: String) {
        #expect(throws: WebhookPayloadError(message)) {
            let document = try GitLabWebhook.parse(Data(body.utf8))
            _ = try GitLabWebhook.projectReference(document)
        }
    }

    @Test("a project URL that is not http(s) is refused; commit and merge request URLs that are not are replaced")
    func untrustedURLs() throws {
        let hostile = try Self.document("push") { doc in
            var project = doc["project"] as! [String: Any]
            project["web_url"] = "javascript:alert(document.cookie)//"
            doc["project"] = project
        }
        #expect(throws: WebhookPayloadError("project.web_url must be an http(s) URL")) {
            _ = try GitLabWebhook.decode(event: "Push Hook", document: hostile)
        }
        let commitURL = try Self.document("push") { doc in
            var commits = doc["commits"] as! [[String: Any]]
            commits[0]["url"] = "javascript:alert(1)"
            doc["commits"] = commits
        }
        guard case .push(let push) = try GitLabWebhook.decode(event: "Push Hook", document: commitURL) else { Issue.record("a push"); return }
        #expect(push.commits[0].url == "http://example.com/mike/diaspora/-/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327")
        let badID = try Self.document("push") { doc in
            var commits = doc["commits"] as! [[String: Any]]
            commits[0]["id"] = "abc] [x"
            doc["commits"] = commits
        }
        #expect(throws: WebhookPayloadError("commits[0].id is not a commit SHA")) {
            _ = try GitLabWebhook.decode(event: "Push Hook", document: badID)
        }
    }

    @Test("a push keeps its first 100 commits and counts the rest")
    func commitLimit() throws {
        let big = try Self.document("push") { doc in
            let template = (doc["commits"] as! [[String: Any]])[0]
            doc["commits"] = (1...250).map { n -> [String: Any] in
                var c = template
                c["id"] = String(format: "%040x", n)
                return c
            }
        }
        guard case .push(let push) = try GitLabWebhook.decode(event: "Push Hook", document: big) else { Issue.record("a push"); return }
        #expect(push.commits.count == EventLimits.commitsPerPush)
        #expect(push.omittedCommits == 150)
    }

    @Test("form and JSON bodies of API requests decode to the same parameters")
    func parameterBodies() throws {
        let json = try ParameterBody.parameters(
            Data(#"{"active": true, "project_keys": ["A", "B"], "url": "https://j.example"}"#.utf8),
            contentType: "application/json", query: [])
        let form = try ParameterBody.parameters(
            Data("active=true&project_keys[]=A&project_keys[]=B&url=https%3A%2F%2Fj.example".utf8),
            contentType: "application/x-www-form-urlencoded", query: [])
        #expect(json["project_keys"] == .list([.string("A"), .string("B")]))
        #expect(form["project_keys"] == .list([.string("A"), .string("B")]))
        #expect(json["url"] == form["url"])
        #expect(throws: ParameterBodyError("The request body must be a JSON object")) {
            _ = try ParameterBody.parameters(Data("[1]".utf8), contentType: "application/json", query: [])
        }
        #expect(ParameterBody.formPairs("a=%zz&b=c+d").map { "\($0.0)=\($0.1)" } == ["a=%zz", "b=c d"], "bad escapes are kept as written")
    }
}
