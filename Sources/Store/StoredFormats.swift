import Integration

/// How events and deliveries are written in their JSON columns: an explicit, versioned format, apart
/// from the core's types. Renaming a field in the core breaks the build here instead of silently breaking
/// rows that are already stored.
///
/// - Format 1 (now): `{"format": 1, "push": {...}}`, `{"format": 1, "comment": {"body": ...}}`. Fields added later
///   are optional (`forge`, `iconTitle`): absent, they read as GitLab's.
/// - Format 0 (before 2026-12): Swift's synthesized `Codable` of the core enums, the same fields inside an
///   extra `"_0"` object (`{"push": {"_0": {...}}}`), no `format`. Still read; never written.
///
/// Rows are written by `JSONWriter` and read by `JSONValue.parse`, field by field: `JSONEncoder` and
/// `JSONDecoder` through `Codable` were a fifth of the CPU of each webhook (BENCHMARKS.md, "Webhook intake").
enum StoredFormat {
    static let current = 1

    struct UnknownFormat: Error, CustomStringConvertible {
        var found: Int
        var description: String { "stored format \(found) is newer than this build reads (\(StoredFormat.current)); upgrade jira-bridge" }
    }

    /// A row that does not have the fields its format has.
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    /// The row's object, its format checked, and the value of its case: one of `cases`, under the case
    /// key (format 1) or inside its `_0` object (format 0).
    static func read(_ text: String, cases: [String]) throws -> (name: String, value: Fields) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(text)
        } catch {
            throw Unreadable(description: "the stored row is not JSON: \(error)")
        }
        guard case .object(let row) = document else { throw Unreadable(description: "the stored row is not a JSON object") }
        let format: Int
        switch row["format"] {
        case nil, .null?: format = 0
        case .number(let n)?:
            guard let f = n.exactInteger, f >= 0 else { throw Unreadable(description: "format is not a version number") }
            guard f <= current else { throw UnknownFormat(found: Int(clamping: f)) }
            format = Int(f)
        default: throw Unreadable(description: "format is not a version number")
        }
        for name in cases {
            guard var value = row[name] else { continue }
            if format == 0, let wrapped = value["_0"] { value = wrapped }
            guard case .object(let fields) = value else { throw Unreadable(description: "\(name) is not an object") }
            return (name, Fields(object: fields, path: name))
        }
        throw Unreadable(description: "no known kind in the stored row (\(cases.joined(separator: ", ")))")
    }

    /// A row's first line: `{"format":1,"<case>":`; the caller writes the value and `end`s it.
    static func begin(_ name: StaticString, capacity: Int = 512) -> JSONWriter {
        var writer = JSONWriter(capacity: capacity)
        writer.beginObject()
        writer.field("format", Int64(current))
        writer.key(name)
        return writer
    }

    static func end(_ writer: inout JSONWriter) -> String {
        writer.endObject()
        return writer.text
    }
}

/// The fields of one stored object, read with the name of what is missing in the error.
struct Fields {
    let object: [String: JSONValue]
    let path: String

    func fail(_ name: String, _ what: String) -> StoredFormat.Unreadable {
        StoredFormat.Unreadable(description: "\(path).\(name) is missing or not \(what)")
    }

    func string(_ name: String) throws -> String {
        guard let s = object[name]?.string else { throw fail(name, "a string") }
        return s
    }

    /// Absent or null is nil; another type is an error.
    func optionalString(_ name: String) throws -> String? {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw fail(name, "a string")
        }
    }

    func int64(_ name: String) throws -> Int64 {
        guard let n = object[name]?.integer else { throw fail(name, "an integer") }
        return n
    }

    func optionalInt(_ name: String) throws -> Int? {
        switch object[name] {
        case nil, .null?: return nil
        case .number(let n)?:
            guard let i = n.exactInteger else { throw fail(name, "an integer") }
            return Int(i)
        default: throw fail(name, "an integer")
        }
    }

    func bool(_ name: String) throws -> Bool {
        guard let b = object[name]?.bool else { throw fail(name, "true or false") }
        return b
    }

    func strings(_ name: String) throws -> [String] {
        guard let items = object[name]?.array else { throw fail(name, "a list of strings") }
        return try items.map { item in
            guard let s = item.string else { throw fail(name, "a list of strings") }
            return s
        }
    }

    func nested(_ name: String) throws -> Fields {
        guard let o = object[name]?.object else { throw fail(name, "an object") }
        return Fields(object: o, path: "\(path).\(name)")
    }

    func list(_ name: String) throws -> [Fields] {
        guard let items = object[name]?.array else { throw fail(name, "a list") }
        return try items.enumerated().map { i, item in
            guard let o = item.object else { throw fail("\(name)[\(i)]", "an object") }
            return Fields(object: o, path: "\(path).\(name)[\(i)]")
        }
    }
}

// MARK: Events

/// `events.payload`: the normalised forge event, in the fields below (format 1 and format 0 alike).
enum StoredEventFormat {
    static func encode(_ event: ForgeEvent) -> String {
        switch event {
        case .push(let p):
            var w = StoredFormat.begin("push", capacity: 512 + p.commits.reduce(0) { $0 + $1.message.utf8.count + 200 })
            w.beginObject()
            write(p.project, to: &w)
            w.field("ref", p.ref)
            w.field("before", p.before)
            w.field("after", p.after)
            w.key("commits")
            w.beginArray()
            for c in p.commits {
                w.beginObject()
                w.field("id", c.id)
                w.field("message", c.message)
                w.field("url", c.url)
                w.field("authorName", c.authorName)
                w.field("authorEmail", c.authorEmail)
                w.field("timestamp", c.timestamp)
                w.field("fileCount", c.fileCount.map(Int64.init))
                w.endObject()
            }
            w.endArray()
            write(p.pusher, as: "pusher", to: &w)
            w.field("omittedCommits", p.omittedCommits.map(Int64.init))
            w.endObject()
            return StoredFormat.end(&w)
        case .mergeRequest(let m):
            var w = StoredFormat.begin("mergeRequest", capacity: 768 + m.title.utf8.count + m.description.utf8.count)
            w.beginObject()
            write(m.project, to: &w)
            w.field("iid", m.iid)
            w.field("title", m.title)
            w.field("description", m.description)
            w.field("action", m.action.rawValue)
            w.field("sourceBranch", m.sourceBranch)
            w.field("targetBranch", m.targetBranch)
            w.field("lastCommitID", m.lastCommitID)
            w.field("url", m.url)
            write(m.user, as: "user", to: &w)
            if let d = m.details {
                w.key("details")
                w.beginObject()
                w.field("state", d.state.rawValue)
                w.field("draft", d.draft)
                w.field("updatedAt", d.updatedAt)
                w.field("author", d.author)
                w.field("commentCount", Int64(d.commentCount))
                w.key("reviewers")
                w.beginArray()
                for r in d.reviewers { w.value(.string(r)) }
                w.endArray()
                w.endObject()
            }
            w.endObject()
            return StoredFormat.end(&w)
        case .pipeline(let p):
            var w = StoredFormat.begin("pipeline", capacity: 768 + p.commitMessage.utf8.count + p.titles.reduce(0) { $0 + $1.utf8.count })
            w.beginObject()
            write(p.project, to: &w)
            w.field("workflowID", p.workflowID)
            w.field("workflowName", p.workflowName)
            w.field("runNumber", p.runNumber)
            w.field("state", p.state.rawValue)
            w.field("ref", p.ref)
            w.field("sha", p.sha)
            w.field("commitMessage", p.commitMessage)
            w.field("titles", p.titles)
            w.field("url", p.url)
            w.field("updatedAt", p.updatedAt)
            w.endObject()
            return StoredFormat.end(&w)
        case .deployment(let d):
            var w = StoredFormat.begin("deployment", capacity: 768 + d.commitMessage.utf8.count + d.description.utf8.count)
            w.beginObject()
            write(d.project, to: &w)
            w.field("deploymentID", d.deploymentID)
            w.field("environment", d.environment)
            w.field("tier", d.tier)
            w.field("state", d.state.rawValue)
            w.field("ref", d.ref)
            w.field("sha", d.sha)
            w.field("commitMessage", d.commitMessage)
            w.field("description", d.description)
            w.field("url", d.url)
            w.field("updatedAt", d.updatedAt)
            w.endObject()
            return StoredFormat.end(&w)
        }
    }

    /// `forge` is left out for GitLab: rows written before other forges existed have none.
    static func write(_ p: ForgeProject, to w: inout JSONWriter) {
        w.key("project")
        w.beginObject()
        w.field("id", p.id)
        w.field("pathWithNamespace", p.pathWithNamespace)
        w.field("name", p.name)
        w.field("namespaceName", p.namespaceName)
        w.field("webURL", p.webURL)
        w.field("defaultBranch", p.defaultBranch)
        w.field("forge", p.forge == .gitlab ? nil : p.forge.rawValue)
        w.endObject()
    }

    static func write(_ u: ForgeUser, as name: StaticString, to w: inout JSONWriter) {
        w.key(name)
        w.beginObject()
        w.field("name", u.name)
        w.field("username", u.username)
        w.field("email", u.email)
        w.endObject()
    }

    static func decode(_ text: String) throws -> ForgeEvent {
        let (name, f) = try StoredFormat.read(text, cases: ["push", "mergeRequest", "pipeline", "deployment"])
        if name == "pipeline" {
            return .pipeline(
                PipelineEvent(
                    project: try project(f.nested("project")), workflowID: try f.string("workflowID"),
                    workflowName: try f.string("workflowName"), runNumber: try f.int64("runNumber"),
                    state: PipelineEvent.State(rawValue: try f.string("state")) ?? .unknown, ref: try f.string("ref"),
                    sha: try f.string("sha"), commitMessage: try f.string("commitMessage"), titles: try f.strings("titles"),
                    url: try f.string("url"), updatedAt: try f.optionalString("updatedAt")))
        }
        if name == "deployment" {
            return .deployment(
                DeploymentEvent(
                    project: try project(f.nested("project")), deploymentID: try f.int64("deploymentID"),
                    environment: try f.string("environment"), tier: try f.optionalString("tier"),
                    state: DeploymentEvent.State(rawValue: try f.string("state")) ?? .unknown, ref: try f.string("ref"),
                    sha: try f.string("sha"), commitMessage: try f.string("commitMessage"), description: try f.string("description"),
                    url: try f.string("url"), updatedAt: try f.optionalString("updatedAt")))
        }
        if name == "push" {
            return .push(
                PushEvent(
                    project: try project(f.nested("project")), ref: try f.string("ref"), before: try f.string("before"),
                    after: try f.string("after"),
                    commits: try f.list("commits").map { c in
                        ForgeCommit(
                            id: try c.string("id"), message: try c.string("message"), url: try c.string("url"),
                            authorName: try c.string("authorName"), authorEmail: try c.optionalString("authorEmail"),
                            timestamp: try c.optionalString("timestamp"), fileCount: try c.optionalInt("fileCount"))
                    },
                    pusher: try user(f.nested("pusher")), omittedCommits: try f.optionalInt("omittedCommits")))
        }
        return .mergeRequest(
            MergeRequestEvent(
                project: try project(f.nested("project")), iid: try f.int64("iid"), title: try f.string("title"),
                description: try f.string("description"), action: MergeRequestEvent.Action(rawValue: try f.string("action")) ?? .other,
                sourceBranch: try f.string("sourceBranch"), targetBranch: try f.string("targetBranch"),
                lastCommitID: try f.optionalString("lastCommitID"), url: try f.string("url"), user: try user(f.nested("user")),
                details: f.object["details"]?.object == nil ? nil : try details(f.nested("details"))))
    }

    static func details(_ f: Fields) throws -> ChangeDetails {
        ChangeDetails(
            state: ChangeDetails.State(rawValue: try f.string("state")) ?? .open, draft: try f.bool("draft"),
            updatedAt: try f.optionalString("updatedAt"), author: try f.optionalString("author"),
            commentCount: try f.optionalInt("commentCount") ?? 0,
            reviewers: try f.strings("reviewers"))
    }

    static func project(_ f: Fields) throws -> ForgeProject {
        ForgeProject(
            id: try f.int64("id"), pathWithNamespace: try f.string("pathWithNamespace"), name: try f.string("name"),
            namespaceName: try f.string("namespaceName"), webURL: try f.string("webURL"), defaultBranch: try f.string("defaultBranch"),
            forge: try f.optionalString("forge").flatMap(Forge.init(rawValue:)) ?? .gitlab)
    }

    static func user(_ f: Fields) throws -> ForgeUser {
        ForgeUser(name: try f.string("name"), username: try f.string("username"), email: try f.optionalString("email"))
    }
}
