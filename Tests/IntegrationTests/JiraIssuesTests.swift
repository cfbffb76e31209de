import Integration
import Testing

@Suite("Jira issues list: JQL and sanitising")
struct JiraIssuesTests {
    func query(_ build: (inout JiraIssueQuery) -> Void) -> String {
        var q = JiraIssueQuery()
        build(&q)
        return q.jql
    }

    @Test("no filter: only the order")
    func empty() {
        #expect(query { _ in } == "order by created DESC")
    }

    @Test("GitLab's example, with the project keys quoted")
    func example() {
        #expect(
            query {
                $0.projectKeys = ["PROJECT_KEY", "FOO", "BAR"]; $0.state = "opened"
            }
                == #"project in ("PROJECT_KEY","FOO","BAR") AND statusCategory != Done order by created DESC"#)
    }

    @Test("a project key that is a reserved JQL word is quoted")
    func reservedWord() {
        #expect(query { $0.projectKeys = ["AND", "ORDER"] } == #"project in ("AND","ORDER") order by created DESC"#)
    }

    @Test("every clause, in GitLab's order")
    func allClauses() {
        let jql = query {
            $0.issueIDs = ["1", "25"]; $0.vulnerabilityIDs = [1, 25]; $0.search = "Login  Bug"; $0.state = "closed"
            $0.assignee = "Bob"; $0.reporter = "Alice"; $0.status = "In Progress"; $0.labels = ["backend", "urgent"]
            $0.projectKeys = ["PROJ"]; $0.sort = "updated_asc"
        }
        #expect(
            jql
                == #"project in ("PROJ") AND labels = "backend" AND labels = "urgent" AND status = "In Progress" AND reporter = "Alice" AND assignee = "Bob" AND statusCategory = Done AND (summary ~ "login bug" OR description ~ "login bug") AND (description ~ "/-/security/vulnerabilities/1" OR description ~ "/-/security/vulnerabilities/25") AND (id = 1 OR id = 25) order by updated ASC"#
        )
    }

    @Test("quotes in labels are escaped (GitLab's example)")
    func labelQuoting() {
        #expect(query { $0.labels = [#"'try"some'more"quote'here"#] } == #"labels = "'try\"some'more\"quote'here" order by created DESC"#)
        #expect(query { $0.labels = [#"back\slash"#] } == #"labels = "back\\slash" order by created DESC"#)
    }

    @Test(
        "sort values",
        arguments: [
            ("created_date", "created DESC"), ("created_desc", "created DESC"), ("created_asc", "created ASC"),
            ("updated_desc", "updated DESC"), ("updated_asc", "updated ASC"), ("priority", "created DESC"), ("", "created DESC"),
        ])
    func sorts(_ sort: String, _ expected: String) {
        #expect(query { $0.sort = sort } == "order by \(expected)")
    }

    @Test("state values other than opened and closed add nothing")
    func states() {
        #expect(query { $0.state = "all" } == "order by created DESC")
    }

    @Test("the search text loses GitLab's special characters, is lower-cased and its spaces collapsed")
    func search() {
        #expect(JiraIssueQuery.cleanedSearch(#"  Fix "login" + crash, (now)?; a|b*c/d%e^f$g#h@i[j]k\l.  "#) == "fix login crash (now) abcdefghijkl")
        #expect(query { $0.search = "\"*?\"" } == "order by created DESC", "nothing left: no clause")
    }

    @Test(
        "hostile HTML is neutralised",
        arguments: [
            ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
            ("<SCRIPT SRC=//x.example/x.js></SCRIPT>text", "text"),
            ("<img src=x onerror=alert(1)>", "<img>"),
            ("<img src=\"javascript:alert(1)\">", "<img>"),
            ("<a href=\"javascript:alert(1)\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            ("<a href=\"JaVaScRiPt:alert(1)\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            ("<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            ("<a href=\"  javascript&colon;alert(1)\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            ("<a href=\"data:text/html,<script>alert(1)</script>\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            (
                "<a href=\"https://jira.example.com/browse/A-1\" onclick=\"x()\">A-1</a>",
                "<a href=\"https://jira.example.com/browse/A-1\" rel=\"noopener noreferrer nofollow\">A-1</a>"
            ),
            ("<a href=\"/browse/A-1?x=1:2\">rel</a>", "<a rel=\"noopener noreferrer nofollow\">rel</a>"),
            ("<svg onload=alert(1)><circle/></svg>after", "after"),
            ("<iframe src=\"https://evil.example\"></iframe>", ""),
            ("<p style=\"background:url(javascript:alert(1))\">styled</p>", "<p>styled</p>"),
            ("<!-- <script>alert(1)</script> -->kept", "kept"),
            ("<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"),
            ("<b>unclosed <i>tags", "<b>unclosed <i>tags</i></b>"),
            ("</p>stray close", "stray close"),
            ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
            ("&lt;script&gt; stays text", "&lt;script&gt; stays text"),
            ("<form action=/x><input name=a></form>", ""),
            ("<p title='a\"b'>q</p>", "<p>q</p>"),
            ("<a title='a\"b'>q</a>", "<a title=\"a&quot;b\" rel=\"noopener noreferrer nofollow\">q</a>"),
            ("<table><tr><td colspan=2 onmouseover=x>c</td></tr></table>", "<table><tr><td colspan=\"2\">c</td></tr></table>"),
            ("<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>y", "y"),
            ("<img src=\"data:image/png;base64,AAAA\">", "<img>"),
            ("<p>unterminated <a href=\"x\"", "<p>unterminated &lt;a href=&quot;x&quot;</p>"),
        ])
    func sanitiser(_ input: String, _ expected: String) {
        #expect(HTMLSanitizer.sanitize(input) == expected)
    }

    @Test(
        "relative links point at Jira, never at jira-bridge; links to jira-bridge's own origin are dropped",
        arguments: [
            ("<img src=\"/secure/attachment/1/a.png\">", "<img src=\"https://jira.example.com/secure/attachment/1/a.png\">"),
            ("<img src=\"a.png\">", "<img src=\"https://jira.example.com/jira/a.png\">"),
            (
                "<a href=\"/browse/A-1?x=1:2\">rel</a>",
                "<a href=\"https://jira.example.com/browse/A-1?x=1:2\" rel=\"noopener noreferrer nofollow\">rel</a>"
            ),
            ("<a href=\"#top\">top</a>", "<a href=\"#top\" rel=\"noopener noreferrer nofollow\">top</a>"),
            ("<img src=\"//bridge.example.com/api/v4/projects/1/integrations/jira/deliveries?page=9223372036854775807\">", "<img>"),
            ("<img src=\"https://Bridge.example.com/api/v4/projects?page=1\">", "<img>"),
            ("<a href=\"https://bridge.example.com/sign_out\">x</a>", "<a rel=\"noopener noreferrer nofollow\">x</a>"),
            ("<img src=\"/\\\\evil.example/x\">", "<img>"),
            ("<img src=\"https://cdn.example.com/x.png\">", "<img src=\"https://cdn.example.com/x.png\">"),
            // Spellings of the same origin that a browser reads as jira-bridge (the second robustness round's bypasses).
            ("<img src=\"https://bridge.example.com:443/sign_out\">", "<img>"),
            ("<img src=\"https://bridge.example.com:0443/sign_out\">", "<img>"),
            ("<img src=\"https:\\\\bridge.example.com\\sign_out\">", "<img>"),
            ("<img src=\"https:bridge.example.com/sign_out\">", "<img>"),
            ("<img src=\"https://bridge.ex%61mple.com/sign_out\">", "<img>"),
            ("<img src=\"https://bri\tdge.example.com/sign_out\">", "<img>"),
            ("<img src=\"https://bri&#9;dge.example.com/sign_out\">", "<img>"),
            ("<img src=\"ht&#10;tps://bridge.example.com/sign_out\">", "<img>"),
            ("<img src=\"https://\u{FF42}ridge.example.com/sign_out\">", "<img>"),
            ("<img src=\"https://bridge.example.com./sign_out\">", "<img>"),
            ("<img src=\"https://user@bridge.example.com/sign_out\">", "<img>"),
            // What it writes back is what a browser would request.
            (
                "<a href=\"HTTPS://CDN.example.com:443/a\\b?c\\d\">x</a>",
                "<a href=\"https://cdn.example.com/a/b?c\\d\" rel=\"noopener noreferrer nofollow\">x</a>"
            ),
        ])
    func sanitiserLinks(_ input: String, _ expected: String) {
        let links = HTMLSanitizer.Links(base: "https://jira.example.com/jira/", refusedOrigin: "https://bridge.example.com")
        #expect(HTMLSanitizer.sanitize(input, links: links) == expected)
    }

    @Test(
        "a numeric origin is caught in each of its IPv4 spellings",
        arguments: [
            "http://127.0.0.1:8080/x", "http://2130706433:8080/x", "http://0x7f.1:8080/x", "http://0177.0.0.1:8080/x",
            "http://127.1:8080/x", "http://0x7F000001:8080/x", "http://127.0.0.1.:8080/x", "http://127.0.1:08080/x",
        ])
    func numericOrigins(_ url: String) {
        let links = HTMLSanitizer.Links(base: "https://jira.example.com/", refusedOrigin: "http://127.0.0.1:8080")
        #expect(HTMLSanitizer.sanitize("<img src=\"\(url)\">", links: links) == "<img>")
        #expect(HTMLSanitizer.sanitize("<img src=\"http://127.0.0.2:8080/x\">", links: links) == "<img src=\"http://127.0.0.2:8080/x\">")
    }

    @Test("browser URL reading: IPv4 forms, ports, and hosts it will not guess at")
    func browserURLs() {
        #expect(BrowserURL("http://0x7f.0.0.1/")?.host == "127.0.0.1")
        #expect(BrowserURL("http://4294967295/")?.host == "255.255.255.255")
        #expect(BrowserURL("http://4294967296/") == nil, "beyond 32 bits")
        #expect(BrowserURL("http://1.2.3.4.5/") == nil, "five parts ending in a number")
        #expect(BrowserURL("http://256.1.1.1/") == nil)
        #expect(BrowserURL("http://08.1.1.1/") == nil, "8 is no octal digit")
        #expect(BrowserURL("http://1.2.3.example/")?.host == "1.2.3.example", "a name, not an address")
        #expect(BrowserURL("http://h:65536/") == nil && BrowserURL("http://h:99999999999999999999999/") == nil)
        #expect(BrowserURL("http://h:80/p")?.text == "http://h/p")
        #expect(BrowserURL("javascript:alert(1)") == nil)
        #expect(BrowserURL("http://[::1]:8080/x")?.origin == "http://[::1]:8080")
        #expect(BrowserURL("http://" + String(repeating: "9", count: 100_000)) == nil)
    }
}
