/// Where a project or a group sits: the level itself, the groups above it from the nearest to the top,
/// then the instance. Every rule that looks upwards (the nearest default, the nearest webhook secret,
/// who may act on what) reads this one chain; the store only loads it.
public struct AncestorChain: Sendable, Equatable {
    /// Nearest first, always ending with `.instance`. The first entry is the level itself, except for
    /// a project that is not registered yet (`init(namespaceGroups:)`), which starts at its groups.
    public let levels: [IntegrationLevel]

    /// Group trees deeper than this are cut (GitLab allows 20 levels).
    public static let maxDepth = 100

    /// A registered project in `groups` (nearest first).
    public init(project: Int64, groups: [Int64]) {
        levels = [.project(project)] + groups.prefix(Self.maxDepth).map { .group($0) } + [.instance]
    }

    /// A group below `ancestors` (nearest first).
    public init(group: Int64, ancestors: [Int64]) {
        levels = [.group(group)] + ancestors.prefix(Self.maxDepth).map { .group($0) } + [.instance]
    }

    /// A project not registered yet whose namespace groups (nearest first) are known.
    public init(namespaceGroups groups: [Int64]) {
        levels = groups.prefix(Self.maxDepth).map { .group($0) } + [.instance]
    }

    public static let instance = AncestorChain(levels: [.instance])

    private init(levels: [IntegrationLevel]) { self.levels = levels }

    /// The chain of `level` given each group's parent: how a store that has loaded the group tree builds
    /// chains without a query per level.
    public static func of(_ level: IntegrationLevel, projectGroup: Int64? = nil, parents: [Int64: Int64]) -> AncestorChain {
        func ancestors(from start: Int64?) -> [Int64] {
            var out: [Int64] = []
            var current = start
            while let id = current, out.count < maxDepth {
                out.append(id)
                current = parents[id]
            }
            return out
        }
        switch level {
        case .instance: return .instance
        case .project(let id): return AncestorChain(project: id, groups: ancestors(from: projectGroup))
        case .group(let id): return AncestorChain(group: id, ancestors: Array(ancestors(from: id).dropFirst()))
        }
    }

    /// The levels strictly above the chain's own level.
    public var above: ArraySlice<IntegrationLevel> { levels.dropFirst() }

    /// The group ids of the chain, nearest first.
    public var groups: [Int64] {
        levels.compactMap { if case .group(let id) = $0 { return id } else { return nil } }
    }

    public func contains(_ level: IntegrationLevel) -> Bool { levels.contains(level) }

    /// The nearest level of the chain, from the start upwards, for which `value` has an answer: the one
    /// rule of precedence behind the nearest default and the nearest webhook secret.
    public func nearest<T>(includingSelf: Bool = true, _ value: (IntegrationLevel) throws -> T?) rethrows -> (level: IntegrationLevel, value: T)? {
        for level in includingSelf ? levels[...] : above {
            if let found = try value(level) { return (level, found) }
        }
        return nil
    }
}

/// Namespace paths: `acme/web/shop` lives in `acme/web`, which lives in `acme`.
public enum Namespace {
    /// The namespace of a project path (`acme/web` for `acme/web/shop`); nil for a top-level one.
    public static func of(_ path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }

    /// A namespace path and every path above it, nearest first (`acme/web`, `acme`).
    public static func paths(from namespace: String) -> [String] {
        var parts = namespace.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var out: [String] = []
        while !parts.isEmpty, out.count < AncestorChain.maxDepth {
            out.append(parts.joined(separator: "/"))
            parts.removeLast()
        }
        return out
    }
}

/// What a level holds in the integrations table: custom settings (active or not), or a marker that it uses
/// its nearest default.
public enum IntegrationState: Sendable, Equatable {
    case custom(active: Bool)
    case inheriting
}

/// GitLab's inheritance of integration settings, decided over an ancestor chain.
///
/// A project or group integration has custom settings or uses the nearest default: the closest group
/// above it with custom settings, else the instance's integration. The store keeps no copy of a default's
/// settings on the rows that use it; every read resolves them with these rules.
public enum Inheritance {
    /// How the integration of the chain's level reads.
    public enum Resolution: Sendable, Equatable {
        /// No integration at this level.
        case none
        /// Its own settings.
        case own
        /// The settings of the default at this level.
        case inherited(from: IntegrationLevel)
        /// An inheriting row with no default left above it: it reads as inactive with no settings.
        case orphaned
    }

    /// The default the chain's level would use: the nearest level above it with custom settings.
    public static func nearestDefault(_ chain: AncestorChain, states: [IntegrationLevel: IntegrationState]) -> IntegrationLevel? {
        chain.nearest(includingSelf: false) { level -> IntegrationLevel? in
            if case .custom = states[level] { return level }
            return nil
        }?.level
    }

    public static func resolve(_ chain: AncestorChain, states: [IntegrationLevel: IntegrationState]) -> Resolution {
        guard let own = chain.levels.first, let state = states[own] else { return .none }
        switch state {
        case .custom: return .own
        case .inheriting: return nearestDefault(chain, states: states).map { .inherited(from: $0) } ?? .orphaned
        }
    }

    /// A project or group that was just created takes an inheriting integration when its nearest default is
    /// active (GitLab: new projects and groups take the nearest active default).
    public static func inheritsOnCreation(_ chain: AncestorChain, states: [IntegrationLevel: IntegrationState]) -> Bool {
        guard let level = nearestDefault(chain, states: states) else { return false }
        return states[level] == .custom(active: true)
    }

    /// Saving active custom settings on a group or the instance gives every project and group below it
    /// that has no integration an inheriting one (GitLab's propagation, done here as one statement).
    public static func propagatesOnSave(at level: IntegrationLevel, active: Bool) -> Bool {
        guard active else { return false }
        if case .project = level { return false }
        return true
    }

    /// Removing a default: only custom group and instance integrations are defaults whose removal can leave
    /// inheritors without one.
    public static func removalMayOrphan(_ state: IntegrationState?, at level: IntegrationLevel) -> Bool {
        if case .project = level { return false }
        if case .custom = state { return true }
        return false
    }

    /// Inheriting integrations with no default left above them (GitLab's reset: "This integration, and
    /// inheriting projects were reset."). Those with a default further up resolve to it unchanged.
    public static func orphans(_ inheritors: [AncestorChain], states: [IntegrationLevel: IntegrationState]) -> [IntegrationLevel] {
        inheritors.compactMap { chain in
            guard let level = chain.levels.first, states[level] == .inheriting else { return nil }
            return nearestDefault(chain, states: states) == nil ? level : nil
        }
    }

    /// GitLab's `use_inherited_settings` on a PUT: `true` switches to the default; an omitted flag on an
    /// integration that inherits re-applies the default (the submitted values are ignored, as GitLab does,
    /// documented in docs/defaults.md). The instance has nothing to inherit from.
    public static func inheritsOnUpdate(at level: IntegrationLevel, flag: Bool?, currentlyInherits: Bool) -> Bool {
        if case .instance = level { return false }
        return flag ?? currentlyInherits
    }
}

/// Which webhook secret a webhook must carry: the project's own, else the nearest group's, else the
/// instance's (from configuration).
///
/// A level's secret can be rotated: after a new one is set, the previous one stays valid for
/// `rotationGraceMillis`, so the forge's hook can be updated without losing deliveries. The accepted
/// secrets are those of the nearest level that has one: its current secret, then its previous one.
public enum WebhookSecrets {
    /// How long a replaced secret stays valid: 24 hours.
    public static let rotationGraceMillis: Millis = 24 * 3600 * 1000

    /// The secrets a webhook may carry (empty: none is configured, and the webhook is refused).
    public static func accepted(_ chain: AncestorChain, instanceSecret: String?, secrets: [IntegrationLevel: [String]]) -> [String] {
        acceptedWithLevel(chain, instanceSecret: instanceSecret, secrets: secrets).secrets
    }

    /// The secrets a webhook may carry, with the level they are set on: the nearest level of the chain that
    /// has one.
    public static func acceptedWithLevel(_ chain: AncestorChain, instanceSecret: String?, secrets: [IntegrationLevel: [String]]) -> AcceptedSecrets {
        let found = chain.nearest { level -> [String]? in
            let found: [String]
            if case .instance = level { found = instanceSecret.map { [$0] } ?? [] } else { found = secrets[level] ?? [] }
            let usable = found.filter { !$0.isEmpty }
            return usable.isEmpty ? nil : usable
        }
        return AcceptedSecrets(secrets: found?.value ?? [], level: found?.level)
    }

    /// Whether a previous secret replaced at `replacedUntil` is still accepted at `now`.
    public static func previousIsValid(until: Millis?, now: Millis) -> Bool {
        guard let until else { return false }
        return now < until
    }
}

/// The secrets a webhook for one project may carry and where they are set.
public struct AcceptedSecrets: Sendable, Equatable {
    public var secrets: [String]
    /// The project or group the secrets belong to, or the instance; nil when no secret applies.
    public var level: IntegrationLevel?

    public init(secrets: [String], level: IntegrationLevel?) {
        self.secrets = secrets
        self.level = level
    }

    /// Whether a webhook signed with these secrets proves control of the project's own namespace (its group's
    /// or the project's secret), not only the instance secret every forge project shares. Only such a
    /// webhook may take a path registered to another project id (`ProjectRegistration.webhookStep`).
    public var provesNamespace: Bool {
        switch level {
        case .group?, .project?: return true
        case .instance?, nil: return false
        }
    }
}
