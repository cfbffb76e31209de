/// What registering a project needs (from the API or from a webhook payload): a value the core builds and
/// the store saves, with the decision of what saving it means.
public struct ProjectRegistration: Sendable, Equatable {
    public var id: Int64
    public var pathWithNamespace: String
    public var name: String
    public var webURL: String
    public var defaultBranch: String

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
        self.init(id: id, pathWithNamespace: project.forge.qualifiedPath(project.pathWithNamespace), name: project.name,
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
        if let owner = pathOwner, owner != id { return .conflict("path \(pathWithNamespace) belongs to another project id") }
        return .create
    }

    /// `POST /api/v4/projects`: creates or updates the project with this id; a path of another id conflicts.
    public func apiStep(isKnown: Bool, pathOwner: Int64?) -> Step {
        if let owner = pathOwner, owner != id { return .conflict("path \(pathWithNamespace) belongs to project \(owner)") }
        return isKnown ? .replace : .create
    }
}
