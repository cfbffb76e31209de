/// GitLab's "Jira verification" and "require an associated Jira issue", as commit statuses any forge's branch
/// protection can require. Pure decisions: which commits are checked against which key, and what each check
/// concludes from Jira's answers.
///
/// GitLab's rules: each commit's first key is the one checked; an issue that does not exist fails the exists
/// check; an unassigned issue passes the assignee check, an assigned one passes when its assignee's e-mail or
/// display name is the commit author's; the status check passes when the issue's status is one of the allowed
/// names (compared without case).
public enum JiraIssueCheck {
    /// The status on a push's head commit.
    public static let pushContext = "jira-bridge/jira-issue"
    /// The status on a merge or pull request's head commit.
    public static let mergeRequestContext = "jira-bridge/merge-request"
    /// Commits checked per push: the forge lists at most 20 (GitHub) to 100 (GitLab) anyway.
    public static let commitsPerPush = 100

    public struct Rules: Sendable, Equatable {
        public var requireKey: Bool
        public var exists: Bool
        public var assignee: Bool
        public var status: Bool
        public var allowedStatuses: [String]

        public init(requireKey: Bool, exists: Bool, assignee: Bool, status: Bool, allowedStatuses: [String]) {
            self.requireKey = requireKey
            self.exists = exists
            self.assignee = assignee
            self.status = status
            self.allowedStatuses = allowedStatuses
        }

        public init(_ s: JiraSettings) {
            self.init(
                requireKey: s.jiraCheckEnabled, exists: s.jiraExistsCheckEnabled, assignee: s.jiraAssigneeCheckEnabled,
                status: s.jiraStatusCheckEnabled, allowedStatuses: JiraIssueCheck.allowedStatuses(s.jiraAllowedStatuses))
        }

        /// Whether a push is checked at all.
        public var active: Bool { requireKey || exists || assignee || status }
        /// Whether Jira must be asked.
        public var needsJira: Bool { exists || assignee || status }
    }

    /// A commit as the check reads it.
    public struct Commit: Sendable, Equatable {
        public var sha: String
        /// Its first line (what the explanation page shows).
        public var title: String
        /// Its first key, nil when it names none.
        public var key: String?
        public var authorName: String
        public var authorEmail: String?

        public init(sha: String, title: String, key: String?, authorName: String, authorEmail: String?) {
            self.sha = sha
            self.title = title
            self.key = key
            self.authorName = authorName
            self.authorEmail = authorEmail
        }
    }

    /// What Jira said of an issue; `nil` (in `judge`) when it was not asked.
    public struct Issue: Sendable, Equatable {
        public var exists: Bool
        public var status: String?
        public var assigneeName: String?
        public var assigneeEmail: String?

        public init(exists: Bool, status: String?, assigneeName: String?, assigneeEmail: String?) {
            self.exists = exists
            self.status = status
            self.assigneeName = assigneeName
            self.assigneeEmail = assigneeEmail
        }
    }

    /// The commits a push checks, each with its first key.
    public static func commits(_ push: PushEvent, extractor: ReferenceExtractor) -> [Commit] {
        push.commits.prefix(commitsPerPush).map { c in
            Commit(
                sha: c.id, title: Texts.cut(c.title, to: 200), key: extractor.allKeys(c.message).first, authorName: c.authorName,
                authorEmail: c.authorEmail)
        }
    }

    /// Why `commit` fails `rules`, or nil when it passes. `issue` is Jira's answer for its key.
    public static func failure(_ commit: Commit, issue: Issue?, rules: Rules) -> String? {
        let short = String(commit.sha.prefix(8))
        guard let key = commit.key else { return rules.active ? "\(short) mentions no Jira issue" : nil }
        guard rules.needsJira, let issue else { return nil }
        if !issue.exists { return "\(short): \(key) does not exist in Jira" }
        if rules.status {
            let status = issue.status ?? ""
            if !rules.allowedStatuses.contains(where: { $0.lowercased() == status.lowercased() }) {
                return
                    "\(short): \(key) is \(status.isEmpty ? "in no status" : "in \(status)"), not \(rules.allowedStatuses.joined(separator: " or "))"
            }
        }
        if rules.assignee, issue.assigneeName != nil || issue.assigneeEmail != nil {
            let byEmail =
                issue.assigneeEmail.map { a in commit.authorEmail.map { $0.lowercased() == a.lowercased() } ?? false } ?? false
            let byName = issue.assigneeName.map { $0 == commit.authorName } ?? false
            if !byEmail && !byName {
                return "\(short): \(key) is assigned to \(issue.assigneeName ?? issue.assigneeEmail ?? "someone else"), not to \(commit.authorName)"
            }
        }
        return nil
    }

    /// The status a list of results concludes: success when none failed, else failure naming the first.
    public static func conclusion(_ failures: [String?], checked: Int) -> (success: Bool, description: String) {
        let failed = failures.compactMap { $0 }
        guard let first = failed.first else {
            return (true, checked == 1 ? "The commit names a valid Jira issue" : "All \(checked) commits name a valid Jira issue")
        }
        return (false, failed.count == 1 ? first : "\(failed.count) of \(checked) commits fail; first: \(first)")
    }

    /// A merge or pull request's check: its title or description must mention a key.
    public static func mergeRequestFailure(_ mr: MergeRequestEvent, extractor: ReferenceExtractor) -> String? {
        extractor.allKeys(mr.title + "\n\n" + mr.description).isEmpty ? "The title and description of \(changeName(mr)) mention no Jira issue" : nil
    }

    /// `merge request !7` (GitLab), `pull request #7` (GitHub, Gitea).
    public static func changeName(_ mr: MergeRequestEvent) -> String {
        mr.project.forge == .gitlab ? "merge request !\(mr.iid)" : "pull request #\(mr.iid)"
    }

    /// Whether `text` has a Jira issue key's shape: a project key (a letter, then letters, digits or `_`), a
    /// hyphen, a number (what Jira's webhooks name, in any case Jira allows).
    public static func isIssueKey(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard let dash = u.lastIndex(of: 45), dash > 0, dash < u.count - 1, u.count <= 255 else { return false }
        func letter(_ b: UInt8) -> Bool { (65...90).contains(b) || (97...122).contains(b) }
        func digit(_ b: UInt8) -> Bool { (48...57).contains(b) }
        return letter(u[0]) && u[..<dash].allSatisfy { letter($0) || digit($0) || $0 == 95 } && u[(dash + 1)...].allSatisfy(digit)
    }

    /// `jira_allowed_statuses_as_string` as GitLab keeps it: split at commas, stripped, blanks and repeats
    /// dropped.
    public static func allowedStatuses(_ text: String) -> [String] {
        var seen = Set<String>()
        return text.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
