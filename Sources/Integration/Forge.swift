/// The forges jira-bridge serves, and what differs between them: URLs, words, and how their projects are
/// kept apart in one store.
public enum Forge: String, Sendable, CaseIterable, Equatable, Hashable {
    case gitlab
    case github
    /// Gitea and Forgejo (Forgejo is a fork that sends the same payloads).
    case gitea

    /// The name Jira shows on remote links and the pages show beside a project.
    public var displayName: String {
        switch self {
        case .gitlab: return "GitLab"
        case .github: return "GitHub"
        case .gitea: return "Gitea"
        }
    }

    // MARK: URLs and words

    /// A commit's page: GitLab `/-/commit/<sha>`, GitHub and Gitea `/commit/<sha>`.
    public func commitURL(project webURL: String, sha: String) -> String {
        switch self {
        case .gitlab: return "\(webURL)/-/commit/\(sha)"
        case .github, .gitea: return "\(webURL)/commit/\(sha)"
        }
    }

    /// A merge or pull request's page: GitLab `/-/merge_requests/<iid>`, GitHub `/pull/<n>`, Gitea `/pulls/<n>`.
    public func changeURL(project webURL: String, number: Int64) -> String {
        switch self {
        case .gitlab: return "\(webURL)/-/merge_requests/\(number)"
        case .github: return "\(webURL)/pull/\(number)"
        case .gitea: return "\(webURL)/pulls/\(number)"
        }
    }

    /// A branch's page: GitLab `/-/tree/<b>`, GitHub `/tree/<b>`, Gitea `/src/branch/<b>`.
    public func branchURL(project webURL: String, branch: String) -> String {
        switch self {
        case .gitlab: return "\(webURL)/-/tree/\(Texts.pathSegment(branch))"
        case .github: return "\(webURL)/tree/\(Texts.pathSegment(branch))"
        case .gitea: return "\(webURL)/src/branch/\(Texts.pathSegment(branch))"
        }
    }

    /// "a merge request" on GitLab, "a pull request" elsewhere.
    public var changeReference: String { self == .gitlab ? "a merge request" : "a pull request" }
    /// "Merge request" on GitLab, "Pull request" elsewhere (link titles).
    public var changeTitle: String { self == .gitlab ? "Merge request" : "Pull request" }
    /// How a change is named in notes: "Merge request !7", "Pull request #7".
    public func changeName(_ number: Int64) -> String { self == .gitlab ? "Merge request !\(number)" : "Pull request #\(number)" }

    /// The merge commit a forge writes when a merge or pull request is merged: the change itself closes its
    /// keys, not this commit. GitLab ends it with "See merge request group/project!iid"; GitHub starts it with
    /// "Merge pull request #N from ..."; Gitea with "Merge pull request '...' (#N) from ...".
    public func isChangeMergeCommit(_ message: String) -> Bool {
        switch self {
        case .gitlab:
            guard let last = message.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }) else { return false }
            let line = last.trimmingCharacters(in: " \t\r")
            guard line.hasPrefix("See merge request "), let bang = line.lastIndex(of: "!") else { return false }
            let iid = line[line.index(after: bang)...]
            return !iid.isEmpty && iid.allSatisfy(\.isNumber)
        case .github:
            let first = message.prefix { $0 != "\n" }
            guard first.hasPrefix("Merge pull request #") else { return false }
            let rest = first.dropFirst("Merge pull request #".count)
            let digits = rest.prefix { $0.isNumber }
            return !digits.isEmpty && rest.dropFirst(digits.count).hasPrefix(" from ")
        case .gitea:
            let first = Array(message.prefix { $0 != "\n" })
            guard String(first.prefix(20)) == "Merge pull request '" else { return false }
            // The title may hold anything, quotes included: the last "' (#N) from " decides.
            let marker = Array("' (#")
            var i = first.count - marker.count
            while i >= 20 {
                if Array(first[i..<(i + marker.count)]) == marker {
                    let rest = first[(i + marker.count)...]
                    let digits = rest.prefix { $0.isNumber }
                    if !digits.isEmpty && String(rest.dropFirst(digits.count)).hasPrefix(") from ") { return true }
                }
                i -= 1
            }
            return false
        }
    }

    // MARK: Keeping forges apart

    /// The id a project of this forge is stored under. GitLab projects keep GitLab's id (every existing row,
    /// URL and client stays as it is); GitHub and Gitea repositories get a negative id derived from theirs,
    /// so a repository and a GitLab project with the same number never meet. nil for ids out of range.
    public func storageID(forgeID: Int64) -> Int64? {
        guard forgeID > 0 else { return nil }
        switch self {
        case .gitlab: return forgeID
        case .github, .gitea:
            guard forgeID <= (Int64.max - 3) / 4 else { return nil }
            return -(forgeID * 4 + (self == .github ? 1 : 2))
        }
    }

    /// The forge and the forge's own id of a stored project id.
    public static func identity(storageID: Int64) -> (forge: Forge, forgeID: Int64)? {
        if storageID > 0 { return (.gitlab, storageID) }
        guard storageID < 0, storageID != .min else { return nil }
        let n = -storageID
        switch n % 4 {
        case 1: return (.github, n / 4)
        case 2: return (.gitea, n / 4)
        default: return nil
        }
    }

    /// A full path as stored: GitLab's as it is, another forge's prefixed with the forge (`github:acme/shop`),
    /// so paths and their groups are kept apart per forge. GitLab paths cannot contain `:`.
    public func qualifiedPath(_ path: String) -> String {
        self == .gitlab ? path : "\(rawValue):\(path)"
    }

    /// A stored full path split into its forge and the forge's own path.
    public static func split(qualifiedPath: String) -> (forge: Forge, path: String) {
        if let colon = qualifiedPath.firstIndex(of: ":"), let forge = Forge(rawValue: String(qualifiedPath[..<colon])), forge != .gitlab {
            return (forge, String(qualifiedPath[qualifiedPath.index(after: colon)...]))
        }
        return (.gitlab, qualifiedPath)
    }

    /// How a project or group is named in API and page URLs: GitLab's plain id or path, another forge's
    /// `<forge>:<id or path>` (already percent-decoded).
    public static func reference(_ text: String) -> (forge: Forge, rest: String) {
        let (forge, path) = split(qualifiedPath: text)
        return (forge, path)
    }

    /// The address of a stored project in URLs: `42` for GitLab, `github:123456` for the others.
    public static func address(storageID: Int64) -> String {
        guard let (forge, id) = identity(storageID: storageID), forge != .gitlab else { return String(storageID) }
        return "\(forge.rawValue):\(id)"
    }
}
