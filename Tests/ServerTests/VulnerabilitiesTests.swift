import AsyncHTTPClient
import Foundation
import Integration
import JiraEmulator
import NIOCore
import Store
import Testing

/// Security reports in, vulnerabilities out, Jira issues from them, against the emulator.
@Suite("Vulnerabilities and Jira issues from them")
struct VulnerabilitiesTests {
    static let reports = "/api/v4/projects/42/security/reports"
    static let list = "/api/v4/projects/42/vulnerabilities"

    static func fixture(_ name: String) -> String {
        let url = Bundle.module.url(forResource: "Fixtures/security/\(name)", withExtension: nil)!
        return try! String(contentsOf: url, encoding: .utf8)
    }

    func upload(_ h: Harness, _ body: String, query: String = "") async throws -> TestResponse {
        try await h.request(.POST, Self.reports + query, token: h.adminToken, raw: body, headers: [("Content-Type", "application/json")])
    }

    /// Project 42 with Jira issues for vulnerabilities into PROJ as Bugs.
    func enable(_ h: Harness, _ extra: [String: JSONValue] = [:]) async throws {
        var settings: [String: JSONValue] = ["vulnerabilities_enabled": true, "project_key": "PROJ", "vulnerabilities_issuetype": "10001"]
        for (k, v) in extra { settings[k] = v }
        try await h.configure(settings)
        if await h.emulator.projects["PROJ"] == nil { _ = await h.emulator.addProject(key: "PROJ", name: "Demo") }
    }

    @Test(
        "real scanner reports and reports written to the schemas are read",
        arguments: [
            ("gl-sast-report.semgrep-analyzer-python-flask.json", "sast", 17),
            ("gl-secret-detection-report.gitleaks-defectdojo.json", "secret_detection", 3),
            ("gl-secret-detection-report.secrets-analyzer-7.38-empty.json", "secret_detection", 0),
            // 6 entries, but three share package, file and primary identifier (and two more do): 3 findings, as GitLab counts them.
            ("gl-dependency-scanning-report.gemnasium-defectdojo.json", "dependency_scanning", 3),
            ("gl-container-scanning-report.trivy-template-npm.json", "container_scanning", 1),
            ("codeql-2.19.3-python.sarif", "sarif", 2),
            // 8 results: each secret found at the same file and line in two commits of the history: 4 findings.
            ("gitleaks-7.x.sarif", "sarif", 4),
            ("trivy-alpine-310.sarif", "sarif", 4),
            ("sast-two-findings.json", "sast", 2),
            ("dast-one-finding.json", "dast", 1),
            ("sarif-two-results.sarif", "sarif", 2),
        ])
    func realReports(_ file: String, _ type: String, _ count: Int) async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await upload(h, Self.fixture(file))
            #expect(r.status == 201, "\(r.text.prefix(300))")
            #expect(r.json["report_type"] == .string(type))
            let items = r.json["vulnerabilities"]?.array ?? []
            #expect(items.count == count, "\(file)")
            for v in items {
                #expect(v["title"]?.string?.isEmpty == false)
                #expect(["critical", "high", "medium", "low", "info", "unknown"].contains(v["severity"]?.string ?? ""))
                #expect(v["identifiers"]?.array?.isEmpty == false)
                #expect(v["state"] == "detected")
            }
            let listed = try await h.admin(.GET, Self.list + "?per_page=100")
            #expect(listed.json.array?.count == count)
            // The same report again updates; it never duplicates.
            let again = try await upload(h, Self.fixture(file))
            #expect(again.json["created"] == 0 && again.json["updated"] == .number(Double(count)) && again.json["resolved"] == 0)
            let header = try await h.admin(.GET, Self.list).headers.first { $0.0.lowercased() == "x-total" }?.1
            #expect(header == String(count))
        }
    }

    @Test("what a finding holds: location, identifiers, links, scanner, severity from SARIF's security-severity")
    func fields() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let sast = try await upload(h, Self.fixture("sast-two-findings.json"), query: "?commit_sha=abc123")
            let xss = try #require(sast.json["vulnerabilities"]?.array?.first)
            #expect(xss["severity"] == "high")
            #expect(xss["location"] == ["file": "app/views.py", "start_line": 42, "end_line": 44])
            #expect(xss["identifiers"]?.array?.count == 2)
            #expect(xss["links"]?.array?.first?["url"] == "https://owasp.org/www-community/attacks/xss/")
            #expect(xss["scanner"] == ["id": "semgrep", "name": "Semgrep"])
            #expect(xss["commit_sha"] == "abc123")
            #expect(xss["solution"] == "Escape the value with the template engine.")
            let sarif = try await upload(h, Self.fixture("sarif-two-results.sarif"))
            let items = sarif.json["vulnerabilities"]?.array ?? []
            #expect(items.map { $0["severity"]?.string ?? "" } == ["critical", "medium"])
            #expect(items[0]["title"] == "SQL query built from user input")
            #expect(items[0]["identifiers"]?.array?.map { $0["name"]?.string ?? "" } == ["EX001", "CWE-89"])
            #expect(items[1]["identifiers"]?.array?.first?["value"] == "EX002", "the rule found by ruleIndex")
            #expect(items[0]["location"]?["file"] == "src/db.py")
            let dast = try await upload(h, Self.fixture("dast-one-finding.json"))
            #expect(dast.json["vulnerabilities"]?.array?.first?["location"]?["hostname"] == "https://shop.example.com")
        }
    }

    @Test("a finding that disappears is resolved, not deleted; it is detected again when it comes back")
    func resolution() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await upload(h, Self.fixture("sast-two-findings.json"))
            _ = try await upload(h, Self.fixture("dast-one-finding.json"))
            var doc = try JSONSerialization.jsonObject(with: Data(Self.fixture("sast-two-findings.json").utf8)) as! [String: Any]
            doc["vulnerabilities"] = Array((doc["vulnerabilities"] as! [Any]).prefix(1))
            let one = String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
            let r = try await upload(h, one)
            #expect(r.json["resolved"] == 1 && r.json["updated"] == 1 && r.json["created"] == 0)
            let resolved = try await h.admin(.GET, Self.list + "?state=resolved").json.array ?? []
            #expect(resolved.map { $0["title"]?.string ?? "" } == ["Use of a broken or risky cryptographic algorithm"])
            #expect(resolved.first?["resolved_at"]?.string != nil)
            #expect(try await h.admin(.GET, Self.list + "?state=detected").json.array?.count == 2, "the DAST finding is another scanner's: untouched")
            let back = try await upload(h, Self.fixture("sast-two-findings.json"))
            #expect(back.json["created"] == 0 && back.json["updated"] == 2)
            #expect(try await h.admin(.GET, Self.list + "?state=resolved").json.array?.isEmpty == true)
        }
    }

    @Test("filters and pages")
    func filters() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            _ = try await upload(h, Self.fixture("gl-sast-report.semgrep-analyzer-python-flask.json"))
            _ = try await upload(h, Self.fixture("sarif-two-results.sarif"))
            let all = try await h.admin(.GET, Self.list + "?per_page=100").json.array ?? []
            #expect(all.count == 19)
            let ranks = all.map { ["critical", "high", "medium", "low", "info", "unknown"].firstIndex(of: $0["severity"]?.string ?? "")! }
            #expect(ranks == ranks.sorted(), "most severe first")
            let critical = try await h.admin(.GET, Self.list + "?severity=critical").json.array ?? []
            #expect(critical.count == all.filter { $0["severity"] == "critical" }.count && !critical.isEmpty)
            let sarif = try await h.admin(.GET, Self.list + "?scanner=sarif").json.array ?? []
            #expect(sarif.count == 2)
            let page = try await h.admin(.GET, Self.list + "?per_page=5&page=4")
            #expect(page.json.array?.count == 4)
            #expect(page.headers.first { $0.0.lowercased() == "x-total" }?.1 == "19")
            #expect(try await h.admin(.GET, Self.list + "?severity=urgent").status == 400)
            #expect(try await h.admin(.GET, Self.list + "/999").status == 404)
        }
    }

    @Test(
        "a bad report is refused with the field named, and nothing is stored",
        arguments: [
            ("not json", "The report is not valid JSON"),
            (#"[1, 2]"#, "Invalid report: the report must be a JSON object"),
            (#"{"foo": 1}"#, "Invalid report: the report is neither a GitLab security report (no \"vulnerabilities\") nor SARIF 2.1.0 (no \"runs\")"),
            (
                #"{"vulnerabilities": []}"#,
                "Invalid report: scan.type is missing (one of api_fuzzing, cluster_image_scanning, container_scanning, coverage_fuzzing, dast, dependency_scanning, sast, secret_detection)"
            ),
            (
                #"{"scan": {"type": "sast"}, "vulnerabilities": [{"id": "1", "location": {}}]}"#,
                "Invalid report: vulnerabilities[0].identifiers is missing or empty (a finding needs at least one identifier)"
            ),
            (
                #"{"scan": {"type": "sast"}, "vulnerabilities": [{"id": "1", "identifiers": [{"type": "cwe", "name": "CWE-1", "value": "1"}]}]}"#,
                "Invalid report: vulnerabilities[0].location is missing (it must be an object)"
            ),
            (#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]}"#, "Invalid report: runs[0].tool.driver.name is missing"),
            (
                #"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "R1"}]}]}"#,
                "Invalid report: runs[0].results[0].message.text is missing"
            ),
            (#"{"version": "2.0.0", "runs": []}"#, "Invalid report: version is \"2.0.0\"; only SARIF 2.1.0 is read"),
        ])
    func badReports(_ body: String, _ message: String) async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let r = try await upload(h, body)
            #expect(r.status == 400)
            #expect(r.json["message"] == .string(message))
            #expect(try await h.admin(.GET, Self.list).json.array?.isEmpty == true)
        }
    }

    @Test("reports above 25 MB answer 413; a reporter cannot upload")
    func limits() async throws {
        try await Harness.run { h in
            try await h.registerProject()
            let padding = String(repeating: " ", count: 25 << 20)
            let r = try await upload(h, #"{"scan": {"type": "sast"}, "vulnerabilities": []}"# + padding)
            #expect(r.status == 413)
            let reporter = try await h.token(role: "reporter", scope: "project", extra: ["project_id": "42"])
            let refused = try await h.request(.POST, Self.reports, token: reporter, raw: Self.fixture("sast-two-findings.json"))
            #expect(refused.status == 403)
            #expect(try await h.request(.GET, Self.list, token: reporter).status == 200)
        }
    }

    @Test("create a Jira issue: GitLab's request, summary and description; the link is stored and shown")
    func createIssue() async throws {
        try await Harness.run { h in
            try await enable(h)
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"), query: "?commit_sha=abc123")
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let r = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(r.status == 201, "\(r.text)")
            let key = try #require(r.json["issue_key"]?.string)
            #expect(r.json["web_url"] == .string("\(h.emulatorURL)/browse/\(key)"))
            let issue = await h.issue(key)
            #expect(
                issue.summary == "Investigate vulnerability: Improper neutralization of input during web page generation ('Cross-site Scripting')")
            #expect(issue.issueTypeID == "10001")
            let page = try #require(uploaded.json["vulnerabilities"]?.array?.first?["web_url"]?.string)
            #expect(page.hasSuffix("/projects/42/-/security/vulnerabilities/\(id)"))
            #expect(
                issue.description == """
                    Issue created from vulnerability [\(id)|\(page)]

                    h3. Description:

                    User input reaches an HTML response without escaping.

                    * Severity: high
                    * Location: [app/views.py:42|https://gitlab.example.com/acme/web/shop/-/blob/abc123/app/views.py#L42]

                    ### Solution:

                    See vulnerability [\(id)|\(page)] for any Solution details.

                    h3. Identifiers:

                    * python.flask.security.xss
                    * [CWE-79|https://cwe.mitre.org/data/definitions/79.html]

                    h3. Links:

                    * [OWASP XSS|https://owasp.org/www-community/attacks/xss/]


                    h3. Scanner:

                    * Name: Semgrep

                    """)
            let requests = await h.jiraRequests()
            #expect(requests.map { "\($0.method) \($0.path)" } == ["GET /rest/api/2/project/PROJ", "POST /rest/api/2/issue"])
            let detail = try await h.admin(.GET, Self.list + "/\(id)")
            #expect(detail.json["external_issue_links"]?.array?.first?["issue_key"] == .string(key))
            #expect(detail.json["external_issue_links"]?.array?.first?["issue_id"] == .string(issue.id))

            // A second click: the existing issue, checked in Jira, and no new one.
            let again = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(again.status == 200 && again.json["issue_key"] == .string(key) && again.json["existing"] == true)
            #expect(await h.jiraRequests("/rest/api/2/issue").filter { $0.method == "POST" }.count == 1)
        }
    }

    @Test("a title too long for Jira's summary is cut to fit")
    func longTitle() async throws {
        try await Harness.run { h in
            try await enable(h)
            var doc = try JSONSerialization.jsonObject(with: Data(Self.fixture("sast-two-findings.json").utf8)) as! [String: Any]
            var vulns = doc["vulnerabilities"] as! [[String: Any]]
            vulns[0]["name"] = String(repeating: "Very long title ", count: 30)
            doc["vulnerabilities"] = vulns
            let uploaded = try await upload(h, String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self))
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let r = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(r.status == 201, "\(r.text)")
            let summary = await h.issue(try #require(r.json["issue_key"]?.string)).summary
            #expect(summary.count == 254 && summary.hasSuffix("…") && summary.hasPrefix("Investigate vulnerability: Very long title"))
        }
    }

    @Test("a double click creates one issue")
    func doubleClick() async throws {
        try await Harness.run { h in
            try await enable(h)
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"))
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            await h.emulator.addFault(EmulatedFault(method: "POST", pathContains: "/rest/api/2/issue", delayMilliseconds: 600))
            async let first = h.admin(.POST, Self.list + "/\(id)/jira_issue")
            async let second = h.admin(.POST, Self.list + "/\(id)/jira_issue")
            let (a, b) = try await (first, second)
            #expect(Set([a.status, b.status]) == [201, 200], "\(a.text) \(b.text)")
            #expect(a.json["issue_key"] == b.json["issue_key"])
            #expect(await h.jiraRequests("/rest/api/2/issue").filter { $0.method == "POST" }.count == 1)
        }
    }

    @Test("Jira's required-field error comes back as 422; the extra-fields map fixes it")
    func requiredFields() async throws {
        try await Harness.run { h in
            _ = await h.emulator.addProject(key: "PROJ", name: "Strict", requiredFields: ["components"])
            try await enable(h)
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"))
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let refused = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(refused.status == 422)
            #expect(refused.json["message"] == "Jira could not create the issue: Components is required.")
            #expect(refused.json["errors"] == ["Components is required."])
            #expect(try await h.admin(.GET, Self.list + "/\(id)").json["external_issue_links"] == [])

            let typo = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["vulnerabilities_extra_fields": ["componets": [["name": "Backend"]]]])
            #expect(typo.status == 200)
            let named = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(named.status == 422)
            #expect(named.json["message"]?.string?.contains("has no field \"componets\"") == true)

            let saved = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira", json: ["vulnerabilities_extra_fields": ["components": [["name": "Backend"]]]])
            #expect(saved.json["properties"]?["vulnerabilities_extra_fields"] == ["components": [["name": "Backend"]]])
            let created = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(created.status == 201, "\(created.text)")
            let issue = await h.issue(try #require(created.json["issue_key"]?.string))
            let extra = try JSONValue.parse(try #require(issue.extraFields))
            #expect(extra == ["components": [["name": "Backend"]]])
            #expect(await h.jiraRequests("/createmeta/").count == 2)
        }
    }

    @Test(
        "extra fields are validated on save",
        arguments: [
            (JSONValue.string("not json"), "must be a JSON object of Jira field ids and values"),
            (JSONValue.object(["summary": .string("x")]), "cannot set summary: jira-bridge sets them"),
        ])
    func extraFieldsValidation(_ value: JSONValue, _ message: String) async throws {
        try await Harness.run { h in
            try await enable(h)
            let r = try await h.admin(.PUT, "/api/v4/projects/42/integrations/jira", json: ["vulnerabilities_extra_fields": value])
            #expect(r.status == 400)
            #expect(r.json["message"]?["vulnerabilities_extra_fields"] == [.string(message)], "\(r.text)")
        }
    }

    @Test("customize mode answers Jira's prefilled create form, which Jira accepts; cut to 4001 characters")
    func customize() async throws {
        try await Harness.run { h in
            try await enable(h, ["customize_jira_issue_enabled": true])
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"))
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let r = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(r.status == 200)
            let url = try #require(r.json["create_url"]?.string)
            let pid = await h.emulator.projects["PROJ"]!.id
            #expect(
                url.hasPrefix(
                    "\(h.emulatorURL)/secure/CreateIssueDetails!init.jspa?pid=\(pid)&issuetype=10001&summary=Investigate+vulnerability%3A+Improper+neutralization"
                ))
            #expect(url.contains("&description=Issue+created+from+vulnerability+%5B\(id)%7C"))
            #expect(await h.jiraRequests("/rest/api/2/issue").filter { $0.method == "POST" }.isEmpty, "no issue is created")
            // Jira's form accepts the link.
            let form = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            #expect(form.status.code == 200)
            let html = String(buffer: try await form.body.collect(upTo: 1 << 20))
            #expect(html.contains("value=\"Investigate vulnerability: Improper neutralization"))

            // A long description is cut so the whole link stays within 4001 characters, never mid-escape.
            var doc = try JSONSerialization.jsonObject(with: Data(Self.fixture("sast-two-findings.json").utf8)) as! [String: Any]
            var vulns = doc["vulnerabilities"] as! [[String: Any]]
            vulns[1]["description"] = String(repeating: "Ünïcode & long text. ", count: 400)
            doc["vulnerabilities"] = vulns
            let long = try await upload(h, String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self))
            let longID = Int(try #require(long.json["vulnerabilities"]?.array?[1]["id"]?.number))
            let cut = try #require(try await h.admin(.POST, Self.list + "/\(longID)/jira_issue").json["create_url"]?.string)
            #expect(cut.count <= 4001 && cut.count >= 3999)
            #expect(cut.removingPercentEncoding != nil || !cut.hasSuffix("%"))
            let accepted = try await HTTPClient.shared.execute(HTTPClientRequest(url: cut), timeout: .seconds(10))
            #expect(accepted.status.code == 200)
        }
    }

    @Test("preconditions: GitLab's message when vulnerabilities are not configured")
    func notConfigured() async throws {
        try await Harness.run { h in
            try await h.configure()
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"))
            let id = Int(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let r = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(r.status == 400)
            #expect(r.json["message"] == "External provider service is not configured to create issues.")
        }
    }

    @Test("a claim left by a request that died: the issue it created is found in Jira and adopted")
    func staleClaim() async throws {
        try await Harness.run { h in
            try await enable(h)
            let uploaded = try await upload(h, Self.fixture("sast-two-findings.json"))
            let id = Int64(try #require(uploaded.json["vulnerabilities"]?.array?.first?["id"]?.number))
            let old = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
            #expect(try await h.store.claimIssueCreation(vulnerabilityID: id, staleAfter: 120_000, now: old) == .claimed)
            let orphan = await h.emulator.addIssue(
                projectKey: "PROJ", summary: "Investigate vulnerability: earlier",
                description: "Issue created from vulnerability [\(id)|http://bridge/projects/42/-/security/vulnerabilities/\(id)]")
            let r = try await h.admin(.POST, Self.list + "/\(id)/jira_issue")
            #expect(r.status == 200 && r.json["issue_key"] == .string(orphan.key), "\(r.text)")
            #expect(await h.jiraRequests("/rest/api/2/issue").filter { $0.method == "POST" }.isEmpty)
        }
    }
}
