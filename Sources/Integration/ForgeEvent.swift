/// A project as a forge describes it in a webhook.
public struct ForgeProject: Sendable, Equatable {
    public var id: Int64
    public var pathWithNamespace: String
    public var name: String
    /// The human namespace name ("Mike", "Acme / Web"), for "Namespace / Project".
    public var namespaceName: String
    public var webURL: String
    public var defaultBranch: String
    /// Which forge it lives on; `id` and `pathWithNamespace` are that forge's own.
    public var forge: Forge

    public init(
        id: Int64, pathWithNamespace: String, name: String, namespaceName: String, webURL: String, defaultBranch: String,
        forge: Forge = .gitlab
    ) {
        self.forge = forge
        self.id = id
        self.pathWithNamespace = pathWithNamespace
        self.name = name
        self.namespaceName = namespaceName
        self.webURL = webURL
        self.defaultBranch = defaultBranch
    }

    /// GitLab's `full_name`: "Namespace / Project".
    public var fullName: String { namespaceName.isEmpty ? name : "\(namespaceName) / \(name)" }

    /// The forge's base URL: the web URL without the project's path (`https://gitlab.example.com`).
    public var forgeBaseURL: String {
        let suffix = "/" + pathWithNamespace
        return webURL.hasSuffix(suffix) ? String(webURL.dropLast(suffix.count)) : webURL
    }
}

/// A forge user: who pushed, who opened or merged a merge or pull request.
public struct ForgeUser: Sendable, Equatable {
    public var name: String
    public var username: String
    public var email: String?

    public init(name: String, username: String, email: String? = nil) {
        self.name = name
        self.username = username
        self.email = email
    }
}

public struct ForgeCommit: Sendable, Equatable {
    public var id: String
    public var message: String
    public var url: String
    public var authorName: String
    public var authorEmail: String?
    /// When it was authored, as the forge writes it (ISO 8601); absent in rows stored before the development
    /// panel.
    public var timestamp: String?
    /// How many files it added, modified or removed, when the forge says.
    public var fileCount: Int?

    public init(
        id: String, message: String, url: String, authorName: String, authorEmail: String?, timestamp: String? = nil,
        fileCount: Int? = nil
    ) {
        self.id = id
        self.message = message
        self.url = url
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.timestamp = timestamp
        self.fileCount = fileCount
    }

    /// The first line of the message, without its newline.
    public var title: String {
        String(message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingTrailingNewlines()
    }
}

public struct PushEvent: Sendable, Equatable {
    public var project: ForgeProject
    public var ref: String
    public var before: String
    public var after: String
    public var commits: [ForgeCommit]
    public var pusher: ForgeUser
    /// Commits the payload listed beyond `EventLimits.commitsPerPush`, not kept (absent in older rows).
    public var omittedCommits: Int?

    public init(
        project: ForgeProject, ref: String, before: String, after: String, commits: [ForgeCommit], pusher: ForgeUser,
        omittedCommits: Int? = nil
    ) {
        self.project = project
        self.ref = ref
        self.before = before
        self.after = after
        self.commits = commits
        self.pusher = pusher
        self.omittedCommits = omittedCommits
    }

    /// The branch name for `refs/heads/<branch>`; nil for tags and other refs.
    public var branch: String? {
        ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : nil
    }

    /// A push that deletes the branch (`after` is all zeros).
    public var deletesBranch: Bool { !after.isEmpty && after.allSatisfy { $0 == "0" } }
}

public struct MergeRequestEvent: Sendable, Equatable {
    public enum Action: String, Sendable {
        /// `ready`: it left draft (GitLab's `changes.draft` to false, GitHub's `ready_for_review`, Gitea's title
        /// losing its `WIP:` or `Draft:`).
        case open, reopen, update, merge, close, approved, unapproved, approval, unapproval, ready, other
    }

    public var project: ForgeProject
    public var iid: Int64
    public var title: String
    public var description: String
    public var action: Action
    public var sourceBranch: String
    public var targetBranch: String
    /// The head of the source branch (`diff_head_sha`), the commit a merge closes with.
    public var lastCommitID: String?
    public var url: String
    public var user: ForgeUser
    /// What the development panel shows of it; absent in rows stored before the development panel.
    public var details: ChangeDetails?

    public init(
        project: ForgeProject, iid: Int64, title: String, description: String, action: Action, sourceBranch: String,
        targetBranch: String, lastCommitID: String?, url: String, user: ForgeUser, details: ChangeDetails? = nil
    ) {
        self.details = details
        self.project = project
        self.iid = iid
        self.title = title
        self.description = description
        self.action = action
        self.sourceBranch = sourceBranch
        self.targetBranch = targetBranch
        self.lastCommitID = lastCommitID
        self.url = url
        self.user = user
    }
}

/// A merge or pull request's state as the development panel shows it.
public struct ChangeDetails: Sendable, Equatable {
    public enum State: String, Sendable { case open, merged, closed }

    public var state: State
    public var draft: Bool
    /// When the forge last changed it, as the forge writes it (ISO 8601 or GitLab's `2024-01-02 10:00:00 UTC`).
    public var updatedAt: String?
    /// Who opened it (its author), when the payload says; else the acting user is shown.
    public var author: String?
    public var commentCount: Int
    public var reviewers: [String]

    public init(state: State, draft: Bool, updatedAt: String?, author: String?, commentCount: Int, reviewers: [String]) {
        self.state = state
        self.draft = draft
        self.updatedAt = updatedAt
        self.author = author
        self.commentCount = commentCount
        self.reviewers = reviewers
    }
}

/// A pipeline or workflow run (GitLab's `Pipeline Hook`, GitHub's and Gitea's `workflow_run`), as Jira's Builds
/// view takes it. The state is already Jira's: each forge's decoder maps its own.
public struct PipelineEvent: Sendable, Equatable {
    /// Jira's build states.
    public enum State: String, Sendable, CaseIterable {
        case pending, inProgress = "in_progress", successful, failed, cancelled, unknown
    }

    public var project: ForgeProject
    /// The workflow the run belongs to (GitHub's `workflow_id`, Gitea's workflow file); empty on GitLab, whose
    /// project has one pipeline definition.
    public var workflowID: String
    /// The workflow's name, or GitLab's pipeline name.
    public var workflowName: String
    /// The forge's run number within the workflow (GitLab's pipeline `iid`).
    public var runNumber: Int64
    public var state: State
    /// The branch (or tag) it ran for, without `refs/heads/`.
    public var ref: String
    public var sha: String
    /// The head commit's message, when the payload has it.
    public var commitMessage: String
    /// Titles that may name keys: GitHub's `display_title`, the merge request's title.
    public var titles: [String]
    public var url: String
    /// The latest of the forge's times for this state (ISO 8601 or GitLab's form).
    public var updatedAt: String?

    public init(
        project: ForgeProject, workflowID: String, workflowName: String, runNumber: Int64, state: State, ref: String, sha: String,
        commitMessage: String, titles: [String], url: String, updatedAt: String?
    ) {
        self.project = project
        self.workflowID = workflowID
        self.workflowName = workflowName
        self.runNumber = runNumber
        self.state = state
        self.ref = ref
        self.sha = sha
        self.commitMessage = commitMessage
        self.titles = titles
        self.url = url
        self.updatedAt = updatedAt
    }
}

/// A deployment's new state (GitLab's `Deployment Hook`, GitHub's `deployment_status`), as Jira's Deployments
/// view takes it.
public struct DeploymentEvent: Sendable, Equatable {
    /// Jira's deployment states.
    public enum State: String, Sendable, CaseIterable {
        case pending, inProgress = "in_progress", successful, failed, cancelled, rolledBack = "rolled_back", unknown
    }

    public var project: ForgeProject
    /// The forge's deployment id (Jira's `deploymentSequenceNumber`).
    public var deploymentID: Int64
    public var environment: String
    /// GitLab's `environment_tier`, or `production` for GitHub's `production_environment`; nil when not said.
    public var tier: String?
    public var state: State
    /// The deployed branch or tag (empty when the payload names none).
    public var ref: String
    public var sha: String
    /// The deployed commit's message or title, when the payload has it.
    public var commitMessage: String
    public var description: String
    /// The deployment's page (its job, its log), else the project's.
    public var url: String
    public var updatedAt: String?

    public init(
        project: ForgeProject, deploymentID: Int64, environment: String, tier: String?, state: State, ref: String, sha: String,
        commitMessage: String, description: String, url: String, updatedAt: String?
    ) {
        self.project = project
        self.deploymentID = deploymentID
        self.environment = environment
        self.tier = tier
        self.state = state
        self.ref = ref
        self.sha = sha
        self.commitMessage = commitMessage
        self.description = description
        self.url = url
        self.updatedAt = updatedAt
    }
}

/// What a forge told us, whatever the forge.
public enum ForgeEvent: Sendable, Equatable {
    case push(PushEvent)
    case mergeRequest(MergeRequestEvent)
    case pipeline(PipelineEvent)
    case deployment(DeploymentEvent)

    public var project: ForgeProject {
        switch self {
        case .push(let p): return p.project
        case .mergeRequest(let m): return m.project
        case .pipeline(let p): return p.project
        case .deployment(let d): return d.project
        }
    }

    public var kind: String {
        switch self {
        case .push: return "push"
        case .mergeRequest: return "merge_request"
        case .pipeline: return "pipeline"
        case .deployment: return "deployment"
        }
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        return s
    }
}
