/// The filters of the Jira issues list, turned into JQL the way GitLab builds it
/// (gitlab-jira-behavior.md (e)), with one deliberate difference: project keys are quoted, so a key
/// that is a reserved JQL word ("AND", "ORDER", "IS") still works (GitLab's query breaks on them).
public struct JiraIssueQuery: Sendable, Equatable, Hashable {
    public var projectKeys: [String] = []
    public var labels: [String] = []
    public var status: String?
    public var reporter: String?
    public var assignee: String?
    /// `opened`, `closed`; anything else adds no clause.
    public var state: String?
    public var search: String?
    /// Vulnerability ids whose page a Jira description links to.
    public var vulnerabilityIDs: [Int] = []
    /// Jira issue ids.
    public var issueIDs: [String] = []
    public var sort: String?

    public init() {}

    /// GitLab's sort parameter values mapped to a Jira field and direction; anything else is `created DESC`.
    public var order: (field: String, direction: String) {
        switch sort {
        case "created_asc": return ("created", "ASC")
        case "updated_desc": return ("updated", "DESC")
        case "updated_asc": return ("updated", "ASC")
        default: return ("created", "DESC")
        }
    }

    /// Clauses in GitLab's order (project, labels, status, reporter, assignee, state, search, vulnerabilities,
    /// ids), joined with ` AND `, then the order.
    public var jql: String {
        var clauses: [String] = []
        if !projectKeys.isEmpty {
            clauses.append("project in (\(projectKeys.map(Self.quoted).joined(separator: ",")))")
        }
        for label in labels { clauses.append("labels = \(Self.quoted(label))") }
        if let status, !status.isEmpty { clauses.append("status = \(Self.quoted(status))") }
        if let reporter, !reporter.isEmpty { clauses.append("reporter = \(Self.quoted(reporter))") }
        if let assignee, !assignee.isEmpty { clauses.append("assignee = \(Self.quoted(assignee))") }
        switch state {
        case "opened": clauses.append("statusCategory != Done")
        case "closed": clauses.append("statusCategory = Done")
        default: break
        }
        if let search {
            let text = Self.cleanedSearch(search)
            if !text.isEmpty {
                let q = Self.quoted(text)
                clauses.append("(summary ~ \(q) OR description ~ \(q))")
            }
        }
        if !vulnerabilityIDs.isEmpty {
            let parts = vulnerabilityIDs.map { "description ~ \(Self.quoted("/-/security/vulnerabilities/\($0)"))" }
            clauses.append("(\(parts.joined(separator: " OR ")))")
        }
        if !issueIDs.isEmpty {
            let ids = issueIDs.map { id in id.allSatisfy(\.isASCII) && Int(id) != nil ? "id = \(id)" : "id = \(Self.quoted(id))" }
            clauses.append("(\(ids.joined(separator: " OR ")))")
        }
        let (field, direction) = order
        let orderBy = "order by \(field) \(direction)"
        return clauses.isEmpty ? orderBy : clauses.joined(separator: " AND ") + " " + orderBy
    }

    /// A JQL string literal: backslashes and double quotes escaped.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default: out.append(ch)
            }
        }
        return out + "\""
    }

    /// GitLab's clean-up of the search text: the characters `" + . , ; ? | * / % ^ $ # @ [ ] \` removed,
    /// then lower-cased with whitespace collapsed.
    public static func cleanedSearch(_ text: String) -> String {
        let removed: Set<Character> = ["\"", "+", ".", ",", ";", "?", "|", "*", "/", "%", "^", "$", "#", "@", "[", "]", "\\"]
        let kept = String(text.filter { !removed.contains($0) }).lowercased()
        return kept.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
