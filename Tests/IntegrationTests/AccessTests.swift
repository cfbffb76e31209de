import Integration
import Testing

/// The access rule as a function of (identity, chain), and the token-management rules built on it.
@Suite("Access")
struct AccessTests {
    let shop = AncestorChain(project: 10, groups: [2, 1])
    let web = AncestorChain(group: 2, ancestors: [1])
    func token(_ role: TokenRole, _ scope: TokenScope) -> Identity { Identity(tokenID: 1, role: role, scope: scope) }

    @Test("roles include the ones below them")
    func roles() {
        #expect(TokenRole.admin.includes(.maintainer) && TokenRole.admin.includes(.reporter))
        #expect(TokenRole.maintainer.includes(.reporter) && !TokenRole.maintainer.includes(.admin))
        #expect(!TokenRole.reporter.includes(.maintainer))
    }

    @Test("an instance token reaches every project and group")
    func instanceScope() {
        #expect(Access.allows(.instanceAdmin, .admin, on: shop))
        #expect(Access.allows(token(.reporter, .instance), .reporter, on: web))
        #expect(!Access.allows(token(.reporter, .instance), .maintainer, on: web), "but only with its role")
    }

    @Test("a group token reaches its group and everything below it, never above or beside")
    func groupScope() {
        #expect(Access.allows(token(.maintainer, .group(1)), .maintainer, on: shop))
        #expect(Access.allows(token(.maintainer, .group(2)), .maintainer, on: web))
        #expect(!Access.allows(token(.maintainer, .group(2)), .reporter, on: AncestorChain(group: 1, ancestors: [])))
        #expect(!Access.allows(token(.maintainer, .group(3)), .reporter, on: shop))
    }

    @Test("a project token reaches its own project only, and no group")
    func projectScope() {
        #expect(Access.allows(token(.maintainer, .project(10)), .maintainer, on: shop))
        #expect(!Access.allows(token(.maintainer, .project(11)), .reporter, on: shop))
        #expect(!Access.allows(token(.maintainer, .project(10)), .reporter, on: web))
    }

    @Test("instance settings: the instance admin only, not an admin role scoped lower")
    func instanceAdmin() {
        #expect(Access.isInstanceAdmin(.instanceAdmin))
        #expect(Access.isInstanceAdmin(token(.admin, .instance)))
        #expect(!Access.isInstanceAdmin(token(.admin, .group(1))))
        #expect(!Access.isInstanceAdmin(token(.maintainer, .instance)))
    }

    @Test("maintainers create maintainer and reporter tokens in their scope; never admin tokens")
    func tokenCreation() {
        let maintainer = token(.maintainer, .group(1))
        #expect(Access.mayCreateToken(maintainer, role: .reporter, on: shop))
        #expect(Access.mayCreateToken(maintainer, role: .maintainer, on: web))
        #expect(!Access.mayCreateToken(maintainer, role: .admin, on: web))
        #expect(!Access.mayCreateToken(maintainer, role: .reporter, on: .instance))
        #expect(!Access.mayCreateToken(token(.reporter, .instance), role: .reporter, on: shop))
        #expect(Access.mayCreateToken(.instanceAdmin, role: .admin, on: .instance))
    }

    @Test("managing tokens takes maintainer over the token's scope")
    func tokenManagement() {
        #expect(Access.managesTokens(token(.maintainer, .project(10)), on: shop))
        #expect(!Access.managesTokens(token(.reporter, .project(10)), on: shop))
        #expect(!Access.managesTokens(token(.maintainer, .group(2)), on: AncestorChain(group: 1, ancestors: [])))
    }

    @Test("tokens expire at their expiry, by the clock given")
    func expiry() {
        #expect(Access.isUnexpired(expiresAt: nil, now: .max))
        #expect(Access.isUnexpired(expiresAt: 1_001, now: 1_000))
        #expect(!Access.isUnexpired(expiresAt: 1_000, now: 1_000))
    }

    @Test("the injected clock reads what it is given; the system clock reads today")
    func clocks() {
        #expect(WallClock.fixed(42).now() == 42)
        let now = WallClock.system.now()
        #expect(now > 1_764_547_200_000, "after 2025-12-01")
        #expect(now < 4_102_444_800_000, "before 2100")
    }

    @Test("a token scope is the same place as a level of the tree")
    func scopeLevels() {
        #expect(TokenScope.instance.level == .instance)
        #expect(TokenScope.group(3).level == .group(3))
        #expect(TokenScope.project(4).level == .project(4))
        #expect(TokenScope.group(3).kind == "group")
    }

    @Test("a refusal is hidden where the token cannot even read, forbidden where it reads without the role, none where it may")
    func refusals() {
        #expect(Access.refusal(token(.maintainer, .project(10)), .maintainer, on: shop) == nil)
        #expect(Access.refusal(token(.reporter, .project(10)), .maintainer, on: shop) == .forbidden)
        #expect(Access.refusal(token(.maintainer, .project(11)), .reporter, on: shop) == .hidden)
        #expect(Access.refusal(token(.maintainer, .group(2)), .maintainer, on: shop) == nil)
        #expect(Access.refusal(token(.maintainer, .group(2)), .reporter, on: AncestorChain(group: 1, ancestors: [])) == .hidden)
    }
}
