import Integration
import Testing

/// What differs between forges, and how their projects are kept apart.
@Suite("Forges")
struct ForgeTests {
    @Test("commit, change and branch URLs per forge")
    func urls() {
        #expect(Forge.gitlab.commitURL(project: "https://g/a/b", sha: "abc") == "https://g/a/b/-/commit/abc")
        #expect(Forge.github.commitURL(project: "https://github.com/a/b", sha: "abc") == "https://github.com/a/b/commit/abc")
        #expect(Forge.gitea.commitURL(project: "https://t/a/b", sha: "abc") == "https://t/a/b/commit/abc")
        #expect(Forge.gitlab.changeURL(project: "https://g/a/b", number: 7) == "https://g/a/b/-/merge_requests/7")
        #expect(Forge.github.changeURL(project: "https://github.com/a/b", number: 7) == "https://github.com/a/b/pull/7")
        #expect(Forge.gitea.changeURL(project: "https://t/a/b", number: 7) == "https://t/a/b/pulls/7")
        #expect(Forge.github.branchURL(project: "https://github.com/a/b", branch: "feat/x y") == "https://github.com/a/b/tree/feat/x%20y")
        #expect(Forge.gitea.branchURL(project: "https://t/a/b", branch: "dev") == "https://t/a/b/src/branch/dev")
    }

    @Test("words: merge request on GitLab, pull request elsewhere")
    func words() {
        #expect(Forge.gitlab.changeReference == "a merge request" && Forge.github.changeReference == "a pull request")
        #expect(
            Forge.gitea.changeTitle == "Pull request" && Forge.gitlab.changeName(7) == "Merge request !7"
                && Forge.github.changeName(7) == "Pull request #7")
        #expect(Forge.allCases.map(\.displayName) == ["GitLab", "GitHub", "Gitea"])
    }

    @Test(
        "merge commits of changes are recognised per forge, and only those",
        arguments: [
            (Forge.gitlab, "Merge branch 'f' into 'main'\n\nCloses PROJ-1\n\nSee merge request acme/shop!7", true),
            (Forge.gitlab, "Fix PROJ-1\n\nSee merge request acme/shop!x", false),
            (Forge.github, "Merge pull request #12 from octo/feature\n\nCloses PROJ-1", true),
            (Forge.github, "Merge pull request #twelve from octo/feature", false),
            (Forge.github, "Closes PROJ-1 (#12)", false),
            (Forge.gitea, "Merge pull request 'Closes PROJ-1' (#3) from feature into main", true),
            (Forge.gitea, "Merge pull request 'It's (#2) done' (#3) from feature into main", true),
            (Forge.gitea, "Merge pull request 'x' from feature", false),
            (Forge.gitea, "Merge pull request #3 from feature", false),
        ])
    func mergeCommits(_ forge: Forge, _ message: String, _ expected: Bool) {
        #expect(forge.isChangeMergeCommit(message) == expected)
    }

    @Test("storage ids: GitLab keeps its ids, others get negative ones that never meet and map back")
    func storageIDs() {
        #expect(Forge.gitlab.storageID(forgeID: 42) == 42)
        let github = Forge.github.storageID(forgeID: 42)!
        let gitea = Forge.gitea.storageID(forgeID: 42)!
        #expect(github < 0 && gitea < 0 && github != gitea)
        #expect(Forge.identity(storageID: github)! == (.github, 42))
        #expect(Forge.identity(storageID: gitea)! == (.gitea, 42))
        #expect(Forge.identity(storageID: 42)! == (.gitlab, 42))
        #expect(Forge.address(storageID: github) == "github:42" && Forge.address(storageID: 42) == "42")
    }

    @Test("ids out of range have no storage id", arguments: [Int64(0), -1, Int64.max, Int64.max / 4 + 1])
    func outOfRange(_ id: Int64) {
        #expect(Forge.github.storageID(forgeID: id) == nil)
        #expect(Forge.identity(storageID: Int64.min) == nil)
        #expect(Forge.identity(storageID: 0) == nil)
        #expect(Forge.identity(storageID: -4) == nil, "no forge code 0")
    }

    @Test("qualified paths keep forges apart and split back; GitLab's stay as they are")
    func qualifiedPaths() {
        #expect(Forge.github.qualifiedPath("acme/shop") == "github:acme/shop")
        #expect(Forge.gitlab.qualifiedPath("acme/shop") == "acme/shop")
        #expect(Forge.split(qualifiedPath: "github:acme/shop") == (.github, "acme/shop"))
        #expect(Forge.split(qualifiedPath: "gitea:acme") == (.gitea, "acme"))
        #expect(Forge.split(qualifiedPath: "acme/shop") == (.gitlab, "acme/shop"))
        #expect(Forge.split(qualifiedPath: "gitlab:acme") == (.gitlab, "gitlab:acme"), "gitlab: is no prefix")
        #expect(Forge.split(qualifiedPath: "nope:acme") == (.gitlab, "nope:acme"))
        #expect(Namespace.paths(from: Namespace.of("github:acme/web/shop")!) == ["github:acme/web", "github:acme"])
    }

    @Test("references in URLs: GitLab's plain form, other forges with their prefix")
    func references() {
        #expect(Forge.reference("github:123456") == (.github, "123456"))
        #expect(Forge.reference("gitea:acme/shop") == (.gitea, "acme/shop"))
        #expect(Forge.reference("42") == (.gitlab, "42"))
    }

    @Test("a webhook's repository registers under its storage id and qualified path")
    func registration() {
        let project = ForgeProject(
            id: 7, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "acme",
            webURL: "https://github.com/acme/shop", defaultBranch: "main", forge: .github)
        let r = ProjectRegistration(project)!
        #expect(r.id == Forge.github.storageID(forgeID: 7) && r.pathWithNamespace == "github:acme/shop" && r.namespace == "github:acme")
        var huge = project
        huge.id = .max
        #expect(ProjectRegistration(huge) == nil)
    }

    @Test("a GitHub mention: GitHub's user URL, pull request words and the forge's icon title")
    func planning() throws {
        var settings = JiraSettings()
        settings.active = true
        settings.url = "https://jira.example.com"
        let planner = EventPlanner(settings: settings, extractor: try ReferenceExtractor())
        let project = ForgeProject(
            id: 7, pathWithNamespace: "acme/shop", name: "shop", namespaceName: "acme",
            webURL: "https://github.com/acme/shop", defaultBranch: "main", forge: .github)
        let planned = planner.plan(
            .mergeRequest(
                MergeRequestEvent(
                    project: project, iid: 3, title: "PROJ-1 Add", description: "", action: .open,
                    sourceBranch: "f", targetBranch: "main", lastCommitID: nil,
                    url: "https://github.com/acme/shop/pull/3", user: ForgeUser(name: "octo", username: "octo"))))
        guard case .remoteLink(let link) = planned[0].work, case .comment(let body) = planned[1].work else { Issue.record("shape"); return }
        #expect(link.url == "https://github.com/acme/shop/pull/3" && link.title == "Pull request - PROJ-1 Add" && link.iconTitle == "GitHub")
        #expect(link.iconURL == "https://github.com/favicon.ico")
        #expect(
            body.hasPrefix(
                "[octo|https://github.com/octo] mentioned this issue in [a pull request|https://github.com/acme/shop/pull/3] of [acme / shop|https://github.com/acme/shop] on branch [f|https://github.com/acme/shop/tree/f]"
            ))
    }
}
