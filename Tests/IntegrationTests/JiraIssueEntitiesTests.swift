import Integration
import Testing

/// GitLab's Jira issue entities (behavior doc (e)), mapped in the core from Jira's issue documents.
@Suite("Jira issue entities")
struct JiraIssueEntitiesTests {
    var entities: JiraIssueEntities {
        var s = JiraSettings()
        s.url = "https://jira.example.com/"
        return JiraIssueEntities(settings: s, projectID: 42, publicURL: "https://bridge.example.com")
    }

    let issue: JSONValue = .object([
        "id": .string("10002"), "key": .string("PROJ-2"),
        "fields": .object([
            "summary": .string("Crash on login"),
            "created": .string("2024-01-31T12:00:00.000+0100"),
            "updated": .string("2024-02-01T08:30:15.250+0000"),
            "resolutiondate": .null,
            "status": .object(["name": .string("In Progress")]),
            "labels": .array([.string("backend")]),
            "reporter": .object(["name": .string("jira bot"), "displayName": .string("Jira Bot")]),
            "assignee": .object([
                "accountId": .string("557058:abc"), "displayName": .string("Alice"),
                "avatarUrls": .object(["48x48": .string("https://avatar/48")]),
            ]),
        ]),
    ])

    @Test("a list entity: title, UTC times, status, labels, author, assignees and both URLs")
    func listEntity() {
        let e = entities.listEntity(issue)
        #expect(e["project_id"] == .number(42))
        #expect(e["title"] == .string("Crash on login"))
        #expect(e["created_at"] == .string("2024-01-31T11:00:00.000Z"))
        #expect(e["updated_at"] == .string("2024-02-01T08:30:15.250Z"))
        #expect(e["closed_at"] == .null)
        #expect(e["status"] == .string("In Progress"))
        #expect(e["labels"]?.array?.first?["title"] == .string("backend"))
        #expect(e["web_url"] == .string("https://jira.example.com/browse/PROJ-2"))
        #expect(e["gitlab_web_url"] == .string("https://bridge.example.com/projects/42/integrations/jira/issues/PROJ-2"))
        #expect(e["references"]?["relative"] == .string("PROJ-2"))
        #expect(e["external_tracker"] == .string("jira"))
    }

    @Test("users link to Jira: Cloud by account id, Server by name, escaped")
    func users() {
        let e = entities.listEntity(issue)
        #expect(e["author"]?["web_url"] == .string("https://jira.example.com/secure/ViewProfile.jspa?name=jira%20bot"))
        #expect(e["author"]?["name"] == .string("Jira Bot"))
        #expect(e["assignees"]?.array?.first?["web_url"] == .string("https://jira.example.com/people/557058:abc"))
        #expect(e["assignees"]?.array?.first?["avatar_url"] == .string("https://avatar/48"))
    }

    @Test("a detail entity: state from the resolution date, sanitized description and comments")
    func detailEntity() {
        guard case .object(var doc) = issue, case .object(var fields)? = doc["fields"] else { Issue.record("shape"); return }
        fields["resolutiondate"] = .string("2024-02-02T00:00:00.000+0000")
        fields["comment"] = .object(["comments": .array([.object(["id": .string("1"), "body": .string("<b>plain</b>")])])])
        doc["fields"] = .object(fields)
        doc["renderedFields"] = .object(["description": .string("<p>Hi<script>alert(1)</script></p>")])
        let e = entities.detailEntity(.object(doc))
        #expect(e["state"] == .string("closed"))
        #expect(e["closed_at"] == .string("2024-02-02T00:00:00.000Z"))
        #expect(e["description_html"]?.string?.contains("<script") == false)
        #expect(e["description_html"]?.string?.contains("Hi") == true)
        #expect(e["comments"]?.array?.first?["body_html"] == .string("&lt;b&gt;plain&lt;/b&gt;"), "a comment without rendered HTML is escaped")
        #expect(entities.detailEntity(issue)["state"] == .string("opened"))
    }

    @Test(
        "Jira timestamps in every zone form convert to UTC",
        arguments: [
            ("2024-01-31T12:00:00.000+0100", "2024-01-31T11:00:00.000Z"),
            ("2024-01-31T00:30:00.000+01:00", "2024-01-30T23:30:00.000Z"),
            ("2024-03-01T01:00:00.5-0130", "2024-03-01T02:30:00.500Z"),
            ("2024-02-29T23:59:59", "2024-02-29T23:59:59.000Z"),
            ("1969-12-31T23:59:59.999+0000", "1969-12-31T23:59:59.999Z"),
            ("2000-01-01T00:00:00.123456789Z", "2000-01-01T00:00:00.123Z"),
        ])
    func timestamps(_ text: String, _ utc: String) {
        #expect(JiraTimestamp(text)?.utcText == utc)
    }

    @Test("what is no timestamp reads as null", arguments: ["", "yesterday", "2024-13-01T00:00:00", "2024-01-01", "2024-01-01T25:00:00"])
    func notTimestamps(_ text: String) {
        #expect(JiraTimestamp(text) == nil)
        #expect(JiraIssueEntities.utc(text) == .null)
    }

    @Test("timestamps count milliseconds since 1970")
    func epoch() {
        #expect(JiraTimestamp("1970-01-01T00:00:00.000+0000")?.millis == 0)
        #expect(JiraTimestamp("2026-12-01T00:00:00.000+0000")?.millis == 1_796_083_200_000)
    }

    @Test("extra fields: an object of field ids, not the fields jira-bridge sets, at most 10,000 characters")
    func extraFields() {
        #expect(ExtraFields.problem("", parsed: nil) == nil)
        #expect(ExtraFields.problem(#"{"labels":["x"]}"#, parsed: ["labels": .array([.string("x")])]) == nil)
        #expect(ExtraFields.problem("[1]", parsed: nil) == "must be a JSON object of Jira field ids and values")
        #expect(ExtraFields.problem("{…}", parsed: ["summary": .null, "project": .null]) == "cannot set project, summary: jira-bridge sets them")
        #expect(ExtraFields.problem(String(repeating: " ", count: 10_001), parsed: [:]) == "is too long (maximum is 10000 characters)")
    }
}
