import Foundation
import Integration
import Testing

/// Security reports read by the core: GitLab's report formats and SARIF 2.1.0, on real scanners' output.
@Suite("Security reports")
struct SecurityReportTests {
    static func report(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/security"))
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    static func parse(_ text: String) throws -> SecurityReport.Parsed {
        try SecurityReport.parse(JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }

    @Test(
        "real reports parse into their type, with as many distinct findings as GitLab counts",
        arguments: [
            ("gl-dependency-scanning-report.gemnasium-defectdojo.json", "dependency_scanning", 3),
            ("gl-container-scanning-report.trivy-template-npm.json", "container_scanning", 1),
            ("gitleaks-7.x.sarif", "sarif", 4),
            ("trivy-alpine-310.sarif", "sarif", 4),
            ("sast-two-findings.json", "sast", 2),
            ("dast-one-finding.json", "dast", 1),
            ("sarif-two-results.sarif", "sarif", 2),
            ("gl-secret-detection-report.secrets-analyzer-7.38-empty.json", "secret_detection", 0),
        ])
    func realReports(_ file: String, _ type: String, _ count: Int) throws {
        let parsed = try SecurityReport.parse(Self.report(file))
        #expect(parsed.reportType == type)
        #expect(Set(parsed.findings.map(\.fingerprint)).count == count)
        for f in parsed.findings {
            #expect(["critical", "high", "medium", "low", "info", "unknown"].contains(f.severity), "\(file): \(f.severity)")
            #expect(!f.identifiers.isEmpty && !f.title.isEmpty)
        }
    }

    @Test("a GitLab SAST finding keeps its location, identifiers, links, solution and scanner")
    func sastFinding() throws {
        let parsed = try SecurityReport.parse(Self.report("sast-two-findings.json"))
        #expect(parsed.format == "gitlab")
        let xss = try #require(parsed.findings.first)
        #expect(xss.severity == "high" && xss.scanner.name == "Semgrep")
        #expect(xss.location.file == "app/views.py" && xss.location.startLine == 42 && xss.location.endLine == 44)
        #expect(xss.identifiers.map(\.name) == ["python.flask.security.xss", "CWE-79"])
        #expect(xss.links.first?.url == "https://owasp.org/www-community/attacks/xss/")
        #expect(xss.solution == "Escape the value with the template engine.")
    }

    @Test("a DAST finding keeps its host, path, parameter and evidence")
    func dastFinding() throws {
        let f = try #require(try SecurityReport.parse(Self.report("dast-one-finding.json")).findings.first)
        #expect(f.location.hostname == "https://shop.example.com" && f.location.path == "/login" && f.location.param == "X-Frame-Options")
        #expect(f.evidence?.method == "GET" && f.evidence?.url == "https://shop.example.com/login")
        #expect(f.evidence?.responseStatus?.contains("200") == true)
    }

    @Test("SARIF: severity from security-severity, else the level; rules found by id or by index; CWE tags become identifiers")
    func sarif() throws {
        let parsed = try SecurityReport.parse(Self.report("sarif-two-results.sarif"))
        #expect(parsed.findings.map(\.severity) == ["critical", "medium"])
        #expect(parsed.findings[0].identifiers.map(\.name) == ["EX001", "CWE-89"])
        #expect(parsed.findings[0].title == "SQL query built from user input")
        #expect(parsed.findings[1].identifiers.first?.value == "EX002")
        #expect(parsed.findings[0].location.file == "src/db.py" && parsed.findings[0].location.startLine == 18)
        #expect(parsed.format == "sarif" && parsed.scanners.map(\.name) == ["ExampleScanner"])
    }

    @Test("the same finding in two reports has the same fingerprint; another line or file another one")
    func fingerprints() throws {
        let a = try SecurityReport.parse(Self.report("sast-two-findings.json"))
        let b = try SecurityReport.parse(Self.report("sast-two-findings.json"))
        #expect(a.findings.map(\.fingerprint) == b.findings.map(\.fingerprint))
        #expect(a.findings[0].fingerprint != a.findings[1].fingerprint)
    }

    @Test(
        "what is not a report is refused, naming the field",
        arguments: [
            (#"[]"#, "the report"),
            (#"{"neither": 1}"#, "the report"),
            (#"{"vulnerabilities": []}"#, "scan.type"),
            (#"{"scan": {"type": "nope"}, "vulnerabilities": []}"#, "scan.type"),
            (#"{"scan": {"type": "sast"}, "vulnerabilities": {}}"#, "vulnerabilities"),
            (#"{"scan": {"type": "sast"}, "vulnerabilities": [{"id": "1", "location": {}}]}"#, "vulnerabilities[0].identifiers"),
            (#"{"version": "2.0.0", "runs": []}"#, "version"),
            (#"{"runs": [{"tool": {}}]}"#, "runs[0].tool.driver.name"),
            (#"{"runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}"#, "runs[0].results[0].message.text"),
        ])
    func invalid(_ text: String, _ field: String) throws {
        #expect { try Self.parse(text) } throws: { error in
            (error as? SecurityReport.Invalid)?.field == field
        }
    }

    @Test("a SARIF run without results is an empty report, not an error")
    func emptySarif() throws {
        let parsed = try Self.parse(#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Quiet Tool"}}}]}"#)
        #expect(parsed.findings.isEmpty && parsed.scanners.map(\.id) == ["quiet_tool"])
    }
}
