import Integration
import Testing

/// What registering a project means, decided in the core and saved by the store.
@Suite("Project registration")
struct ProjectRegistrationTests {
    let registration = ProjectRegistration(
        id: 15, pathWithNamespace: "acme/web/shop", name: "Shop",
        webURL: "https://gitlab.example.com/acme/web/shop", defaultBranch: "main")

    @Test("a webhook's project becomes a registration with its namespace")
    func fromForgeProject() {
        let project = ForgeProject(
            id: 15, pathWithNamespace: "acme/web/shop", name: "Shop", namespaceName: "Acme / Web",
            webURL: "https://gitlab.example.com/acme/web/shop", defaultBranch: "main")
        #expect(ProjectRegistration(project) == registration)
        #expect(registration.namespace == "acme/web")
        #expect(ProjectRegistration(id: 1, pathWithNamespace: "top", name: "t", webURL: "", defaultBranch: "").namespace == nil)
    }

    @Test("a webhook creates an unknown project")
    func webhookCreates() {
        #expect(registration.webhookStep(knownDefaultBranch: nil, pathOwner: nil) == .create)
    }

    @Test("a known project follows the forge's default branch and keeps everything else")
    func webhookFollowsBranch() {
        #expect(registration.webhookStep(knownDefaultBranch: "main", pathOwner: nil) == .keep)
        #expect(registration.webhookStep(knownDefaultBranch: "master", pathOwner: nil) == .followDefaultBranch("main"))
        var noBranch = registration
        noBranch.defaultBranch = ""
        #expect(noBranch.webhookStep(knownDefaultBranch: "master", pathOwner: nil) == .keep, "an empty branch in a payload changes nothing")
    }

    @Test("a webhook naming another project's path saves nothing, unless signed with the namespace's own secret")
    func webhookConflict() {
        guard case .conflict(let why) = registration.webhookStep(knownDefaultBranch: nil, pathOwner: 99) else {
            Issue.record("a path of another id conflicts")
            return
        }
        #expect(why.hasPrefix("path acme/web/shop is registered to another project id") && why.contains("take_over_path=true"))
        var signed = registration
        signed.mayTakeOverPath = true
        #expect(signed.webhookStep(knownDefaultBranch: nil, pathOwner: 99) == .takeOver(from: 99))
        #expect(signed.webhookStep(knownDefaultBranch: "main", pathOwner: nil) == .keep, "a known project keeps what it has")
        #expect(ProjectRegistration.displacedPath("acme/web/shop", id: 99) == "acme/web/shop~99")
    }

    @Test("a secret proves the namespace only when it is set on the project or a group, not the instance")
    func namespaceProof() {
        #expect(AcceptedSecrets(secrets: ["s"], level: .group(3)).provesNamespace)
        #expect(AcceptedSecrets(secrets: ["s"], level: .project(3)).provesNamespace)
        #expect(!AcceptedSecrets(secrets: ["s"], level: .instance).provesNamespace)
        #expect(!AcceptedSecrets(secrets: [], level: nil).provesNamespace)
        let chain = AncestorChain.of(.project(5), projectGroup: 2, parents: [2: 1])
        let found = WebhookSecrets.acceptedWithLevel(chain, instanceSecret: "i", secrets: [.group(1): ["top"]])
        #expect(found == AcceptedSecrets(secrets: ["top"], level: .group(1)))
        #expect(WebhookSecrets.acceptedWithLevel(chain, instanceSecret: "i", secrets: [:]).level == .instance)
    }

    @Test("the API creates or replaces by id, and refuses a path of another id")
    func apiSteps() {
        #expect(registration.apiStep(isKnown: false, pathOwner: nil) == .create)
        #expect(registration.apiStep(isKnown: true, pathOwner: 15) == .replace)
        #expect(
            registration.apiStep(isKnown: true, pathOwner: 16)
                == .conflict(
                    "path acme/web/shop belongs to project 16; send take_over_path=true to give it to this id (project 16 keeps its settings under acme/web/shop~16)"
                ))
        var confirmed = registration
        confirmed.mayTakeOverPath = true
        #expect(confirmed.apiStep(isKnown: false, pathOwner: 16) == .takeOver(from: 16))
    }
}
