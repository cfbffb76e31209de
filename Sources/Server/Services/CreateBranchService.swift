import Integration
import JiraClient
import Logging
import Store

/// Jira's "Create branch" (the OAuth credentials' Create branch URL template points at `/jira/create-branch`):
/// the projects a signed-in maintainer may create the branch in, and the branch created through the forge's API.
struct CreateBranchService: Sendable {
    let store: any BridgeStore
    let jira: JiraHTTPClient
    let access: AccessPolicy

    /// How many of the user's projects are looked at for one issue (each needs a read of its integration).
    static let scanned = 1000
    /// How many are offered.
    static let offered = 50

    struct Candidate: Sendable {
        var project: Project
        /// Why the branch cannot be created there (no forge API token), or nil.
        var unavailable: String?
    }

    /// A refusal, in words for the page.
    struct Refusal: Error, Equatable {
        var status: Int
        var message: String
    }

    /// Whether the integration of a project is active and covers the issue's Jira project (its project keys, or
    /// every project when it names none).
    static func covers(_ settings: JiraSettings, key: String) -> Bool {
        settings.active && (settings.projectKeys.isEmpty || settings.projectKeys.contains(BranchName.projectKey(key)))
    }

    /// The projects `identity` maintains whose integration covers `key`'s Jira project, at most `offered`.
    func candidates(_ identity: Identity, key: String) async throws -> [Candidate] {
        guard let scope = Access.reach(identity, .maintainer) else { return [] }
        var out: [Candidate] = []
        var offset = 0
        while offset < Self.scanned && out.count < Self.offered {
            let page = try await store.projects(within: scope, offset: offset, limit: 200)
            for project in page.items where out.count < Self.offered {
                guard let record = try await store.integration(at: .project(project.id)), Self.covers(record.settings, key: key) else { continue }
                var unavailable: String? = nil
                if case .failure(let why) = await ForgeTargets(store: store).target(projectID: project.id) { unavailable = why.reason }
                out.append(Candidate(project: project, unavailable: unavailable))
            }
            offset += 200
            if page.items.count < 200 { break }
        }
        return out
    }

    /// Creates `name` from `from` in `project` through its forge's API, and answers the branch's web address. A
    /// branch that exists already is answered too (a second click creates nothing).
    func create(
        _ identity: Identity, project: Project, key: String, name: String, from: String, logger: Logger
    ) async throws -> (
        url: String, existed: Bool
    ) {
        guard try await access.allows(identity, .maintainer, project: project) else {
            throw Refusal(status: 403, message: "Creating a branch needs the maintainer role on \(project.forgePath).")
        }
        guard BranchName.isIssueKey(key) else { throw Refusal(status: 400, message: "That is not a Jira issue key.") }
        guard let record = try await store.integration(at: .project(project.id)), Self.covers(record.settings, key: key) else {
            throw Refusal(status: 400, message: "The Jira integration of \(project.forgePath) does not cover \(BranchName.projectKey(key)).")
        }
        if let problem = BranchName.problem(name) { throw Refusal(status: 400, message: problem) }
        if let problem = BranchName.problem(from) { throw Refusal(status: 400, message: "The branch to start from: " + problem) }
        let target: ForgeAPITarget
        switch await ForgeTargets(store: store).target(projectID: project.id) {
        case .failure(let why): throw Refusal(status: 400, message: why.reason + " The branch cannot be created.")
        case .success(let t): target = t
        }
        let forge = project.forge.displayName
        let created: JiraHTTPClient.BranchCreation
        do {
            created = try await jira.createBranch(target, name: name, from: from, logger: logger)
        } catch {
            switch error.status {
            case 401, 403:
                throw Refusal(
                    status: 502, message: "\(forge) refused the forge API token (\(error.status ?? 0)): give it the scope docs/forges.md names.")
            case 404:
                throw Refusal(status: 502, message: "\(forge) knows no branch \(from) in \(project.forgePath) for this token.")
            case 400, 422:
                throw Refusal(status: 502, message: "\(forge) refused the branch: \(error.serviceResponse)")
            default:
                throw Refusal(status: 502, message: "\(forge) could not be reached or failed: \(error.fromForge(forge).description)")
            }
        }
        logger.info(
            "branch created from Jira", metadata: ["project": "\(project.forgePath)", "issue_key": "\(key)", "existed": "\(created == .exists)"])
        return (project.forge.branchURL(project: project.webURL, branch: name), created == .exists)
    }
}
