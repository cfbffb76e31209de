import Forges
import Foundation
import Integration
import Testing

/// Forge webhooks (the real payloads in `Fixtures/`) turned into the Development panel's entities.
@Suite("Development panel entities")
struct DevelopmentInfoTests {
    static let extractor = try! ReferenceExtractor()

    static func json(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&doc)
        return try JSONSerialization.data(withJSONObject: doc)
    }

    static func gitlab(_ name: String, event: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ForgeEvent {
        try GitLabWebhook.decode(event: event, document: GitLabWebhook.parse(json(name, edit)))
    }

    static func github(_ name: String, event: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ForgeEvent {
        try #require(try GitHubWebhook.decode(event: event, document: GitHubWebhook.parse(json(name, edit))))
    }

    static func gitea(_ name: String, event: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ForgeEvent {
        try #require(try GiteaWebhook.decode(event: event, type: nil, document: GiteaWebhook.parse(json(name, edit))))
    }

    static func repository(_ changes: [DevelopmentInfo.Change]) throws -> DevelopmentInfo.Repository {
        guard changes.count == 1, case .store(let repository) = changes[0] else {
            Issue.record("one repository to store, not \(changes)")
            throw CancellationError()
        }
        return repository
    }

    /// `push.json` with the second (head) commit's message mentioning `PROJ-12`.
    static func gitlabPush(branch: String = "master", message: String = "Fix the viewport for PROJ-12") throws -> ForgeEvent {
        try gitlab("push", event: "Push Hook") { doc in
            doc["ref"] = "refs/heads/\(branch)"
            var commits = doc["commits"] as! [[String: Any]]
            commits[1]["message"] = message
            doc["commits"] = commits
        }
    }

    @Test("a GitLab push: the commit that mentions a key, with its time, files and author, and its branch")
    func gitlabPushWithKey() throws {
        let repo = try Self.repository(DevelopmentInfo.changes(try Self.gitlabPush(), extractor: Self.extractor))
        #expect(repo.id == "gitlab-15")
        #expect(repo.name == "mike/diaspora" && repo.url == "http://example.com/mike/diaspora")
        #expect(repo.commits.count == 1, "the first commit names no key")
        let commit = try #require(repo.commits.first)
        #expect(commit.id == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" && commit.displayId == "da15608")
        #expect(commit.issueKeys == ["PROJ-12"])
        #expect(commit.author == .init(name: "GitLab dev user", email: "gitlabdev@dv6700.(none)"))
        // 2012-01-03T23:36:29+02:00
        #expect(commit.authorTimestamp == "2012-01-03T21:36:29.000Z")
        #expect(commit.updateSequenceId == 1_325_626_589_000)
        #expect(commit.fileCount == 2, "added + modified + removed")
        #expect(commit.url == "http://example.com/mike/diaspora/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        let branch = try #require(repo.branches.first)
        #expect(branch.name == "master" && branch.issueKeys == ["PROJ-12"])
        #expect(branch.lastCommit == commit)
        #expect(branch.url == "http://example.com/mike/diaspora/-/tree/master")
        #expect(branch.createPullRequestUrl == "http://example.com/mike/diaspora/-/merge_requests/new?merge_request%5Bsource_branch%5D=master")
        #expect(repo.updateSequenceId == commit.updateSequenceId)
    }

    @Test("a branch named after a key is sent with its head commit, even when no commit message names one")
    func branchNamedAfterKey() throws {
        let repo = try Self.repository(
            DevelopmentInfo.changes(try Self.gitlabPush(branch: "feature/PROJ-7-login", message: "Tidy up"), extractor: Self.extractor))
        #expect(repo.commits.isEmpty)
        #expect(repo.branches.map(\.issueKeys) == [["PROJ-7"]])
        #expect(repo.branches.first?.lastCommit.id == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        #expect(repo.branches.first?.lastCommit.issueKeys == ["PROJ-7"], "Atlassian's schema requires keys on the last commit")
    }

    @Test("a push that names no key sends nothing; a tag sends nothing")
    func noKey() throws {
        #expect(DevelopmentInfo.changes(try Self.gitlabPush(message: "Tidy up"), extractor: Self.extractor).isEmpty)
        let tag = try Self.gitlab("tag_push", event: "Push Hook")
        #expect(DevelopmentInfo.changes(tag, extractor: Self.extractor).isEmpty)
    }

    @Test("a push that deletes a branch deletes it in Jira")
    func branchDeleted() throws {
        let deleted = try Self.gitlab("push", event: "Push Hook") { doc in
            doc["ref"] = "refs/heads/feature/PROJ-7"
            doc["after"] = String(repeating: "0", count: 40)
            doc["commits"] = []
        }
        #expect(
            DevelopmentInfo.changes(deleted, extractor: Self.extractor) == [
                .deleteBranch(repositoryID: "gitlab-15", branchID: "feature/PROJ-7", lastCommit: "95790bf891e76fee5e1747ab589903a6a1f80f22")
            ])
    }

    @Test("the integration's own key rules apply")
    func customKeyRules() throws {
        let extractor = try ReferenceExtractor(prefix: "JIRA#", regex: "")
        #expect(DevelopmentInfo.changes(try Self.gitlabPush(), extractor: extractor).isEmpty)
        let repo = try Self.repository(
            DevelopmentInfo.changes(try Self.gitlabPush(message: "Fix JIRA#PROJ-3 now"), extractor: extractor))
        #expect(repo.commits.first?.issueKeys == ["PROJ-3"])
    }

    @Test("a GitLab merge request: opened, then merged with a greater sequence number; an older update loses to the merge")
    func gitlabMergeRequestStates() throws {
        func mr(state: String, action: String, updated: String) throws -> DevelopmentInfo.PullRequest {
            let event = try Self.gitlab("merge_request", event: "Merge Request Hook") { doc in
                var a = doc["object_attributes"] as! [String: Any]
                a["title"] = "PROJ-12: the viewport"
                a["state"] = state
                a["action"] = action
                a["updated_at"] = updated
                doc["object_attributes"] = a
            }
            return try #require(try Self.repository(DevelopmentInfo.changes(event, extractor: Self.extractor)).pullRequests.first)
        }
        let opened = try mr(state: "opened", action: "open", updated: "2013-12-03T17:23:34Z")
        #expect(opened.status == .open && opened.displayId == "!1" && opened.id == "1")
        #expect(opened.issueKeys == ["PROJ-12"])
        #expect(opened.sourceBranch == "ms-viewport" && opened.destinationBranch == "master")
        #expect(opened.lastUpdate == "2013-12-03T17:23:34.000Z")
        #expect(opened.reviewers == ["User1"])
        let merged = try mr(state: "merged", action: "merge", updated: "2013-12-03 17:23:34 UTC")
        #expect(merged.status == .merged)
        #expect(merged.updateSequenceId > opened.updateSequenceId, "merged in the same second still wins")
        let lateUpdate = try mr(state: "opened", action: "update", updated: "2013-12-03T17:20:00Z")
        #expect(lateUpdate.updateSequenceId < merged.updateSequenceId, "an older update delivered later does not overwrite the merge")
        let closed = try mr(state: "closed", action: "close", updated: "2013-12-04T09:00:00Z")
        #expect(closed.status == .declined)
        let draft = try Self.gitlab("merge_request", event: "Merge Request Hook") { doc in
            var a = doc["object_attributes"] as! [String: Any]
            a["title"] = "PROJ-12: the viewport"
            a["draft"] = true
            doc["object_attributes"] = a
        }
        let pr = try #require(try Self.repository(DevelopmentInfo.changes(draft, extractor: Self.extractor)).pullRequests.first)
        #expect(pr.status == .open && pr.title == "Draft: PROJ-12: the viewport", "Atlassian's schema has no draft status")
    }

    @Test("a merge request whose source branch names the key counts; one that names none sends nothing")
    func mergeRequestKeys() throws {
        let viaBranch = try Self.gitlab("merge_request", event: "Merge Request Hook") { doc in
            var a = doc["object_attributes"] as! [String: Any]
            a["source_branch"] = "PROJ-9-viewport"
            doc["object_attributes"] = a
        }
        #expect(try Self.repository(DevelopmentInfo.changes(viaBranch, extractor: Self.extractor)).pullRequests.first?.issueKeys == ["PROJ-9"])
        let none = try Self.gitlab("merge_request", event: "Merge Request Hook")
        #expect(DevelopmentInfo.changes(none, extractor: Self.extractor).isEmpty)
    }

    @Test("GitHub pull requests: opened, merged, closed unmerged; comments include review comments")
    func githubPullRequests() throws {
        func pr(_ name: String) throws -> DevelopmentInfo.PullRequest {
            let event = try Self.github(name, event: "pull_request") { doc in
                var pr = doc["pull_request"] as! [String: Any]
                pr["title"] = "PROJ-4 \(pr["title"] as! String)"
                doc["pull_request"] = pr
            }
            return try #require(try Self.repository(DevelopmentInfo.changes(event, extractor: Self.extractor)).pullRequests.first)
        }
        let opened = try pr("github-pull_request.opened")
        #expect(opened.status == .open && opened.displayId == "#2")
        #expect(opened.url == "https://github.com/Codertocat/Hello-World/pull/2")
        #expect(opened.author.name == "Codertocat")
        let merged = try pr("github-pull_request.closed.merged")
        #expect(merged.status == .merged && merged.displayId == "#62")
        #expect(merged.sourceBranch == "anbraten-patch-3")
        #expect(merged.sourceBranchUrl.hasSuffix("/tree/anbraten-patch-3"))
        let declined = try pr("github-pull_request.closed")
        #expect(declined.status == .declined)
    }

    @Test("a Gitea pull request merged, and a Gitea push with a key")
    func gitea() throws {
        let event = try Self.gitea("gitea-pull_request.closed.merged", event: "pull_request") { doc in
            var pr = doc["pull_request"] as! [String: Any]
            pr["body"] = "Closes PROJ-8"
            doc["pull_request"] = pr
        }
        let repo = try Self.repository(DevelopmentInfo.changes(event, extractor: Self.extractor))
        #expect(repo.id.hasPrefix("gitea-"))
        #expect(repo.pullRequests.first?.status == .merged)
        #expect(repo.pullRequests.first?.sourceBranchUrl == "https://gitea.com/anbraten/test-repo/src/branch/anbraten-patch-1")
        #expect(repo.pullRequests.first?.lastUpdate == "2023-12-05T18:35:31.000Z")
        let push = try Self.gitea("gitea-push", event: "push") { doc in
            var commits = doc["commits"] as! [[String: Any]]
            commits[0]["message"] = "PROJ-2 fix"
            doc["commits"] = commits
        }
        let pushed = try Self.repository(DevelopmentInfo.changes(push, extractor: Self.extractor))
        #expect(pushed.commits.map(\.issueKeys) == [["PROJ-2"]])
        #expect(pushed.commits.first?.url.contains("/commit/") == true)
    }

    @Test("long texts are cut to Atlassian's limits, and the rendering has the schema's required fields")
    func limitsAndShape() throws {
        let long = "PROJ-1 " + String(repeating: "é", count: 5_000)
        let repo = try Self.repository(DevelopmentInfo.changes(try Self.gitlabPush(message: long), extractor: Self.extractor))
        #expect(repo.commits.first.map { $0.message.count <= DevelopmentInfo.Limits.message } == true)
        let json = repo.json
        for field in ["id", "name", "updateSequenceId", "url"] { #expect(json[field] != nil, "repository.\(field)") }
        let commit = try #require(json["commits"]?.array?.first)
        for field in ["id", "updateSequenceId", "author", "authorTimestamp", "displayId", "fileCount", "message", "url"] {
            #expect(commit[field] != nil, "commit.\(field)")
        }
        let branch = try #require(json["branches"]?.array?.first)
        for field in ["id", "updateSequenceId", "lastCommit", "name", "url"] { #expect(branch[field] != nil, "branch.\(field)") }
    }

    @Test("forge times: ISO 8601 with an offset, Z, fractions, and GitLab's UTC form; anything else is no time")
    func timestamps() {
        func ms(_ text: String) -> Int64? { JiraTimestamp(text)?.millis }
        #expect(ms("1970-01-01T00:00:00Z") == 0)
        #expect(ms("2011-12-12T14:27:31+02:00") == 1_323_692_851_000)
        #expect(ms("2011-12-12T12:27:31Z") == 1_323_692_851_000)
        #expect(ms("2011-12-12 12:27:31 UTC") == 1_323_692_851_000)
        #expect(ms("2024-02-29T10:00:00.123Z") == 1_709_200_800_123)
        #expect(ms("2019-05-15T15:19:25-07:30") == 1_557_960_565_000)
        for bad in ["", "yesterday", "2024-13-01T00:00:00Z", "1e300"] { #expect(ms(bad) == nil, "\(bad)") }
        #expect(JiraTimestamp(millis: 1_709_200_800_123).utcText == "2024-02-29T10:00:00.123Z")
        for value: Int64 in [0, 1, 951_782_400_000, 4_102_444_799_999] { #expect(ms(JiraTimestamp(millis: value).utcText) == value) }
    }
}
