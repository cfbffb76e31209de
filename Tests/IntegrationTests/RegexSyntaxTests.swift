import Integration
import Testing

@Suite("RE2 syntax")
struct RegexSyntaxTests {
    @Test(
        "patterns RE2 accepts parse",
        arguments: [
            "\\b([A-Z][A-Z_0-9]+-\\d+)", "[A-Z][0-9]-[0-9]+", "jira#", "Jira# ", "(?P<issue>[A-Z]+-\\d+)", "(?<key>x)",
            "(?i)abc", "(?i:ab)c", "a{2,5}", "a{3}", "a{2,}", "[[:alpha:]]+", "[^a-z]", "\\pL+", "\\p{Greek}", "\\x41\\x{263a}",
            "a*?b+?c??", "((a|b)+|c)+$", "\\Aabc\\z", "[\\d\\s_-]", "a{,2}", "x|", "()", "\\.\\*\\+",
        ])
    func accepted(_ pattern: String) throws {
        _ = try RegexParser.parse(pattern)
    }

    @Test(
        "patterns RE2 refuses get RE2's message",
        arguments: [
            ("(a)\\1", "invalid escape sequence: \\1"),
            ("(?=a)", "invalid or unsupported Perl syntax: (?="),
            ("(?!a)", "invalid or unsupported Perl syntax: (?!"),
            ("(?<=a)b", "invalid or unsupported Perl syntax: (?<"),
            ("(?>a)", "invalid or unsupported Perl syntax: (?>"),
            ("a**", "bad repetition operator: **"),
            ("a++", "bad repetition operator: ++"),
            ("*a", "missing argument to repetition operator: *"),
            ("(abc", "missing ): (abc"),
            ("abc)", "unexpected ): abc)"),
            ("[abc", "missing ]: [abc"),
            ("[z-a]", "invalid character class range: z-a"),
            ("a{1001}", "invalid repeat count: {1001}"),
            ("a{5,2}", "invalid repeat count: {5,2}"),
            ("abc\\", "trailing \\"),
            ("\\Z", "invalid escape sequence: \\Z"),
            ("\\p{Klingon}", "invalid character class range: \\p{Klingon}"),
        ])
    func refused(_ pattern: String, _ message: String) {
        #expect(throws: RegexSyntaxError(message: message)) { try RegexParser.parse(pattern) }
    }

    @Test("named groups are found by name")
    func namedGroup() throws {
        let parsed = try RegexParser.parse("\\bjira#(?P<issue>[A-Z]+-\\d+)")
        #expect(parsed.captureCount == 1)
        #expect(parsed.captureIndex(named: "issue") == 1)
        #expect(parsed.captureIndex(named: "other") == nil)
    }

    @Test("a deeply nested pattern is refused, not a stack overflow")
    func deepNesting() {
        let pattern = String(repeating: "(", count: 5000) + String(repeating: ")", count: 5000)
        #expect(throws: RegexSyntaxError.self) { try RegexParser.parse(pattern) }
    }
}
