import Integration
import Testing

/// The rules that look up the group tree: the ancestor chain, the nearest default, orphans, and the
/// nearest webhook secret. Pure: no store, no server.
@Suite("Hierarchy and inheritance")
struct HierarchyTests {
    // acme (1) > web (2) > shop project (10); other project (20) directly in acme.
    let parents: [Int64: Int64] = [2: 1]
    var shop: AncestorChain { AncestorChain(project: 10, groups: [2, 1]) }

    @Test("a project's chain is itself, its groups nearest first, then the instance")
    func projectChain() {
        #expect(shop.levels == [.project(10), .group(2), .group(1), .instance])
        #expect(Array(shop.above) == [.group(2), .group(1), .instance])
        #expect(shop.groups == [2, 1])
    }

    @Test("chains built from a parent map match those built from a list")
    func chainFromParents() {
        #expect(AncestorChain.of(.project(10), projectGroup: 2, parents: parents) == shop)
        #expect(AncestorChain.of(.group(2), parents: parents) == AncestorChain(group: 2, ancestors: [1]))
        #expect(AncestorChain.of(.instance, parents: parents) == .instance)
        #expect(AncestorChain.of(.project(30), parents: parents).levels == [.project(30), .instance])
    }

    @Test("a cycle in the parent map is cut at the depth limit instead of looping")
    func cycleIsCut() {
        let chain = AncestorChain.of(.group(1), parents: [1: 2, 2: 1])
        #expect(chain.levels.count <= AncestorChain.maxDepth + 2)
        #expect(chain.levels.last == .instance)
    }

    @Test("namespaces: a project's namespace and every path above it, nearest first")
    func namespaces() {
        #expect(Namespace.of("acme/web/shop") == "acme/web")
        #expect(Namespace.of("shop") == nil)
        #expect(Namespace.paths(from: "acme/web") == ["acme/web", "acme"])
        #expect(Namespace.paths(from: "acme//web/") == ["acme/web", "acme"])
        #expect(Namespace.paths(from: "").isEmpty)
    }

    @Test("nearest lookup starts at the level itself unless told otherwise")
    func nearestIncludingSelf() {
        let values: [IntegrationLevel: String] = [.project(10): "p", .group(1): "g"]
        #expect(shop.nearest { values[$0] }?.value == "p")
        #expect(shop.nearest(includingSelf: false) { values[$0] }?.level == .group(1))
        #expect(shop.nearest { _ in String?.none } == nil)
    }

    @Test("the nearest default is the closest group with custom settings, else the instance")
    func nearestDefault() {
        var states: [IntegrationLevel: IntegrationState] = [.instance: .custom(active: true), .group(1): .custom(active: false)]
        #expect(Inheritance.nearestDefault(shop, states: states) == .group(1))
        states[.group(2)] = .inheriting
        #expect(Inheritance.nearestDefault(shop, states: states) == .group(1), "an inheriting group is no default")
        states[.group(2)] = .custom(active: true)
        #expect(Inheritance.nearestDefault(shop, states: states) == .group(2))
        #expect(Inheritance.nearestDefault(shop, states: [.instance: .custom(active: true)]) == .instance)
        #expect(Inheritance.nearestDefault(shop, states: [:]) == nil)
    }

    @Test("a project's own custom settings are never its default")
    func ownSettingsAreNoDefault() {
        let states: [IntegrationLevel: IntegrationState] = [.project(10): .custom(active: true)]
        #expect(Inheritance.nearestDefault(shop, states: states) == nil)
        #expect(Inheritance.resolve(shop, states: states) == .own)
    }

    @Test("resolution: none, own, inherited from the nearest default, or orphaned")
    func resolution() {
        #expect(Inheritance.resolve(shop, states: [.instance: .custom(active: true)]) == .none)
        #expect(Inheritance.resolve(shop, states: [.project(10): .inheriting, .group(1): .custom(active: true)]) == .inherited(from: .group(1)))
        #expect(Inheritance.resolve(shop, states: [.project(10): .inheriting]) == .orphaned)
    }

    @Test("a new project inherits only when its nearest default is active")
    func inheritsOnCreation() {
        #expect(Inheritance.inheritsOnCreation(shop, states: [.group(1): .custom(active: true)]))
        #expect(
            !Inheritance.inheritsOnCreation(shop, states: [.group(1): .custom(active: false), .instance: .custom(active: true)]),
            "the nearest default decides, even when one further up is active")
        #expect(!Inheritance.inheritsOnCreation(shop, states: [:]))
    }

    @Test("saving active settings on a group or the instance propagates; a project or inactive settings do not")
    func propagation() {
        #expect(Inheritance.propagatesOnSave(at: .instance, active: true))
        #expect(Inheritance.propagatesOnSave(at: .group(1), active: true))
        #expect(!Inheritance.propagatesOnSave(at: .group(1), active: false))
        #expect(!Inheritance.propagatesOnSave(at: .project(10), active: true))
    }

    @Test("only removing a custom group or instance integration can orphan inheritors")
    func removalMayOrphan() {
        #expect(Inheritance.removalMayOrphan(.custom(active: false), at: .group(1)))
        #expect(Inheritance.removalMayOrphan(.custom(active: true), at: .instance))
        #expect(!Inheritance.removalMayOrphan(.inheriting, at: .group(1)))
        #expect(!Inheritance.removalMayOrphan(.custom(active: true), at: .project(10)))
        #expect(!Inheritance.removalMayOrphan(nil, at: .group(1)))
    }

    @Test("orphans are inheritors with no default left; those with one further up stay")
    func orphans() {
        let other = AncestorChain(project: 20, groups: [1])
        let web = AncestorChain(group: 2, ancestors: [1])
        let lone = AncestorChain(project: 30, groups: [])
        var states: [IntegrationLevel: IntegrationState] = [
            .project(10): .inheriting, .project(20): .inheriting, .group(2): .inheriting, .project(30): .inheriting,
            .group(1): .custom(active: true),
        ]
        #expect(Inheritance.orphans([shop, other, web, lone], states: states) == [.project(30)])
        states[.group(1)] = nil
        #expect(Inheritance.orphans([shop, other, web, lone], states: states) == [.project(10), .project(20), .group(2), .project(30)])
        states[.instance] = .custom(active: false)
        #expect(Inheritance.orphans([shop, other, web, lone], states: states).isEmpty)
    }

    @Test("GitLab's use_inherited_settings on a PUT: true inherits, false does not, omitted keeps what the integration does")
    func inheritOnUpdate() {
        #expect(Inheritance.inheritsOnUpdate(at: .project(10), flag: true, currentlyInherits: false))
        #expect(!Inheritance.inheritsOnUpdate(at: .project(10), flag: false, currentlyInherits: true))
        #expect(Inheritance.inheritsOnUpdate(at: .group(1), flag: nil, currentlyInherits: true))
        #expect(!Inheritance.inheritsOnUpdate(at: .group(1), flag: nil, currentlyInherits: false))
        #expect(!Inheritance.inheritsOnUpdate(at: .instance, flag: true, currentlyInherits: true), "the instance has nothing to inherit")
    }

    @Test("the webhook secret: the project's, else the nearest group's, else the instance's")
    func webhookSecretPrecedence() {
        #expect(
            WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: [.project(10): "p", .group(2): "w", .group(1): "a"].mapValues { [$0] }).first
                == "p")
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: [.group(2): "w", .group(1): "a"].mapValues { [$0] }).first == "w")
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: [.group(1): "a"].mapValues { [$0] }).first == "a")
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: [:]).first == "i")
        #expect(WebhookSecrets.accepted(shop, instanceSecret: nil, secrets: [:]).first == nil)
    }

    @Test("empty secrets count as none, at every level")
    func emptySecretsAreNone() {
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "", secrets: [.project(10): ""].mapValues { [$0] }).first == nil)
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: [.project(10): "", .group(1): "a"].mapValues { [$0] }).first == "a")
    }

    @Test("an unregistered project's chain starts at its known groups")
    func namespaceChain() {
        let chain = AncestorChain(namespaceGroups: [2, 1])
        #expect(chain.levels == [.group(2), .group(1), .instance])
        #expect(WebhookSecrets.accepted(chain, instanceSecret: "i", secrets: [.group(1): "a"].mapValues { [$0] }).first == "a")
        #expect(WebhookSecrets.accepted(AncestorChain(namespaceGroups: []), instanceSecret: "i", secrets: [:]).first == "i")
    }

    @Test("a rotated-out secret is accepted beside the current one of the same level, and only while it is valid")
    func rotation() {
        let secrets: [IntegrationLevel: [String]] = [.project(10): ["new", "old"], .group(1): ["group"]]
        #expect(WebhookSecrets.accepted(shop, instanceSecret: "i", secrets: secrets) == ["new", "old"])
        #expect(WebhookSecrets.previousIsValid(until: 2_000, now: 1_999))
        #expect(!WebhookSecrets.previousIsValid(until: 2_000, now: 2_000))
        #expect(!WebhookSecrets.previousIsValid(until: nil, now: 0))
        #expect(WebhookSecrets.rotationGraceMillis == 86_400_000)
    }
}
