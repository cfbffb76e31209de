import Foundation
import GRDB
import Integration
import Synchronization
import Testing

@testable import Store

/// The store loads the group tree and the integration states; the core (`Inheritance`, `WebhookSecrets`)
/// decides. These check the loading on a real SQLite file.
@Suite("Store: group tree and inheritance")
struct HierarchyStoreTests {
    @Test("a project's chain is itself, its groups nearest first, then the instance")
    func projectChain() async throws {
        try await withStore { store in
            let project = try await store.registerProject(registration(1, "acme/web/shop"))
            let web = try #require(try await store.group(path: "acme/web"))
            let acme = try #require(try await store.group(path: "acme"))
            let chain = try await store.ancestorChain(of: .project(project.id))
            #expect(chain?.levels == [.project(1), .group(web.id), .group(acme.id), .instance])
            #expect(try await store.ancestorChain(of: .group(web.id))?.levels == [.group(web.id), .group(acme.id), .instance])
            #expect(try await store.ancestorChain(of: .project(99)) == nil)
            #expect(try await store.ancestorChain(of: .group(999)) == nil)
        }
    }

    @Test("an unregistered project's chain holds the registered groups of its namespace")
    func namespaceChain() async throws {
        try await withStore { store in
            let acme = try await store.ensureGroup(fullPath: "acme", name: nil)
            let chain = try await store.namespaceChain(path: "acme/new/shop")
            #expect(chain.levels == [.group(acme.id), .instance])
            #expect(try await store.namespaceChain(path: "toplevel").levels == [.instance])
        }
    }

    @Test("the secrets on a chain are loaded decrypted; the nearest one applies")
    func secretsOnChain() async throws {
        try await withStore { store in
            _ = try await store.registerProject(registration(1, "acme/web/shop"))
            let acme = try #require(try await store.group(path: "acme"))
            try await store.setWebhookSecret("group-secret", for: .group(acme.id))
            let chain = try #require(try await store.ancestorChain(of: .project(1)))
            let secrets = try await store.webhookSecrets(on: chain)
            #expect(secrets == [.group(acme.id): ["group-secret"]])
            #expect(WebhookSecrets.accepted(chain, instanceSecret: "instance", secrets: secrets) == ["group-secret"])
            try await store.setWebhookSecret("project-secret", for: .project(1))
            #expect(
                WebhookSecrets.accepted(chain, instanceSecret: "instance", secrets: try await store.webhookSecrets(on: chain)) == ["project-secret"])
        }
    }

    @Test("a project registered below an active group default inherits it; its settings are the default's")
    func inheritsOnRegistration() async throws {
        try await withStore { store in
            let acme = try await store.ensureGroup(fullPath: "acme", name: nil)
            let saved = try await store.saveIntegration(at: .group(acme.id), settings: activeSettings())
            _ = try await store.registerProject(registration(1, "acme/shop"))
            let record = try #require(try await store.integration(at: .project(1)))
            #expect(record.inheritFromID == saved.id)
            #expect(record.settings.url == "https://jira.example.com" && record.settings.password == "secret")
        }
    }

    @Test("removing the only default removes its inheritors; with a default further up they move to it")
    func orphanRemoval() async throws {
        try await withStore { store in
            let acme = try await store.ensureGroup(fullPath: "acme", name: nil)
            let web = try await store.ensureGroup(fullPath: "acme/web", name: nil)
            _ = try await store.saveIntegration(at: .group(web.id), settings: activeSettings("https://web.example.com"))
            _ = try await store.registerProject(registration(1, "acme/web/shop"))
            _ = try await store.registerProject(registration(2, "acme/other"))
            #expect(try await store.integration(at: .project(1))?.inheritFromID != nil)
            let top = try await store.saveIntegration(at: .group(acme.id), settings: activeSettings("https://acme.example.com"))
            #expect(try await store.integration(at: .project(2))?.inheritFromID == top.id)
            #expect(try await store.deleteIntegration(at: .group(web.id)))
            // Project 1 now resolves to acme's default; nothing was orphaned.
            #expect(try await store.integration(at: .project(1))?.settings.url == "https://acme.example.com")
            #expect(try await store.deleteIntegration(at: .group(acme.id)))
            #expect(try await store.integration(at: .project(1)) == nil)
            #expect(try await store.integration(at: .project(2)) == nil)
        }
    }

    @Test("the store's timestamps come from its injected clock")
    func injectedClock() async throws {
        try await withStore(clock: .fixed(1_700_000_000_000)) { store in
            let project = try await store.registerProject(registration(1, "acme/shop"))
            #expect(project.createdAt == 1_700_000_000_000)
            let token = try await store.createToken(name: "t", role: .reporter, scope: .instance, expiresAt: nil, secretHash: "h")
            #expect(token.createdAt == 1_700_000_000_000)
        }
    }

    @Test("a webhook registers an unknown project, follows a known one's default branch, and refuses a path of another id")
    func webhookRegistration() async throws {
        try await withStore { store in
            let event = { (id: Int64, path: String, branch: String) in
                (
                    incoming: IncomingEvent(
                        deliveryKey: nil,
                        event: .push(
                            PushEvent(
                                project: ForgeProject(
                                    id: id, pathWithNamespace: path, name: "x", namespaceName: "", webURL: "https://g/\(path)", defaultBranch: branch),
                                ref: "refs/heads/main", before: "", after: "", commits: [], pusher: ForgeUser(name: "", username: "")))),
                    registration: registration(id, path, branch: branch)
                )
            }
            let first = try await store.recordEvents([event(1, "acme/shop", "main")])
            #expect((try? first[0].get()) != nil)
            _ = try await store.recordEvents([event(1, "acme/shop", "trunk")])
            #expect(try await store.project(id: 1)?.defaultBranch == "trunk")
            let clash = try await store.recordEvents([event(2, "acme/shop", "main")])
            #expect(throws: StoreError.self) { try clash[0].get() }
            #expect(try await store.project(id: 2) == nil)
        }
    }

    @Test("a replaced secret stays accepted for 24 hours, and not after; clearing it ends that at once")
    func rotation() async throws {
        let now = Mutex<Millis>(1_000_000)
        try await withStore(clock: WallClock { now.withLock { $0 } }) { store in
            _ = try await store.registerProject(registration(1, "acme/shop"))
            let chain = try #require(try await store.ancestorChain(of: .project(1)))
            try await store.setWebhookSecret("old", for: .project(1))
            try await store.setWebhookSecret("new", for: .project(1))
            #expect(try await store.webhookSecrets(on: chain)[.project(1)] == ["new", "old"])
            #expect(try await store.isKnownWebhookSecret("old"))
            try await store.setWebhookSecret("new", for: .project(1))
            #expect(try await store.webhookSecrets(on: chain)[.project(1)] == ["new", "old"], "setting the same secret again keeps the previous one")
            now.withLock { $0 += WebhookSecrets.rotationGraceMillis }
            #expect(try await store.webhookSecrets(on: chain)[.project(1)] == ["new"])
            #expect(try await !store.isKnownWebhookSecret("old"))
            try await store.setWebhookSecret("newer", for: .project(1))
            try await store.clearPreviousWebhookSecret(for: .project(1))
            #expect(try await store.webhookSecrets(on: chain)[.project(1)] == ["newer"])
            #expect(try await !store.isKnownWebhookSecret("new"))
        }
    }

    @Test("projects of two forges with the same id and path are two projects, in two group trees")
    func forgesApart() async throws {
        try await withStore { store in
            let gitlab = try await store.registerProject(registration(15, "acme/shop"))
            let github = try await store.registerProject(
                try #require(
                    ProjectRegistration(
                        forge: .github, forgeID: 15, path: "acme/shop", name: "shop", webURL: "https://github.com/acme/shop", defaultBranch: "main")))
            #expect(gitlab.id == 15 && github.id != 15)
            #expect(github.forge == .github && github.forgeID == 15 && github.forgePath == "acme/shop" && github.address == "github:15")
            #expect(gitlab.forge == .gitlab && gitlab.address == "15")
            #expect(try await store.project(path: "acme/shop")?.id == 15)
            #expect(try await store.project(path: "github:acme/shop")?.id == github.id)
            let gitlabGroup = try #require(try await store.group(path: "acme"))
            let githubGroup = try #require(try await store.group(path: "github:acme"))
            #expect(gitlabGroup.id != githubGroup.id && githubGroup.name == "acme" && githubGroup.forge == .github)
            #expect(try await store.ancestorChain(of: .project(github.id))?.groups == [githubGroup.id])
        }
    }
}
