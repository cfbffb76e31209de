import Integration
import Testing

/// GitLab's planning rules (behavior doc (c)) and jira-bridge's differences, on events built by hand.
@Suite("Event planner")
struct EventPlannerTests {
    let project = ForgeProject(
        id: 42, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme",
        webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")
    let jane = ForgeUser(name: "Jane", username: "jane", email: "jane@example.com")

    func settings(_ change: (inout JiraSettings) -> Void = { _ in }) -> JiraSettings {
        var s = JiraSettings()
        s.active = true
        s.url = "https://jira.example.com"
        change(&s)
        return s
    }

    func planner(_ change: (inout JiraSettings) -> Void = { _ in }) throws -> EventPlanner {
        EventPlanner(settings: settings(change), extractor: try ReferenceExtractor(prefix: "", regex: ""))
    }

    func commit(_ message: String, id: String = "abc123") -> ForgeCommit {
        ForgeCommit(
            id: id, message: message, url: "https://gitlab.example.com/acme/shop/-/commit/\(id)", authorName: "Jane", authorEmail: "jane@example.com")
    }

    func push(_ commits: [ForgeCommit], ref: String = "refs/heads/main", after: String = "abc123") -> ForgeEvent {
        .push(PushEvent(project: project, ref: ref, before: "", after: after, commits: commits, pusher: jane))
    }

    func mergeRequest(
        _ action: MergeRequestEvent.Action, title: String = "PROJ-1 Add login", description: String = "",
        target: String = "main", lastCommit: String? = "def456"
    ) -> ForgeEvent {
        .mergeRequest(
            MergeRequestEvent(
                project: project, iid: 7, title: title, description: description, action: action,
                sourceBranch: "feature", targetBranch: target, lastCommitID: lastCommit,
                url: "https://gitlab.example.com/acme/shop/-/merge_requests/7", user: jane))
    }

    @Test("an inactive integration plans nothing")
    func inactive() throws {
        #expect(try planner { $0.active = false }.plan(push([commit("PROJ-1 fix")])).isEmpty)
    }

    @Test("a mention plans a link and a comment per key, with GitLab's texts")
    func mention() throws {
        let planned = try planner().plan(push([commit("PROJ-1 Fix login")], ref: "refs/heads/feature"))
        #expect(planned.map(\.action) == [.remoteLink, .comment])
        #expect(planned.allSatisfy { $0.issueKey == "PROJ-1" })
        guard case .remoteLink(let link) = planned[0].work, case .comment(let body) = planned[1].work else { Issue.record("shapes"); return }
        #expect(link.url == "https://gitlab.example.com/acme/shop/-/commit/abc123" && link.title == "Commit - PROJ-1 Fix login")
        #expect(link.relationship == "mentioned on" && link.iconURL == "https://gitlab.example.com/favicon.ico")
        #expect(
            body
                == "[Jane|https://gitlab.example.com/jane] mentioned this issue in [a commit|https://gitlab.example.com/acme/shop/-/commit/abc123] of [Acme / Shop|https://gitlab.example.com/acme/shop] on branch [feature|https://gitlab.example.com/acme/shop/-/tree/feature]:{quote}PROJ-1 Fix login{quote}"
        )
        #expect(planned[1].dedupeKey == "comment|https://gitlab.example.com/acme/shop/-/commit/abc123")
        #expect(planned[1].contentKey != nil, "commit comments carry a content identity for rebases")
    }

    @Test("without comments on events only links are planned")
    func noComments() throws {
        #expect(try planner { $0.commentOnEventEnabled = false }.plan(push([commit("PROJ-1 x")])).map(\.action) == [.remoteLink])
    }

    @Test("commit events off: a push plans no mentions")
    func commitEventsOff() throws {
        #expect(try planner { $0.commitEvents = false }.plan(push([commit("PROJ-1 x")], ref: "refs/heads/feature")).isEmpty)
    }

    @Test("tags and branch deletions plan nothing")
    func tagsAndDeletions() throws {
        let p = try planner()
        #expect(p.plan(push([commit("PROJ-1 x")], ref: "refs/tags/v1")).isEmpty)
        #expect(p.plan(push([commit("PROJ-1 x")], after: "0000000000000000000000000000000000000000")).isEmpty)
    }

    @Test("a closing reference on the default branch with transitions plans a transition, and mentions the rest")
    func closingOnDefault() throws {
        let planned = try planner { $0.transitionID = "31" }.plan(push([commit("Closes PROJ-1, see PROJ-2")]))
        #expect(planned.filter { $0.action == .transition }.map(\.issueKey) == ["PROJ-1"])
        #expect(Set(planned.filter { $0.action == .comment }.map(\.issueKey)) == ["PROJ-2"])
        guard case .transition(let spec) = planned[0].work else { Issue.record("no transition first"); return }
        #expect(spec.ids == ["31"] && spec.applied == 0 && spec.commitID == "abc123" && spec.comment)
        #expect(planned[0].dedupeKey == "transition|https://gitlab.example.com/acme/shop/-/commit/abc123")
    }

    @Test("a closing reference off the default branch is a mention")
    func closingOffDefault() throws {
        let planned = try planner { $0.transitionID = "31" }.plan(push([commit("Closes PROJ-1")], ref: "refs/heads/feature"))
        #expect(!planned.contains { $0.action == .transition })
        #expect(planned.map(\.action) == [.remoteLink, .comment])
    }

    @Test("without transitions a closing key is mentioned (GitLab would send nothing)")
    func closingWithoutTransitions() throws {
        let planned = try planner().plan(push([commit("Closes PROJ-1")]))
        #expect(planned.map(\.action) == [.remoteLink, .comment])
    }

    @Test("a merge request's merge commit on the default branch does not close; the merge request does")
    func mergeCommitDoesNotClose() throws {
        let message = "Merge branch 'feature' into 'main'\n\nCloses PROJ-1\n\nSee merge request acme/shop!7"
        #expect(Forge.gitlab.isChangeMergeCommit(message))
        #expect(!Forge.gitlab.isChangeMergeCommit("See merge request acme/shop!x"))
        let planned = try planner { $0.transitionID = "31" }.plan(push([commit(message)]))
        #expect(!planned.contains { $0.action == .transition })
    }

    @Test("opening a merge request mentions its keys from title and description")
    func mergeRequestOpened() throws {
        let planned = try planner().plan(mergeRequest(.open, description: "Also PROJ-2"))
        #expect(Set(planned.map(\.issueKey)) == ["PROJ-1", "PROJ-2"])
        guard case .remoteLink(let link) = planned[0].work else { Issue.record("no link"); return }
        #expect(link.title == "Merge request - PROJ-1 Add login")
        #expect(try planner { $0.mergeRequestsEvents = false }.plan(mergeRequest(.open)).isEmpty)
    }

    @Test("merging into the default branch closes with the last commit; approvals plan nothing")
    func mergeRequestMerged() throws {
        let p = try planner { $0.transitionID = "31" }
        let planned = p.plan(mergeRequest(.merge, title: "Closes PROJ-1"))
        guard case .transition(let spec)? = planned.first?.work else { Issue.record("no transition"); return }
        #expect(spec.commitID == "def456" && spec.commitURL == "https://gitlab.example.com/acme/shop/-/commit/def456")
        #expect(p.plan(mergeRequest(.merge, title: "Closes PROJ-1", target: "develop")).allSatisfy { $0.action != .transition })
        #expect(p.plan(mergeRequest(.merge, title: "Closes PROJ-1", lastCommit: nil)).allSatisfy { $0.action != .transition })
        #expect(p.plan(mergeRequest(.approved)).isEmpty)
    }

    @Test("a key named twice in one commit is planned once")
    func duplicates() throws {
        let planned = try planner().plan(push([commit("PROJ-1 and PROJ-1 again")], ref: "refs/heads/feature"))
        #expect(planned.count == 2)
    }

    @Test("the same message from the same author gets the same content identity; another key another one")
    func contentIdentity() throws {
        let p = try planner()
        let first = p.plan(push([commit("PROJ-1 PROJ-2", id: "aaa")], ref: "refs/heads/feature")).filter { $0.action == .comment }
        let rebased = p.plan(push([commit("PROJ-1 PROJ-2", id: "bbb")], ref: "refs/heads/feature")).filter { $0.action == .comment }
        #expect(first.map(\.contentKey) == rebased.map(\.contentKey))
        #expect(first[0].contentKey != first[1].contentKey)
    }

    @Test("automatic transitions need no ids")
    func automatic() throws {
        let planned = try planner { $0.transitionAutomatic = true }.plan(push([commit("Fixes PROJ-3")]))
        guard case .transition(let spec)? = planned.first?.work else { Issue.record("no transition"); return }
        #expect(spec.automatic && spec.ids.isEmpty)
    }
}
