import Integration
import Testing

@Suite("Branch names for Create branch")
struct BranchNameTests {
    @Test("the suggestion is the key and the summary as a slug: accents dropped, lowercased, one hyphen between words, cut at a word")
    func suggested() {
        #expect(BranchName.suggested(key: "PROJ-1", summary: "Log in with SSO (été)") == "PROJ-1-log-in-with-sso-ete")
        #expect(BranchName.suggested(key: "PROJ-1", summary: "  --  ") == "PROJ-1")
        #expect(BranchName.suggested(key: "PROJ-1", summary: "日本語のタイトル") == "PROJ-1", "letters git takes but nobody can type are left out")
        let long = BranchName.suggested(key: "PROJ-12", summary: String(repeating: "word ", count: 100))
        #expect(long.count <= BranchName.suggestedLength && long.hasPrefix("PROJ-12-word-") && !long.hasSuffix("-"))
        #expect(BranchName.problem(BranchName.suggested(key: "A-1", summary: String(repeating: "x", count: 25_000_000 / 1000))) == nil)
    }

    @Test("git's rules for a branch name are checked before the forge is asked")
    func problems() {
        for bad in [
            "", "a..b", "a b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b", "-a", "/a", "a/", "a.", "a.lock", "a//b", "a@{b", "@",
            "a/.b", String(repeating: "a", count: 256), "a\u{7f}b", "a\nb",
        ] {
            #expect(BranchName.problem(bad) != nil, "\(bad.debugDescription)")
        }
        for good in ["PROJ-1-login", "feature/PROJ-1", "a.b", "release/1.2", "été"] { #expect(BranchName.problem(good) == nil, "\(good)") }
    }

    @Test("a Jira issue key: a project key that starts with a letter, a hyphen, a number")
    func keys() {
        #expect(BranchName.isIssueKey("PROJ-1") && BranchName.isIssueKey("AB_2-99") && BranchName.isIssueKey("A-1"))
        for bad in ["", "PROJ", "PROJ-", "-1", "1A-1", "PR OJ-1", "PROJ-1a", "<script>-1", "PROJ-99999999999999999999", "ÉTÉ-1"] {
            #expect(!BranchName.isIssueKey(bad), "\(bad)")
        }
        #expect(BranchName.projectKey("AB_2-99") == "AB_2")
    }
}
