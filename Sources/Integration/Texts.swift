/// GitLab's Jira texts (wiki markup), word for word.
public enum Texts {
    public enum Entity: Sendable {
        case commit
        case mergeRequest

        var reference: String {
            switch self {
            case .commit: return "a commit"
            case .mergeRequest: return "a merge request"
            }
        }

        var linkTitlePrefix: String {
            switch self {
            case .commit: return "Commit"
            case .mergeRequest: return "Merge request"
            }
        }
    }

    /// `[Name|base/username] mentioned this issue in [a commit|url] of [Group / Project|project url] on branch [b|tree url]:{quote}title{quote}`
    public static func mention(author: ForgeUser, forgeBaseURL: String, entity: Entity, entityURL: String, project: ForgeProject,
                               branch: String?, title: String) -> String {
        var text = "[\(author.name)|\(forgeBaseURL)/\(author.username)] mentioned this issue in [\(entity.reference)|\(entityURL)] of [\(project.fullName)|\(project.webURL)]"
        if let branch, !branch.isEmpty {
            text += " on branch [\(branch)|\(project.webURL)/-/tree/\(branch)]"
        }
        text += ":{quote}\(title.trimmingTrailingNewlines()){quote}"
        return text
    }

    /// "Commit - Fix login", "Merge request - Add X".
    public static func linkTitle(entity: Entity, title: String) -> String {
        "\(entity.linkTitlePrefix) - \(title.trimmingTrailingNewlines())"
    }

    public static func solved(commitID: String, commitURL: String) -> String {
        "Issue solved with [\(commitID)|\(commitURL)]."
    }

    public static func solvedLinkTitle(commitID: String) -> String {
        "Solved by commit \(commitID)."
    }
}
