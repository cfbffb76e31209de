import Integration
import Testing

/// What registering a project means, decided in the core and saved by the store.
@Suite("Project registration")
struct ProjectRegistrationTests {
    let registration = ProjectRegistration(id: 15, pathWithNamespace: "acme/web/shop", name: "Shop",
                                           webURL: "https://gitlab.example.com/acme/web/shop", defaultBranch: "main")

    @Test("a webhook's project becomes a registration with its namespace")
    func fromForgeProject() {
        let project = ForgeProject(id: 15, pathWithNamespace: "acme/web/shop", name: "Shop", namespaceName: "Acme / Web",
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

    @Test("a webhook naming another project's path saves nothing")
    func webhookConflict() {
        #expect(registration.webhookStep(knownDefaultBranch: nil, pathOwner: 99) == .conflict("path acme/web/shop belongs to another project id"))
    }

    @Test("the API creates or replaces by id, and refuses a path of another id")
    func apiSteps() {
        #expect(registration.apiStep(isKnown: false, pathOwner: nil) == .create)
        #expect(registration.apiStep(isKnown: true, pathOwner: 15) == .replace)
        #expect(registration.apiStep(isKnown: true, pathOwner: 16) == .conflict("path acme/web/shop belongs to project 16"))
    }
}
