import Foundation
import Integration

/// How events and deliveries are written in their JSON columns: an explicit, versioned format, apart
/// from the core's types. Renaming a field in the core breaks the build here instead of silently breaking
/// rows that are already stored.
///
/// - Format 1 (now): `{"format": 1, "push": {...}}`, `{"format": 1, "comment": {"body": ...}}`. Fields added later
///   are optional (`forge`, `iconTitle`): absent, they read as GitLab's.
/// - Format 0 (before 2026-12): Swift's synthesized `Codable` of the core enums, the same fields inside an
///   extra `"_0"` object (`{"push": {"_0": {...}}}`), no `format`. Still read; never written.
enum StoredFormat {
    static let current = 1

    struct UnknownFormat: Error, CustomStringConvertible {
        var found: Int
        var description: String { "stored format \(found) is newer than this build reads (\(StoredFormat.current)); upgrade jira-bridge" }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// The keys of an enum case's object: `push`, `mergeRequest`, `comment`, ..., and `format`.
struct CaseKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    static let format = CaseKey("format")
    /// Format 0's wrapper of a case's single value.
    static let value0 = CaseKey("_0")
}

extension KeyedDecodingContainer where Key == CaseKey {
    /// The format of the row, checking it is one this build reads.
    func storedFormat() throws -> Int {
        let format = try decodeIfPresent(Int.self, forKey: .format) ?? 0
        guard format <= StoredFormat.current else { throw StoredFormat.UnknownFormat(found: format) }
        return format
    }

    /// A case's value: under the case key (format 1), or inside its `_0` object (format 0).
    func caseValue<T: Decodable>(_ type: T.Type, _ name: String, format: Int) throws -> T {
        if format == 0 {
            return try nestedContainer(keyedBy: CaseKey.self, forKey: CaseKey(name)).decode(type, forKey: .value0)
        }
        return try decode(type, forKey: CaseKey(name))
    }
}

// MARK: Events

/// `events.payload`: the normalised forge event.
struct StoredForgeEvent: Codable {
    var event: ForgeEvent

    init(_ event: ForgeEvent) { self.event = event }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CaseKey.self)
        let format = try c.storedFormat()
        if c.contains(CaseKey("push")) {
            event = .push(try c.caseValue(Push.self, "push", format: format).value)
        } else if c.contains(CaseKey("mergeRequest")) {
            event = .mergeRequest(try c.caseValue(MergeRequest.self, "mergeRequest", format: format).value)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "no known event kind"))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CaseKey.self)
        try c.encode(StoredFormat.current, forKey: .format)
        switch event {
        case .push(let p): try c.encode(Push(p), forKey: CaseKey("push"))
        case .mergeRequest(let m): try c.encode(MergeRequest(m), forKey: CaseKey("mergeRequest"))
        }
    }

    struct Project: Codable {
        var id: Int64
        var pathWithNamespace: String
        var name: String
        var namespaceName: String
        var webURL: String
        var defaultBranch: String
        /// Absent in rows written before other forges existed: GitLab.
        var forge: String?

        init(_ p: ForgeProject) {
            id = p.id; pathWithNamespace = p.pathWithNamespace; name = p.name; namespaceName = p.namespaceName
            webURL = p.webURL; defaultBranch = p.defaultBranch; forge = p.forge == .gitlab ? nil : p.forge.rawValue
        }
        var value: ForgeProject {
            ForgeProject(id: id, pathWithNamespace: pathWithNamespace, name: name, namespaceName: namespaceName, webURL: webURL,
                         defaultBranch: defaultBranch, forge: forge.flatMap(Forge.init(rawValue:)) ?? .gitlab)
        }
    }

    struct User: Codable {
        var name: String
        var username: String
        var email: String?

        init(_ u: ForgeUser) { name = u.name; username = u.username; email = u.email }
        var value: ForgeUser { ForgeUser(name: name, username: username, email: email) }
    }

    struct Commit: Codable {
        var id: String
        var message: String
        var url: String
        var authorName: String
        var authorEmail: String?

        init(_ c: ForgeCommit) { id = c.id; message = c.message; url = c.url; authorName = c.authorName; authorEmail = c.authorEmail }
        var value: ForgeCommit { ForgeCommit(id: id, message: message, url: url, authorName: authorName, authorEmail: authorEmail) }
    }

    struct Push: Codable {
        var project: Project
        var ref: String
        var before: String
        var after: String
        var commits: [Commit]
        var pusher: User
        var omittedCommits: Int?

        init(_ p: PushEvent) {
            project = Project(p.project); ref = p.ref; before = p.before; after = p.after
            commits = p.commits.map(Commit.init); pusher = User(p.pusher); omittedCommits = p.omittedCommits
        }
        var value: PushEvent {
            PushEvent(project: project.value, ref: ref, before: before, after: after, commits: commits.map(\.value), pusher: pusher.value,
                      omittedCommits: omittedCommits)
        }
    }

    struct MergeRequest: Codable {
        var project: Project
        var iid: Int64
        var title: String
        var description: String
        var action: String
        var sourceBranch: String
        var targetBranch: String
        var lastCommitID: String?
        var url: String
        var user: User

        init(_ m: MergeRequestEvent) {
            project = Project(m.project); iid = m.iid; title = m.title; description = m.description; action = m.action.rawValue
            sourceBranch = m.sourceBranch; targetBranch = m.targetBranch; lastCommitID = m.lastCommitID; url = m.url; user = User(m.user)
        }
        var value: MergeRequestEvent {
            MergeRequestEvent(project: project.value, iid: iid, title: title, description: description,
                              action: MergeRequestEvent.Action(rawValue: action) ?? .other, sourceBranch: sourceBranch,
                              targetBranch: targetBranch, lastCommitID: lastCommitID, url: url, user: user.value)
        }
    }
}
