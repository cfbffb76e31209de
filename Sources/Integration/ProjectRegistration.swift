/// What registering a project needs (from the API or from a webhook payload): a value the core builds and
/// the store saves, with the decision of what saving it means.
public struct ProjectRegistration: Sendable, Equatable {
    public var id: Int64
    public var pathWithNamespace: String
    public var name: String
    public var webURL: String
    public var defaultBranch: String
    /// Whether this registration may take its path from another project id that holds it: a webhook signed
    /// with the namespace's own secret (`AcceptedSecrets.provesNamespace`), or an admin's `take_over_path`.
    public var mayTakeOverPath = false
    /// The most projects there may be after a webhook registers this one (`JIRA_BRIDGE_MAX_PROJECTS`); nil for
    /// no limit (an admin's registration through the API).
    public var projectLimit: Int?

    public init(id: Int64, pathWithNamespace: String, name: String, webURL: String, defaultBranch: String) {
        self.id = id
        self.pathWithNamespace = pathWithNamespace
        self.name = name
        self.webURL = webURL
        self.defaultBranch = defaultBranch
    }

    /// The project a webhook names, under its stored id and path (`Forge.storageID`, `Forge.qualifiedPath`):
    /// a GitHub repository never meets a GitLab project with the same id or path. nil for an id out of range.
    public init?(_ project: ForgeProject) {
        guard let id = project.forge.storageID(forgeID: project.id) else { return nil }
        // A webhook is not refused for a long name: the name is cut to the limit.
        self.init(
            id: id, pathWithNamespace: project.forge.qualifiedPath(project.pathWithNamespace), name: String(project.name.prefix(255)),
            webURL: project.webURL, defaultBranch: project.defaultBranch)
    }

    /// A project registered through the API on `forge`, with the forge's own id and path.
    public init?(forge: Forge, forgeID: Int64, path: String, name: String, webURL: String, defaultBranch: String) {
        guard let id = forge.storageID(forgeID: forgeID) else { return nil }
        self.init(id: id, pathWithNamespace: forge.qualifiedPath(path), name: name, webURL: webURL, defaultBranch: defaultBranch)
    }

    /// The namespace whose groups the project lives in (created with their parents when missing).
    public var namespace: String? { Namespace.of(pathWithNamespace) }

    /// What saving the registration does, given what the store holds.
    public enum Step: Sendable, Equatable {
        /// The project is known and nothing the webhook says changes it.
        case keep
        /// Known: it follows the forge's default branch (a webhook changes nothing else, settings included).
        case followDefaultBranch(String)
        /// Another project id has this path: nothing is saved.
        case conflict(String)
        /// Another project id has this path and this registration may take it: that project moves aside to
        /// `displacedPath` (keeping its settings and history), then this one is created or replaced.
        case takeOver(from: Int64)
        /// New: created in its namespace's groups, then `Inheritance.inheritsOnCreation` decides whether it
        /// takes the nearest default.
        case create
        /// The API's register: the known project is updated in place with every field.
        case replace
    }

    /// A project first seen in a webhook is registered; a known one keeps its settings but follows the
    /// forge's default branch.
    public func webhookStep(knownDefaultBranch: String?, pathOwner: Int64?) -> Step {
        if let known = knownDefaultBranch {
            return known != defaultBranch && !defaultBranch.isEmpty ? .followDefaultBranch(defaultBranch) : .keep
        }
        if let owner = pathOwner, owner != id {
            // Anyone with the instance secret could otherwise take any path first and lock the real project out
            // (M5 of the second robustness round).
            return mayTakeOverPath
                ? .takeOver(from: owner)
                : .conflict(
                    "path \(pathWithNamespace) is registered to another project id; a webhook may take it only when signed with a secret "
                        + "of the project's group, or after an admin confirms with POST /api/v4/projects and take_over_path=true")
        }
        return .create
    }

    /// `POST /api/v4/projects`: creates or updates the project with this id; a path of another id conflicts
    /// unless the admin confirms the move with `take_over_path`.
    public func apiStep(isKnown: Bool, pathOwner: Int64?) -> Step {
        if let owner = pathOwner, owner != id {
            return mayTakeOverPath
                ? .takeOver(from: owner)
                : .conflict(
                    "path \(pathWithNamespace) belongs to project \(owner); send take_over_path=true to give it to this id "
                        + "(project \(owner) keeps its settings under \(Self.displacedPath(pathWithNamespace, id: owner)))")
        }
        return isKnown ? .replace : .create
    }

    /// Where a project that lost its path to another id lives on: its path with `~` and its own id, which no
    /// forge path can be (`~` is not allowed in GitLab, GitHub or Gitea paths), so it never conflicts again.
    public static func displacedPath(_ path: String, id: Int64) -> String { "\(path)~\(id)" }
}

extension ProjectRegistration {
    /// The longest project name kept (GitLab's own limit).
    public static let maxNameLength = 255

    /// What is wrong with a project's `web_url`, or nil: the links jira-bridge writes into Jira start with it,
    /// so it must be an absolute http(s) URL (never `javascript:`, `data:`, `//host` or a relative path) with
    /// no user name or password in it. Empty is allowed (no link).
    public static func webURLProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return nil }
        guard text.count <= 2048 else { return "web_url is too long (maximum is 2048 characters)" }
        guard JiraURL(text) != nil, !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            return "web_url is invalid: it must be an absolute http or https URL"
        }
        if JiraURL.hasUserInfo(text) { return "web_url is invalid: it must not contain a user name or password" }
        return nil
    }

    /// What is wrong with a project's name, or nil.
    public static func nameProblem(_ text: String) -> String? {
        text.count > maxNameLength ? "name is too long (maximum is \(maxNameLength) characters)" : nil
    }
}
