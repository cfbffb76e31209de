/// GitLab's Jira issue entities, from Jira's issue documents.
public struct JiraIssueEntities: Sendable {
    public let settings: JiraSettings
    /// The forge's id of the project (`project_id`), and its address in jira-bridge's URLs (`42`, `github:123`).
    public let projectID: Int64
    public let projectAddress: String
    public let publicURL: String

    public init(settings: JiraSettings, projectID: Int64, projectAddress: String? = nil, publicURL: String) {
        self.settings = settings
        self.projectID = projectID
        self.projectAddress = projectAddress ?? String(projectID)
        self.publicURL = publicURL
    }

    /// The Jira web URL without trailing slashes.
    var webBase: String {
        var base = settings.url ?? ""
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    public func listEntity(_ issue: JSONValue) -> JSONValue {
        let fields = issue["fields"] ?? .null
        let key = issue["key"]?.string ?? ""
        let labels: [JSONValue] = (fields["labels"]?.array ?? []).compactMap(\.string).map { name in
            .object([
                "id": .string(name), "title": .string(name), "name": .string(name), "color": .string("#0052CC"), "text_color": .string("#FFFFFF"),
            ])
        }
        var assignees: [JSONValue] = []
        if let assignee = fields["assignee"], !assignee.isNull { assignees.append(user(assignee)) }
        var doc: [String: JSONValue] = [:]
        doc["project_id"] = .number(Double(projectID))
        doc["title"] = fields["summary"] ?? .null
        doc["created_at"] = Self.utc(fields["created"]?.string)
        doc["updated_at"] = Self.utc(fields["updated"]?.string)
        doc["closed_at"] = Self.utc(fields["resolutiondate"]?.string)
        doc["status"] = fields["status"]?["name"] ?? .null
        doc["labels"] = .array(labels)
        var author = JSONValue.null
        if let reporter = fields["reporter"], !reporter.isNull { author = user(reporter) }
        doc["author"] = author
        doc["assignees"] = .array(assignees)
        doc["web_url"] = .string("\(webBase)/browse/\(key)")
        doc["gitlab_web_url"] = .string("\(publicURL)/projects/\(projectAddress)/integrations/jira/issues/\(key)")
        doc["references"] = .object(["relative": .string(key)])
        doc["external_tracker"] = .string("jira")
        return .object(doc)
    }

    public func detailEntity(_ issue: JSONValue) -> JSONValue {
        guard case .object(var doc) = listEntity(issue) else { return .null }
        let fields = issue["fields"] ?? .null
        let rendered = issue["renderedFields"] ?? .null
        let links = HTMLSanitizer.Links(base: webBase, refusedOrigin: publicURL)
        doc["description_html"] = rendered["description"]?.string.map { .string(HTMLSanitizer.sanitize($0, links: links)) } ?? .null
        doc["state"] = .string(fields["resolutiondate"].map { $0.isNull ? "opened" : "closed" } ?? "opened")
        doc["due_date"] = fields["duedate"] ?? .null
        let renderedComments = rendered["comment"]?["comments"]?.array ?? []
        var renderedByID: [String: String] = [:]
        for c in renderedComments {
            if let id = c["id"]?.idString, let body = c["body"]?.string { renderedByID[id] = body }
        }
        let comments: [JSONValue] = (fields["comment"]?["comments"]?.array ?? []).map { c in
            let id = c["id"]?.idString ?? ""
            let html = renderedByID[id] ?? HTMLSanitizer.escape(c["body"]?.string ?? "")
            return .object([
                "id": .string(id),
                "body_html": .string(HTMLSanitizer.sanitize(html, links: links)),
                "created_at": Self.utc(c["created"]?.string),
                "updated_at": Self.utc(c["updated"]?.string),
                "author": c["author"].map(user) ?? .null,
            ])
        }
        doc["comments"] = .array(comments)
        return .object(doc)
    }

    /// `{name, web_url, avatar_url}`: a Cloud user links to `/people/<accountId>`, a Server user to
    /// `/secure/ViewProfile.jspa?name=<name>`.
    public func user(_ u: JSONValue) -> JSONValue {
        let webURL: String
        if let accountID = u["accountId"]?.string, !accountID.isEmpty {
            webURL = "\(webBase)/people/\(Texts.pathSegment(accountID))"
        } else {
            let name = u["name"]?.string ?? ""
            webURL = "\(webBase)/secure/ViewProfile.jspa?name=\(Texts.queryValue(name))"
        }
        return .object([
            "name": u["displayName"] ?? .null,
            "web_url": .string(webURL),
            "avatar_url": u["avatarUrls"]?["48x48"] ?? .null,
        ])
    }

    /// Jira's `2024-01-31T12:00:00.000+0100` as GitLab's UTC `2024-01-31T11:00:00.000Z`.
    public static func utc(_ text: String?) -> JSONValue {
        guard let text, let instant = JiraTimestamp(text) else { return .null }
        return .string(instant.utcText)
    }
}

/// A Jira timestamp (`2024-01-31T12:00:00.000+0100`, `+01:00`, or no zone for UTC), as milliseconds since 1970.
public struct JiraTimestamp: Sendable, Equatable {
    public var millis: Int64

    public init(millis: Int64) { self.millis = millis }

    /// Forges' times read the same way: `2011-12-12T14:27:31+02:00`, `2019-05-15T15:19:25Z`, GitLab's
    /// `2013-12-03 17:23:34 UTC` (what follows the seconds, a zone or not, is read as UTC unless it is an offset).

    public init?(_ text: String) {
        let u = Array(text.utf8.prefix(64))
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var v = 0
            for b in u[from..<(from + count)] {
                guard b >= 48 && b <= 57 else { return nil }
                v = v * 10 + Int(b - 48)
            }
            return v
        }
        guard u.count >= 19, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var millis = 0
        if i < u.count, u[i] == 46 {  // fraction: milliseconds kept
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48 && u[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(u[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 3 { millis *= 10; digits += 1 }
        }
        var offset = 0
        // GitLab writes some offsets after a space (`2021-04-28 21:50:00 +0200`).
        if i + 1 < u.count, u[i] == 32, u[i + 1] == 43 || u[i + 1] == 45 { i += 1 }
        if i < u.count, u[i] == 43 || u[i] == 45 {  // +hhmm, +hh:mm
            let sign = u[i] == 45 ? -1 : 1
            guard let h = number(i + 1, 2) else { return nil }
            let minuteStart = i + 3 < u.count && u[i + 3] == 58 ? i + 4 : i + 3
            let m = number(minuteStart, 2) ?? 0
            offset = sign * (h * 3600 + m * 60)
        }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        self.millis = seconds * 1000 + Int64(millis)
    }

    /// `2024-01-31T11:00:00.000Z`.
    public var utcText: String {
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let ms = Int(millis - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let inDay = Int(seconds - days * 86_400)
        let (y, m, d) = Self.civil(fromDays: Int(days))
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(inDay / 3600, 2)):\(pad(inDay / 60 % 60, 2)):\(pad(inDay % 60, 2)).\(pad(ms, 3))Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (the civil-calendar arithmetic of era, year of era
    /// and day of year, with years starting in March so the leap day comes last).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
