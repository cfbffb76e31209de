import Integration
import Testing

/// GitLab's Jira texts, escaped and cut.
@Suite("Texts")
struct TextsTests {
    let project = ForgeProject(
        id: 1, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme",
        webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")

    @Test("the mention comment of a merge request, with no branch")
    func mergeRequestMention() {
        let text = Texts.mention(
            author: ForgeUser(name: "Jane", username: "jane"), forgeBaseURL: "https://gitlab.example.com", entity: .mergeRequest,
            entityURL: "https://gitlab.example.com/acme/shop/-/merge_requests/7", project: project, branch: nil, title: "Add login\n")
        #expect(
            text
                == "[Jane|https://gitlab.example.com/jane] mentioned this issue in [a merge request|https://gitlab.example.com/acme/shop/-/merge_requests/7] of [Acme / Shop|https://gitlab.example.com/acme/shop]:{quote}Add login{quote}"
        )
    }

    @Test("a project without a namespace name is named alone")
    func fullName() {
        var top = project
        top.namespaceName = ""
        #expect(top.fullName == "Shop")
        #expect(project.fullName == "Acme / Shop")
        #expect(project.forgeBaseURL == "https://gitlab.example.com")
    }

    @Test("branch and user names become path segments; slashes stay")
    func segments() {
        #expect(Texts.pathSegment("feature/login page") == "feature/login%20page")
        #expect(Texts.pathSegment("ümlaut") == "%C3%BCmlaut")
        #expect(Texts.queryValue("a b&c/d") == "a%20b%26c%2Fd")
    }

    @Test("link titles: the entity, a dash and the title's first line, at most 255 characters")
    func linkTitles() {
        #expect(Texts.linkTitle(entity: .commit, title: "Fix\n") == "Commit - Fix")
        let long = Texts.linkTitle(entity: .mergeRequest, title: String(repeating: "x", count: 1_000))
        #expect(long.count == 255 && long.hasSuffix("…") && long.hasPrefix("Merge request - "))
    }

    @Test("the solved comment and link title")
    func solved() {
        #expect(Texts.solved(commitID: "abc", commitURL: "https://g/c/abc") == "Issue solved with [abc|https://g/c/abc].")
        #expect(Texts.solvedLinkTitle(commitID: "abc") == "Solved by commit abc.")
    }

    @Test("cutting keeps short texts and marks cut ones with an ellipsis, counting characters not bytes")
    func cutting() {
        #expect(Texts.cut("short", to: 10) == "short")
        #expect(Texts.cut("ééééé", to: 5) == "ééééé", "10 bytes, 5 characters: not cut")
        #expect(Texts.cut("abcdef", to: 4) == "abc…")
    }

    @Test("a comment never exceeds Jira's limit, whatever the title")
    func commentLimit() {
        let text = Texts.mention(
            author: ForgeUser(name: String(repeating: "n", count: 40_000), username: "u"), forgeBaseURL: "https://g",
            entity: .commit, entityURL: "https://g/c", project: project, branch: "main", title: String(repeating: "t", count: 40_000))
        #expect(text.count <= Texts.maxCommentCharacters)
    }

    @Test("remote link global ids stay under Jira's 255 characters with a stable digest")
    func globalIDs() {
        #expect(RemoteLinkSpec.globalID(for: "https://g/c") == "https://g/c")
        let long = "https://g/" + String(repeating: "p", count: 300)
        let id = RemoteLinkSpec.globalID(for: long)
        #expect(id.hasPrefix("jira-bridge:fnv128:") && id.utf8.count < 255)
        #expect(id == RemoteLinkSpec.globalID(for: long))
        #expect(StableHash.hex("") == StableHash().hex && StableHash.hex("a") != StableHash.hex("b"))
    }

    @Test("a digest fed in parts equals the digest of the whole")
    func hashInParts() {
        var h = StableHash()
        h.add("commit|")
        h.add("message")
        #expect(h.hex == StableHash.hex("commit|message"))
        #expect(h.hex.count == 32)
    }
}
