import Foundation
import Integration
import Testing

@Suite("Jira key matching (GitLab's reference rules)")
struct KeyMatchingTests {
    func keys(_ text: String, prefix: String = "", regex: String = "") throws -> [String] {
        try ReferenceExtractor(prefix: prefix, regex: regex).allKeys(text)
    }

    @Test(
        "the default pattern",
        arguments: [
            ("JIRA-1234", ["JIRA-1234"]), ("JIRA-1234A", ["JIRA-1234"]), ("JIRA-1234-some_tag", ["JIRA-1234"]),
            ("abc-JIRA-1234", ["JIRA-1234"]), ("3EXT_EXT-1234", []), ("xJIRA-1", []), ("fooJIRA-1", []), ("#123", []),
            ("J-123", []), ("jira-1", []), ("CVE-2022-123", ["CVE-2022"]), ("(JIRA-123.)", ["JIRA-123"]),
            ("PROJ-1 and PROJ-2, PROJ-1 again", ["PROJ-1", "PROJ-2"]), ("A_B-7 X9-1", ["A_B-7", "X9-1"]),
            ("ABC-DEF-12", ["DEF-12"]), ("émoji🙂PROJ-5", ["PROJ-5"]), ("", []),
        ])
    func defaultPattern(_ text: String, _ expected: [String]) throws {
        #expect(try keys(text) == expected)
    }

    @Test(
        "a prefix must come right before the key, after a word boundary",
        arguments: [
            ("jira#JIRA-1234A", ["JIRA-1234"]), ("JIRA-1234A", []), ("myjira#JIRA-1", []), ("MYjira#JIRA-1", []),
            ("my-jira#JIRA-1234", ["JIRA-1234"]),
        ])
    func prefix(_ text: String, _ expected: [String]) throws {
        #expect(try keys(text, prefix: "jira#") == expected)
    }

    @Test("a prefix with a trailing space keeps it")
    func prefixWithSpace() throws {
        #expect(try keys("Jira# FOO-123", prefix: "Jira# ") == ["FOO-123"])
    }

    @Test(
        "a custom regex",
        arguments: [
            ("J1-123", ["J1-123"]), ("AAbJ J1-123", ["J1-123"]), ("#A1-123", ["A1-123"]), ("J1-1234A", ["J1-1234"]),
            ("JI1-123", []), ("J1I-123", []), ("JI-123", []), ("#123", []),
        ])
    func customRegex(_ text: String, _ expected: [String]) throws {
        #expect(try keys(text, regex: "[A-Z][0-9]-[0-9]+") == expected)
    }

    @Test("the default pattern and the same regex written out agree on real commit messages")
    func enginesAgree() throws {
        let fast = try ReferenceExtractor()
        let vm = try ReferenceExtractor(regex: "[A-Z][A-Z_0-9]+-\\d+")
        for text in [
            "KAFKA-16845 Migrate ReplicationQuotasTestRig (#17089)", "MINOR: fix KAFKA-1 and KAFKA-22; see LANG-1523.",
            "Closes KAFKA-2, KAFKA-3 and KAFKA-4", "`KAFKA-9` in code, KAFKA-10 outside", "xKAFKA-1 KAFKA-1x KAFKA-_1",
        ] {
            #expect(fast.extract(text) == vm.extract(text), "\(text)")
        }
    }

    @Test(
        "the first-scalar skip keeps case folding, optional starts and classes beyond ASCII",
        arguments: [
            ("(?i)proj-\\d+", "see Proj-1 and pRoJ-22, not proj1", ["Proj-1", "pRoJ-22"]),
            ("x*[A-Z]+-\\d+", "xxAB-1 then CD-2", ["xxAB-1", "CD-2"]),
            // RE2's \\b is ASCII: É is not a word character, so no boundary sits before it after a space.
            ("[^a-z ]+-\\d+", "voilà ÉTÉ-7 and été-8", ["TÉ-7", "é-8"]),
            ("(?:FOO|bar)-\\d+", "a bar-1 b FOO-2", ["bar-1", "FOO-2"]),
        ])
    func firstScalarSkip(_ regex: String, _ text: String, _ expected: [String]) throws {
        #expect(try keys(text, regex: regex) == expected)
    }

    @Test("keys in code spans and fenced code do not count")
    func code() throws {
        let text = """
            Fix `PROJ-1` handling and ``PROJ-2 `x` `` too, but PROJ-3 counts.
            ```
            PROJ-4 in a fence
            ```
            ~~~~
            PROJ-5
            ~~~~
            PROJ-6 after, and an unclosed `PROJ-7
            """
        #expect(try keys(text) == ["PROJ-3", "PROJ-6", "PROJ-7"])
    }

    @Test("a pathological user regex runs in linear time")
    func linearTime() throws {
        let extractor = try ReferenceExtractor(regex: "((a|b)+|c)+$")
        let text = String(repeating: "ab", count: 50_000) + "!"
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = extractor.allKeys(text) }
        // A backtracking engine takes longer than the age of the universe here; a linear one well under a minute.
        #expect(elapsed < .seconds(60))
    }
}

@Suite("Closing references")
struct ClosingReferenceTests {
    func refs(_ text: String, prefix: String = "", regex: String = "") throws -> References {
        try ReferenceExtractor(prefix: prefix, regex: regex).extract(text)
    }

    @Test(
        "every trigger word and form closes",
        arguments: [
            "Close", "Closes", "Closed", "Closing", "close", "Fix", "Fixes", "Fixed", "Fixing", "fix", "Resolve", "Resolves",
            "Resolved", "Resolving", "Implement", "Implements", "Implemented", "Implementing", "closes:",
        ])
    func triggers(_ word: String) throws {
        #expect(try refs("\(word) PROJ-12").closes == ["PROJ-12"])
    }

    @Test("a list closes every key in it; closing keys are not mentions")
    func lists() throws {
        #expect(try refs("Closes AB-1, AB-2 and AB-3").closes == ["AB-1", "AB-2", "AB-3"])
        #expect(try refs("Fixes AB-1 AB-2, and AB-3; see BC-4").closes == ["AB-1", "AB-2", "AB-3"])
        #expect(try refs("Fixes AB-1 AB-2, and AB-3; see BC-4").mentions == ["BC-4"])
        #expect(try refs("Closes #1, AB-2 and https://gitlab.example.com/x/-/issues/3 and AB-4").closes == ["AB-2", "AB-4"])
        #expect(try refs("Resolves issues AB-7 and AB-8").closes == ["AB-7", "AB-8"])
        #expect(try refs("Closes AB-1 and closes AB-2").closes == ["AB-1", "AB-2"])
        #expect(try refs("Mentions AB-1, closes AB-2").mentions == ["AB-1"])
    }

    @Test("a key glued to a reference in a list is not a key; a key inside a URL of a list is a mention")
    func listEdges() throws {
        for regex in ["", "[A-Z][A-Z_0-9]+-\\d+"] {
            let glued = try refs("Closes #12AB-1", regex: regex)
            #expect(glued.closes.isEmpty && glued.mentions.isEmpty, "regex \(regex)")
            let url = try refs("Fixes https://issues.apache.org/jira/browse/KAFKA-1 and KAFKA-2", regex: regex)
            #expect(url.closes == ["KAFKA-2"], "regex \(regex)")
            #expect(url.mentions == ["KAFKA-1"], "regex \(regex)")
        }
    }

    @Test(
        "not a closing statement",
        arguments: [
            "suffix PROJ-1", "Closesx PROJ-1", "Prefix-closes PROJ-1 is fine", "disclose PROJ-1", "Closes: ", "Fixes:PROJ-1",
            "`Closes PROJ-1`",
        ])
    func notClosing(_ text: String) throws {
        let r = try refs(text)
        if text == "Prefix-closes PROJ-1 is fine" {
            #expect(r.closes == ["PROJ-1"], "a hyphen is a word boundary, as in GitLab's pattern")
        } else {
            #expect(r.closes.isEmpty, "\(text)")
        }
    }

    @Test("closing with a prefix uses the prefix")
    func withPrefix() throws {
        let r = try refs("Closes jira#PROJ-1 and jira#PROJ-2, mentions jira#PROJ-3 but not PROJ-4", prefix: "jira#")
        #expect(r.closes == ["PROJ-1", "PROJ-2"])
        #expect(r.mentions == ["PROJ-3"])
    }
}

/// Crashes and hangs the fuzz targets found (Fuzz/Regressions), kept as specifications.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    @Test(
        "a user pattern that matches the empty string finds no keys and ends (fuzz: regex timeout)", arguments: ["x*", "\u{FFFD}*", "(x?)", "a*|b*"])
    func emptyMatches(_ pattern: String) throws {
        let extractor = try ReferenceExtractor(prefix: "", regex: pattern)
        let refs = extractor.extract("PROJ-1 closes ABC-12, fixes x")
        #expect(refs.mentions.allSatisfy { !$0.isEmpty } && refs.closes.allSatisfy { !$0.isEmpty })
        #expect(extractor.allKeys("closes  x, and y").allSatisfy { !$0.isEmpty })
    }

    @Test("a self-closing formatting tag is written closed, so sanitizing twice changes nothing (fuzz: html)")
    func selfClosingTag() {
        let once = HTMLSanitizer.sanitize("<<U\u{CB};/\0\0 / >")
        #expect(once == HTMLSanitizer.sanitize(once))
        #expect(HTMLSanitizer.sanitize("<b/>text") == "<b></b>text")
    }

    @Test("a link whose host is only dots is dropped, not shortened by one dot on each pass (fuzz: html)")
    func hostOfDots() {
        let links = HTMLSanitizer.Links(base: "https://jira.example.com/jira", refusedOrigin: "https://bridge.example.com")
        for input in [
            "<a href=\"https:..../an\">x</a>", "<a href=\"https://.../\">x</a>", "<a href=\"https://a..b/\">x</a>",
            "<a href=\"https://.a/\">x</a>",
            // The two inputs the fuzzer found, byte for byte.
            String(
                decoding: Array("<p>Ste\u{1}m <b>bold</b></<a href=\"https://x.\0%\">x</a".utf8) + [0xAF]
                    + Array("<table><able<p>Ste\u{1}m <b>bold</b></<a href=\"https://x..\0\0\0\0\0\0\0\">x</a".utf8) + [0xAF]
                    + Array("<table><able>>".utf8), as: UTF8.self),
            "\u{7F}\0\0\0\"><a href=\"https:imx.7/p~<igesmc=\"/ure/an>g<.p\"atablpng\"><a href=\"https:..../an>g.......7/p~<igesmc=\"/ur=\"/ure/an>g<.p\"E\0atable>",
        ] {
            let once = HTMLSanitizer.sanitize(input, links: links)
            #expect(once == HTMLSanitizer.sanitize(once, links: links))
            #expect(!once.contains("href=\"https://."))
        }
        #expect(BrowserURL("https://example.com./x")?.host == "example.com")
        #expect(BrowserURL("https://example.com../x") == nil)
    }

    @Test("an image whose source has a non-ASCII letter and a quote in its path sanitizes to itself (fuzz: html)")
    func imageSourceWithQuote() throws {
        let links = HTMLSanitizer.Links(base: "https://jira.example.com/jira", refusedOrigin: "https://bridge.example.com")
        // The input the fuzzer found, byte for byte (Fuzz/Regressions/html/crash-86f0db28...).
        let input = String(
            decoding: try #require(
                Data(
                    base64Encoded:
                        "PGA+VHRlcHMgPGI+Ym9sZDwvYj48L3A+PGltZyBzcmM9Ii9zZUB1cmUvYdyPcmM9Ii/cj5FwPjxpbWcgc3JjPSIvc2VAdXJlL2HcjydyYz0iL9yPkZgiPjxhID48AAAAPHRyPnNlQHU+PjxhID48dGFibGU+PHRyPjx0ZGNvbHNibGU+"
                )), as: UTF8.self)
        for html in [
            input, "<img src=\"/se@ure/a\u{70F}'rc=\"/x\">", "<img src=\"/a'b\">", "<img src=\"https://jira.example.com/a\u{70F}&#39;b\">",
        ] {
            let once = HTMLSanitizer.sanitize(html, links: links)
            let twice = HTMLSanitizer.sanitize(once, links: links)
            #expect(once == twice, "\(once)\n\(twice)")
        }
        // The reference after the mark is read, as the browser reads it.
        #expect(
            HTMLSanitizer.sanitize("<img src=\"https://jira.example.com/a\u{70F}&#39;b\">", links: links)
                == "<img src=\"https://jira.example.com/a\u{70F}&#39;b\">")
        #expect(BrowserURL("https://bank.example\u{70F}@evil.example/") == nil, "a mark before @ does not hide it")
    }
}
