import Integration

/// The forges' API lists jira-bridge reads for a backfill, decoded into the same events as their webhooks:
/// merge or pull requests (GitLab `GET /projects/:id/merge_requests`, GitHub and Gitea
/// `GET /repos/{owner}/{repo}/pulls`), branches with their head commits (`.../repository/branches`,
/// `.../branches`), and GitHub's commit list, whose first item is a branch's head. An item that is not what the
/// forge's description says is left out; the list is cut to `limit`.
public enum Listings {
    /// Merge or pull requests, newest first as the forge listed them.
    public static func mergeRequests(_ list: JSONValue, project: ForgeProject, limit: Int) -> [MergeRequestEvent] {
        (list.array ?? []).prefix(max(0, limit)).compactMap { item -> MergeRequestEvent? in
            guard let pr = item.object else { return nil }
            switch project.forge {
            case .gitlab: return gitlabMergeRequest(pr, project: project)
            case .github, .gitea:
                guard let number = pr["number"]?.integer, number > 0 else { return nil }
                var event = ChangeRequest.event(project: project, number: number, pr: pr, action: .update, sender: nil)
                // A list item of GitHub has `merged_at`, not `merged`.
                if pr["merged"] == nil, pr["merged_at"]?.string != nil { event.details?.state = .merged }
                return event
            }
        }
    }

    static func gitlabMergeRequest(_ a: JSONObject, project: ForgeProject) -> MergeRequestEvent? {
        guard let iid = a["iid"]?.integer, iid > 0 else { return nil }
        let author = a["author"]?.object
        let username = Payload.optionalString(author?["username"]) ?? ""
        let notes = a["user_notes_count"]?.number.flatMap { Int(exactly: $0) }.map { max(0, min($0, 1_000_000)) } ?? 0
        return MergeRequestEvent(
            project: project, iid: iid, title: a["title"]?.string ?? "", description: a["description"]?.string ?? "", action: .update,
            sourceBranch: a["source_branch"]?.string ?? "", targetBranch: a["target_branch"]?.string ?? project.defaultBranch,
            lastCommitID: Payload.optionalString(a["sha"]).flatMap { EventLimits.isCommitID($0) ? $0 : nil },
            url: Payload.webURL(a["web_url"]) ?? project.forge.changeURL(project: project.webURL, number: iid),
            user: ForgeUser(name: Payload.optionalString(author?["name"]) ?? username, username: username),
            details: ChangeDetails(
                state: GitLabWebhook.state(a), draft: a["draft"]?.bool ?? a["work_in_progress"]?.bool ?? false,
                updatedAt: Payload.timestamp(a["updated_at"]),
                author: Payload.optionalString(author?["name"]) ?? Payload.optionalString(author?["username"]), commentCount: notes,
                reviewers: GitLabWebhook.reviewers(a["reviewers"])))
    }

    /// Branches with the head commit the list carries (GitLab and Gitea); GitHub's list names only the head's
    /// sha, so its heads are nil (read apart with `headCommit`).
    public static func branches(_ list: JSONValue, project: ForgeProject, limit: Int) -> [Backfill.BranchHead] {
        (list.array ?? []).prefix(max(0, limit)).compactMap { item -> Backfill.BranchHead? in
            guard let name = Payload.optionalString(item["name"]), name.utf8.count <= 1024, let commit = item["commit"]?.object else {
                return nil
            }
            switch project.forge {
            case .gitlab:
                guard let id = Payload.optionalString(commit["id"]), EventLimits.isCommitID(id) else { return nil }
                return Backfill.BranchHead(
                    name: name,
                    head: ForgeCommit(
                        id: id, message: commit["message"]?.string ?? commit["title"]?.string ?? "",
                        url: Payload.webURL(commit["web_url"]) ?? Forge.gitlab.commitURL(project: project.webURL, sha: id),
                        authorName: commit["author_name"]?.string ?? "", authorEmail: Payload.optionalString(commit["author_email"]),
                        timestamp: Payload.timestamp(commit["authored_date"] ?? commit["committed_date"])))
            case .gitea:
                guard let id = Payload.optionalString(commit["id"]), EventLimits.isCommitID(id) else { return nil }
                let author = commit["author"]?.object
                return Backfill.BranchHead(
                    name: name,
                    head: ForgeCommit(
                        id: id, message: commit["message"]?.string ?? "",
                        url: Payload.webURL(commit["url"]) ?? Forge.gitea.commitURL(project: project.webURL, sha: id),
                        authorName: author?["name"]?.string ?? "", authorEmail: Payload.optionalString(author?["email"]),
                        timestamp: Payload.timestamp(commit["timestamp"])))
            case .github:
                guard let sha = Payload.optionalString(commit["sha"]), EventLimits.isCommitID(sha) else { return nil }
                return Backfill.BranchHead(name: name, head: nil)
            }
        }
    }

    /// The first commit of GitHub's `GET /repos/{owner}/{repo}/commits?sha=<branch>` (the branch's head).
    public static func headCommit(_ list: JSONValue, project: ForgeProject) -> ForgeCommit? {
        commits(list, project: project, limit: 1).first
    }

    /// The commits of GitHub's and Gitea's commit lists (`sha`, `html_url`, `commit.message`, `commit.author`),
    /// in the order listed.
    public static func commits(_ list: JSONValue, project: ForgeProject, limit: Int) -> [ForgeCommit] {
        (list.array ?? []).prefix(max(0, limit)).compactMap { value -> ForgeCommit? in
            guard let item = value.object, let sha = Payload.optionalString(item["sha"]), EventLimits.isCommitID(sha) else { return nil }
            let commit = item["commit"]?.object
            let author = commit?["author"]?.object
            return ForgeCommit(
                id: sha, message: commit?["message"]?.string ?? "",
                url: Payload.webURL(item["html_url"]) ?? project.forge.commitURL(project: project.webURL, sha: sha),
                authorName: author?["name"]?.string ?? "", authorEmail: Payload.optionalString(author?["email"]),
                timestamp: Payload.timestamp(author?["date"]), fileCount: item["files"]?.array?.count)
        }
    }

    /// A pull request of Gitea's list as the event that brought it to its state: merged, closed, opened (when it
    /// was created after `since`) or updated.
    public static func caughtUp(_ mr: MergeRequestEvent, item: JSONValue, since: Int64) -> MergeRequestEvent {
        var event = mr
        switch mr.details?.state {
        case .merged?:
            event.action = .merge
            if let merge = Payload.optionalString(item["merge_commit_sha"]), EventLimits.isCommitID(merge) { event.lastCommitID = merge }
        case .closed?: event.action = .close
        default:
            let created = item["created_at"]?.string.flatMap { JiraTimestamp($0)?.millis } ?? 0
            event.action = created >= since ? .open : .update
        }
        return event
    }
}
