/// What an API token may do.
public enum TokenRole: String, Sendable, CaseIterable {
    case admin, maintainer, reporter

    /// Whether this role includes everything `other` may do.
    public func includes(_ other: TokenRole) -> Bool {
        rank >= other.rank
    }

    private var rank: Int {
        switch self {
        case .reporter: return 1
        case .maintainer: return 2
        case .admin: return 3
        }
    }
}

/// Where an API token applies.
public enum TokenScope: Sendable, Equatable, Hashable {
    case instance
    case group(Int64)
    case project(Int64)

    public var kind: String {
        switch self {
        case .instance: return "instance"
        case .group: return "group"
        case .project: return "project"
        }
    }

    /// The same place as a level of the group tree.
    public var level: IntegrationLevel {
        switch self {
        case .instance: return .instance
        case .group(let id): return .group(id)
        case .project(let id): return .project(id)
        }
    }
}

/// Who is calling: the instance admin (from configuration) or a stored API token.
public struct Identity: Sendable, Equatable {
    public var tokenID: Int64?
    public var role: TokenRole
    public var scope: TokenScope

    public init(tokenID: Int64?, role: TokenRole, scope: TokenScope) {
        self.tokenID = tokenID
        self.role = role
        self.scope = scope
    }

    public static let instanceAdmin = Identity(tokenID: nil, role: .admin, scope: .instance)
}

/// The access rule, as a function of who calls and where the target sits.
public enum Access {
    /// Whether `identity` holds at least `role` over the project or group at the start of `chain`: an
    /// instance token reaches everything, a group token its group and everything below it, a project token
    /// its project only.
    public static func allows(_ identity: Identity, _ role: TokenRole, on chain: AncestorChain) -> Bool {
        guard identity.role.includes(role), let target = chain.levels.first else { return false }
        switch identity.scope {
        case .instance: return true
        case .project(let id): return target == .project(id)
        case .group(let id): return chain.contains(.group(id))
        }
    }

    /// Why `identity` may not act with `role` on the project or group at the start of `chain`, or nil when it
    /// may. A token that cannot even read it is told it does not exist (`hidden`: the 404 GitLab answers, so a
    /// token scoped elsewhere cannot learn which projects and groups exist); one that reads it but lacks the
    /// role is `forbidden` (403). The API answers by it; the pages answer 403 to both for now.
    public static func refusal(_ identity: Identity, _ role: TokenRole, on chain: AncestorChain) -> AccessRefusal? {
        if allows(identity, role, on: chain) { return nil }
        return allows(identity, .reporter, on: chain) ? .forbidden : .hidden
    }

    /// Where `identity` holds at least `role`, as a scope to cut a list to (the same places `allows` admits):
    /// nil when it holds that role nowhere.
    public static func reach(_ identity: Identity, _ role: TokenRole) -> TokenScope? {
        identity.role.includes(role) ? identity.scope : nil
    }

    /// Instance-wide settings and tokens: the instance admin only (an admin role scoped lower is not enough).
    public static func isInstanceAdmin(_ identity: Identity) -> Bool {
        identity.role == .admin && identity.scope == .instance
    }

    /// Whether `identity` may list or delete tokens scoped at the start of `chain`: a maintainer or admin
    /// over that place.
    public static func managesTokens(_ identity: Identity, on chain: AncestorChain) -> Bool {
        allows(identity, .maintainer, on: chain)
    }

    /// The instance admin creates any token; a maintainer creates maintainer or reporter tokens inside its
    /// own scope; nobody else creates tokens.
    public static func mayCreateToken(_ identity: Identity, role: TokenRole, on chain: AncestorChain) -> Bool {
        if isInstanceAdmin(identity) { return true }
        return identity.role == .maintainer && role != .admin && managesTokens(identity, on: chain)
    }

    /// Whether a token valid until `expiresAt` may still be used at `now` (tokens without an expiry never expire).
    public static func isUnexpired(expiresAt: Millis?, now: Millis) -> Bool {
        guard let expiresAt else { return true }
        return expiresAt > now
    }
}

/// Why access is refused: the target is hidden from the token (answered as not found), or seen but not
/// to be acted on with that role.
public enum AccessRefusal: Sendable, Equatable {
    case hidden
    case forbidden
}
