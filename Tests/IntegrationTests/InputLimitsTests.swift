import Integration
import Testing

/// The core's defences against hostile input: checked numbers, clamped pages, limits per event, and
/// forge text that cannot change Jira's markup.
@Suite("Input limits")
struct InputLimitsTests {
    @Test(
        "numbers convert only when they are whole and exact",
        arguments: [
            (1e300, nil), (-1e300, nil), (Double.nan, nil), (Double.infinity, nil), (1.5, nil), (1e16, nil),
            (42, 42), (-7, -7), (0, 0), (9_007_199_254_740_991, 9_007_199_254_740_991), (9_007_199_254_740_992, nil),
        ] as [(Double, Int64?)])
    func exactIntegers(_ value: Double, _ expected: Int64?) {
        #expect(value.exactInteger == expected)
        #expect(JSONValue.number(value).integer == expected)
    }

    @Test("a number that is no integer keeps its text instead of trapping")
    func parameterText() {
        #expect(1e300.parameterText == "1e+300")
        #expect(Double(12).parameterText == "12")
        #expect(JSONValue.number(1e300).idString == nil)
    }

    @Test("pages clamp as GitLab's do; text that is no number is refused by name")
    func pages() throws {
        let huge = try PageRequest.parse(page: "9223372036854775807", perPage: "9223372036854775807")
        #expect(huge.page == PageRequest.maxPage && huge.perPage == 100)
        #expect(huge.offset == (PageRequest.maxPage - 1) * 100)
        #expect(!huge.hasNext(total: 1_000) && huge.hasNext(total: Int.max / 2))
        let beyond = try PageRequest.parse(page: "99999999999999999999999", perPage: "-5")
        #expect(beyond.page == PageRequest.maxPage && beyond.perPage == 20)
        #expect(try PageRequest.parse(page: "0", perPage: "0") == PageRequest(page: 1, perPage: 20))
        #expect(try PageRequest.parse(page: nil, perPage: nil, defaultPerPage: 50) == PageRequest(page: 1, perPage: 50))
        #expect(try PageRequest.parse(page: " 3 ", perPage: "10").offset == 20)
        #expect(throws: ParameterError(name: "page", problem: "is invalid")) { try PageRequest.parse(page: "1e3", perPage: nil) }
        #expect(throws: ParameterError(name: "per_page", problem: "is invalid")) { try PageRequest.parse(page: nil, perPage: "ten") }
        #expect(PageRequest(page: 1, perPage: 20).pageCount(total: 0) == 1)
        #expect(PageRequest(page: 1, perPage: 20).pageCount(total: 41) == 3)
    }

    @Test("a line number outside 0...2^31 in a report is refused with its field")
    func reportNumbers() throws {
        let report: JSONValue = .object([
            "version": .string("15.0.0"),
            "scan": .object(["type": .string("sast"), "scanner": .object(["id": .string("semgrep"), "name": .string("Semgrep")])]),
            "vulnerabilities": .array([
                .object([
                    "id": .string("1"), "name": .string("XSS"), "severity": .string("High"),
                    "identifiers": .array([.object(["type": .string("cwe"), "name": .string("CWE-79"), "value": .string("79")])]),
                    "location": .object(["file": .string("app.js"), "start_line": .number(1e300)]),
                ])
            ]),
        ])
        #expect(throws: SecurityReport.Invalid.self) { try SecurityReport.parse(report) }
        do { _ = try SecurityReport.parse(report) } catch { #expect(error.description.contains("vulnerabilities[0].location.start_line")) }
    }

    // MARK: Limits per event

    func planner(comments: Bool = true) throws -> EventPlanner {
        var settings = JiraSettings()
        settings.active = true
        settings.url = "https://jira.example.com"
        settings.commentOnEventEnabled = comments
        return EventPlanner(settings: settings, extractor: try ReferenceExtractor(prefix: "", regex: ""))
    }

    func push(_ commits: [ForgeCommit], omitted: Int? = nil) -> ForgeEvent {
        let project = ForgeProject(
            id: 42, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme",
            webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")
        return .push(
            PushEvent(
                project: project, ref: "refs/heads/feature", before: "", after: "abc", commits: commits,
                pusher: ForgeUser(name: "Jane", username: "jane", email: nil), omittedCommits: omitted))
    }

    @Test("one commit that names 200,000 keys plans 500 of them, with a note, and titles cut to Jira's limits")
    func keysPerCommit() throws {
        let message = (1...200_000).map { "PROJ-\($0)" }.joined(separator: " ")
        let commit = ForgeCommit(
            id: "abc123", message: message, url: "https://gitlab.example.com/acme/shop/-/commit/abc123", authorName: "Jane", authorEmail: nil)
        let result = try planner().planWithNotes(push([commit]))
        #expect(Set(result.deliveries.map(\.issueKey)).count == EventLimits.keysPerEntity)
        #expect(result.deliveries.count == 2 * EventLimits.keysPerEntity, "a link and a comment each")
        #expect(result.notes.count == 1 && result.notes[0].contains("200000 Jira keys"))
        for d in result.deliveries {
            switch d.work {
            case .comment(let body): #expect(body.count <= Texts.maxCommentCharacters)
            case .remoteLink(let link): #expect(link.title.count <= Texts.maxLinkTitleCharacters)
            case .transition: Issue.record("no transition off the default branch")
            case .developmentInfo, .cloudData, .commitStatus, .backfill, .catchUp, .worklog:
                Issue.record("the Development panel, Builds, Deployments and checks are off")
            }
        }
    }

    @Test("an event plans at most 2,000 deliveries; omitted commits are noted")
    func deliveriesPerEvent() throws {
        let commits = (0..<100).map { i in
            ForgeCommit(
                id: "c\(i)", message: (1...30).map { "K\(i)X-\($0)" }.joined(separator: " "), url: "https://gitlab.example.com/c",
                authorName: "Jane", authorEmail: nil)
        }
        let result = try planner().planWithNotes(push(commits, omitted: 9_900))
        #expect(result.deliveries.count == EventLimits.deliveriesPerEvent)
        #expect(result.notes.contains { $0.contains("9900 commits after the first 100") })
        #expect(result.notes.contains { $0.contains("deliveries beyond the first 2000") })
    }

    // MARK: Untrusted text in Jira markup

    @Test("names, branches and titles cannot change the wiki markup; URLs cannot end a link")
    func wikiEscaping() {
        let project = ForgeProject(
            id: 1, pathWithNamespace: "acme/shop", name: "Sh|op]", namespaceName: "Ac[me",
            webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main")
        let text = Texts.mention(
            author: ForgeUser(name: "Eve|x]", username: "eve] [x", email: nil), forgeBaseURL: "https://gitlab.example.com",
            entity: .commit, entityURL: "https://gitlab.example.com/acme/shop/-/commit/abc|d]",
            project: project, branch: "fix|it]", title: "Fix {quote}{html}<script>{html} [PROJ-1]")
        #expect(
            text.hasPrefix(
                "[Eve\\|x\\]|https://gitlab.example.com/eve%5D%20%5Bx] mentioned this issue in [a commit|https://gitlab.example.com/acme/shop/-/commit/abc%7Cd%5D]"
            ))
        #expect(text.contains("on branch [fix\\|it\\]|https://gitlab.example.com/acme/shop/-/tree/fix%7Cit%5D]"))
        #expect(text.hasSuffix(":{quote}Fix \\{quote\\}\\{html\\}<script>\\{html\\} [PROJ-1]{quote}"))
        // Plain names and titles read exactly as GitLab's texts.
        let plain = Texts.mention(
            author: ForgeUser(name: "Jane Doe", username: "jane", email: nil), forgeBaseURL: "https://gitlab.example.com",
            entity: .commit, entityURL: "https://gitlab.example.com/acme/shop/-/commit/abc",
            project: ForgeProject(
                id: 1, pathWithNamespace: "acme/shop", name: "Shop", namespaceName: "Acme",
                webURL: "https://gitlab.example.com/acme/shop", defaultBranch: "main"),
            branch: "main", title: "Fix login")
        #expect(
            plain
                == "[Jane Doe|https://gitlab.example.com/jane] mentioned this issue in [a commit|https://gitlab.example.com/acme/shop/-/commit/abc] of [Acme / Shop|https://gitlab.example.com/acme/shop] on branch [main|https://gitlab.example.com/acme/shop/-/tree/main]:{quote}Fix login{quote}"
        )
    }

    @Test(
        "only plain http(s) URLs pass; commit ids are letters and digits",
        arguments: [
            ("https://gitlab.example.com/a", true), ("http://x.example/a?b=c", true), ("javascript:alert(document.cookie)//", false),
            ("data:text/html,x", false), ("https://exa mple.com", false), ("//evil.com", false), ("https://ok.example/\n", false), ("", false),
        ])
    func webURLs(_ url: String, _ ok: Bool) {
        #expect(EventLimits.isWebURL(url) == ok)
    }

    @Test("commit ids")
    func commitIDs() {
        #expect(EventLimits.isCommitID("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"))
        #expect(!EventLimits.isCommitID("abc]|x"))
        #expect(!EventLimits.isCommitID(String(repeating: "a", count: 65)))
        #expect(!EventLimits.isCommitID(""))
    }

    // MARK: Retries

    @Test("with the default policy a write of unknown outcome is re-checked no sooner than 120 s")
    func uncertainWriteDefault() {
        let policy = RetryPolicy()
        for attempts in 1...5 {
            guard case .retry(let seconds) = policy.decide(.uncertainWrite, attempts: attempts, ageSeconds: 0, random: 0) else {
                Issue.record("an uncertain write is retried")
                continue
            }
            #expect(seconds >= 120)
        }
        guard case .retry(let plain) = policy.decide(.transient(retryAfterSeconds: nil), attempts: 1, ageSeconds: 0, random: 0) else {
            Issue.record("a transient failure is retried"); return
        }
        #expect(plain < 120, "other transient failures keep the short backoff")
    }
}
