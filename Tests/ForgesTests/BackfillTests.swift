import Forges
import Foundation
import Integration
import Testing

/// The forges' list answers a backfill reads, and what a page sends.
@Suite("Backfill pages")
struct BackfillPageTests {
    static let extractor = try! ReferenceExtractor()
    static let github = ForgeProject(
        id: 1, pathWithNamespace: "o/r", name: "r", namespaceName: "o", webURL: "https://github.com/o/r", defaultBranch: "main", forge: .github)
    static let gitlab = ForgeProject(
        id: 42, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "acme", webURL: "https://gitlab.example.com/acme/shop",
        defaultBranch: "main")

    static func list(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    @Test("GitHub's list item is merged by its merged_at; GitLab's by its state; items that are not what the forge says are left out")
    func decoding() throws {
        let github = try Self.list(
            #"""
            [{"number": 7, "title": "PROJ-1 login", "body": null, "state": "closed", "merged_at": "2026-01-02T03:04:05Z",
              "updated_at": "2026-01-02T03:04:05Z", "html_url": "https://github.com/o/r/pull/7", "user": {"login": "alice"},
              "head": {"ref": "feature", "sha": "0123456789012345678901234567890123456789"}, "base": {"ref": "main"}},
             {"number": 8, "title": "PROJ-2", "state": "closed", "merged_at": null, "updated_at": "2026-01-02T03:04:05Z"},
             {"number": 1e300, "title": "PROJ-3"}, {"number": -4, "title": "PROJ-4"}, {"title": "no number"}, "text", null]
            """#)
        let prs = Listings.mergeRequests(github, project: Self.github, limit: 100)
        #expect(prs.map(\.iid) == [7, 8])
        #expect(prs.map { $0.details?.state } == [.merged, .closed])
        #expect(prs[0].url == "https://github.com/o/r/pull/7" && prs[0].sourceBranch == "feature")
        #expect(Listings.mergeRequests(github, project: Self.github, limit: 1).count == 1, "cut to what the page may still read")
        let gitlab = try Self.list(
            #"""
            [{"iid": 3, "title": "x", "description": "PROJ-9", "state": "merged", "updated_at": "2026-01-02T03:04:05.000Z",
              "web_url": "javascript:alert(1)", "author": {"name": "Alice", "username": "alice"}, "user_notes_count": 1e300,
              "source_branch": "f", "target_branch": "main", "sha": "not a sha"}]
            """#)
        let mrs = Listings.mergeRequests(gitlab, project: Self.gitlab, limit: 100)
        #expect(mrs.count == 1)
        #expect(mrs.first?.url == "https://gitlab.example.com/acme/shop/-/merge_requests/3", "only a web address becomes a link")
        #expect(mrs.first?.lastCommitID == nil && mrs.first?.details?.commentCount == 0 && mrs.first?.details?.state == .merged)
        let branches = try Self.list(
            #"""
            [{"name": "feature/PROJ-1", "commit": {"sha": "0123456789012345678901234567890123456789"}},
             {"name": "bad", "commit": {"sha": "not a sha"}}, {"name": "", "commit": {}}, {"commit": {}}]
            """#)
        #expect(Listings.branches(branches, project: Self.github, limit: 100) == [Backfill.BranchHead(name: "feature/PROJ-1", head: nil)])
        #expect(Listings.mergeRequests(.object([:]), project: Self.github, limit: 100).isEmpty, "an answer that is no list reads nothing")
    }

    @Test("a page sends what names a key and was not sent before: a merge request that moved to the next page is not sent twice")
    func pageShift() throws {
        let page = (1...5).map { i in
            MergeRequestEvent(
                project: Self.gitlab, iid: Int64(i), title: i == 3 ? "no key" : "PROJ-\(i) change", description: "", action: .update,
                sourceBranch: "b\(i)", targetBranch: "main", lastCommitID: nil, url: "https://gitlab.example.com/acme/shop/-/merge_requests/\(i)",
                user: ForgeUser(name: "A", username: "a"))
        }
        let (first, ids) = Backfill.repository(project: Self.gitlab, mergeRequests: page, branches: [], sent: [], extractor: Self.extractor)
        #expect(first?.pullRequests.map(\.id) == ["1", "2", "4", "5"])
        #expect(ids == ["mr:1", "mr:2", "mr:4", "mr:5"])
        // The next page starts with the last one again (an update moved everything down by one).
        let (second, more) = Backfill.repository(
            project: Self.gitlab, mergeRequests: Array(page.suffix(1)), branches: [], sent: Set(ids), extractor: Self.extractor)
        #expect(second == nil && more.isEmpty)
        let body = Backfill.body(first!)
        #expect(body["operationType"] == .string("BACKFILL"))
        #expect(body["preventTransitions"] == .bool(true))
    }

    @Test("pages follow each other up to 400 items, then the branches, then the end")
    func chain() {
        var work = BackfillWork.start(run: 5, repositoryID: "gitlab-42")
        var seen: [String] = []
        while let next = work.next(count: work.wanted(pageSize: 100), full: true, ids: []) {
            seen.append(next.summary)
            work = next
        }
        #expect(
            seen == [
                "merge requests, page 2", "merge requests, page 3", "merge requests, page 4", "branches, page 1", "branches, page 2",
                "branches, page 3", "branches, page 4",
            ])
        // A short page ends its phase at once.
        #expect(BackfillWork.start(run: 5, repositoryID: "x").next(count: 12, full: false, ids: ["mr:1"])?.phase == .branches)
        #expect(BackfillWork(run: 5, repositoryID: "x", phase: .branches, page: 1, read: 0, sent: []).next(count: 3, full: false, ids: []) == nil)
        // Each page is its own delivery, once per run.
        #expect(work.planned().dedupeKey == "backfill|5|branches|4" && work.planned().issueKey == "backfill gitlab-42")
    }
}
