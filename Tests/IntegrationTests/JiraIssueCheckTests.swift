import Integration
import Testing

/// The Jira issue checks' decisions, from commits and Jira's answers (GitLab's "Jira verification" rules).
@Suite("Jira issue checks")
struct JiraIssueCheckTests {
    static let all = JiraIssueCheck.Rules(requireKey: true, exists: true, assignee: true, status: true, allowedStatuses: ["In Progress", "Review"])

    static func commit(_ key: String?, name: String = "John Smith", email: String? = "john@example.com") -> JiraIssueCheck.Commit {
        JiraIssueCheck.Commit(sha: "3f9a2b1c0d", title: "a change", key: key, authorName: name, authorEmail: email)
    }

    static func issue(status: String = "In Progress", name: String? = nil, email: String? = nil) -> JiraIssueCheck.Issue {
        JiraIssueCheck.Issue(exists: true, status: status, assigneeName: name, assigneeEmail: email)
    }

    @Test("each rule passes and fails on its own")
    func eachRule() {
        let missing = JiraIssueCheck.Issue(exists: false, status: nil, assigneeName: nil, assigneeEmail: nil)
        #expect(JiraIssueCheck.failure(Self.commit(nil), issue: nil, rules: Self.all) == "3f9a2b1c mentions no Jira issue")
        #expect(JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: missing, rules: Self.all) == "3f9a2b1c: PROJ-1 does not exist in Jira")
        #expect(
            JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: Self.issue(status: "Done"), rules: Self.all)
                == "3f9a2b1c: PROJ-1 is in Done, not In Progress or Review")
        #expect(JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: Self.issue(status: "review"), rules: Self.all) == nil, "status without case")
        #expect(JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: Self.issue(), rules: Self.all) == nil, "unassigned passes")
        #expect(
            JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: Self.issue(name: "Alice Adams", email: "alice@example.com"), rules: Self.all)
                == "3f9a2b1c: PROJ-1 is assigned to Alice Adams, not to John Smith")
        #expect(
            JiraIssueCheck.failure(
                Self.commit("PROJ-1", name: "x", email: "ALICE@example.com"), issue: Self.issue(name: "Alice Adams", email: "alice@example.com"),
                rules: Self.all) == nil, "by e-mail, without case")
        #expect(
            JiraIssueCheck.failure(Self.commit("PROJ-1", name: "Alice Adams", email: nil), issue: Self.issue(name: "Alice Adams"), rules: Self.all)
                == nil, "by display name (Jira Cloud hides e-mails)")
    }

    @Test("rules that are off ask nothing: the key rule alone needs no Jira answer; no rule at all passes everything")
    func rulesOff() {
        let keyOnly = JiraIssueCheck.Rules(requireKey: true, exists: false, assignee: false, status: false, allowedStatuses: [])
        #expect(!keyOnly.needsJira && keyOnly.active)
        #expect(JiraIssueCheck.failure(Self.commit("PROJ-1"), issue: nil, rules: keyOnly) == nil)
        let none = JiraIssueCheck.Rules(requireKey: false, exists: false, assignee: false, status: false, allowedStatuses: [])
        #expect(!none.active)
        #expect(JiraIssueCheck.failure(Self.commit(nil), issue: nil, rules: none) == nil)
    }

    @Test("a push checks each commit's first key; the conclusion names the first failure and counts them")
    func conclusion() throws {
        let extractor = try ReferenceExtractor()
        let project = ForgeProject(id: 1, pathWithNamespace: "a/b", name: "b", namespaceName: "a", webURL: "https://g/a/b", defaultBranch: "main")
        let push = PushEvent(
            project: project, ref: "refs/heads/main", before: "", after: String(repeating: "b", count: 40),
            commits: [
                ForgeCommit(
                    id: String(repeating: "a", count: 40), message: "OPS-2 and PROJ-1", url: "https://g/c", authorName: "A", authorEmail: nil),
                ForgeCommit(id: String(repeating: "b", count: 40), message: "no key", url: "https://g/c", authorName: "A", authorEmail: nil),
            ], pusher: ForgeUser(name: "A", username: "a"))
        let commits = JiraIssueCheck.commits(push, extractor: extractor)
        #expect(commits.map(\.key) == ["OPS-2", nil])
        #expect(JiraIssueCheck.conclusion([nil, nil], checked: 2) == (true, "All 2 commits name a valid Jira issue"))
        #expect(JiraIssueCheck.conclusion([nil, "x"], checked: 2) == (false, "x"))
        #expect(JiraIssueCheck.conclusion(["x", "y"], checked: 3) == (false, "2 of 3 commits fail; first: x"))
    }

    @Test("allowed statuses are split at commas, stripped, without blanks or repeats; status checks need one")
    func allowedStatuses() {
        #expect(JiraIssueCheck.allowedStatuses(" In Progress, ,Review,In Progress ,") == ["In Progress", "Review"])
        var s = JiraSettings()
        s.jiraStatusCheckEnabled = true
        s.jiraAllowedStatuses = " , "
        #expect(SettingsValidator(allowLocalRequests: false).validate(s).messages(for: "jira_allowed_statuses_as_string") == ["can't be blank"])
    }

    @Test("an issue key from Jira's webhook: a project key, a hyphen, a number")
    func issueKeys() {
        for good in ["PROJ-1", "AB_2-10", "a1-7"] { #expect(JiraIssueCheck.isIssueKey(good), "\(good)") }
        for bad in ["", "PROJ", "PROJ-", "-1", "1A-1", "PROJ-1a", "PR OJ-1", "PROJ-1\n", String(repeating: "A", count: 300) + "-1"] {
            #expect(!JiraIssueCheck.isIssueKey(bad), "\(bad)")
        }
    }
}
