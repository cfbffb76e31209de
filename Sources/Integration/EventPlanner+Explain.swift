/// Why an event planned nothing, in words a user of the event log can act on (issue 31, "nothing silent").
/// Called only when `planWithNotes` returned no delivery, so its extra reading of the texts costs nothing on the
/// usual path.
extension EventPlanner {
    /// What is said of an event of a project no integration covers, or whose integration cannot run.
    public enum Absent {
        public static let noIntegration =
            "nothing planned: no Jira integration applies to this project (set one on the project, a group or the instance)"
        public static let noURL = "nothing planned: the Jira integration has no Jira URL"
        public static let badPattern = "nothing planned: the integration's Jira issue pattern does not compile"
    }

    /// The reason `event` calls for nothing under these settings; nil when the notes already say it (every key was
    /// outside `project_keys`, or a limit cut everything).
    public func whyNothing(_ event: ForgeEvent, notes: [String]) -> String? {
        guard settings.active else { return "nothing planned: the Jira integration is inactive" }
        if notes.contains(where: { $0.contains("left out: not in the integration's project keys") }) { return nil }
        switch event {
        case .push(let push): return "nothing planned: " + why(push)
        case .mergeRequest(let mr): return "nothing planned: " + why(mr)
        case .pipeline(let pipeline):
            guard settings.buildsEnabled else { return "nothing planned: pipelines go to Jira's Builds only, which are off (jira_builds_enabled)" }
            let texts = [pipeline.commitMessage, pipeline.ref] + pipeline.titles
            return texts.contains(where: { !extractor.allKeys($0).isEmpty })
                ? nil : "nothing planned: the pipeline's commit message, branch and titles name no Jira key"
        case .deployment(let deployment):
            guard settings.deploymentsEnabled else {
                return "nothing planned: deployments go to Jira's Deployments only, which are off (jira_deployments_enabled)"
            }
            let texts = [deployment.commitMessage, deployment.ref, deployment.description]
            return texts.contains(where: { !extractor.allKeys($0).isEmpty })
                ? nil : "nothing planned: the deployment's commit message, ref and description name no Jira key"
        }
    }

    private func why(_ push: PushEvent) -> String {
        guard let branch = push.branch else { return "a tag push (jira-bridge reads the commits of branches)" }
        if push.deletesBranch { return "the branch \(Texts.cut(branch, to: 255)) was deleted" }
        if push.commits.isEmpty { return "the push carries no commits" }
        // At most the first 100 commits are read again here: a reason needs no more.
        let commits = push.commits.prefix(100)
        guard commits.contains(where: { !extractor.allKeys($0.message).isEmpty }) else {
            return "no commit message names a Jira key\(keyPatternHint)"
        }
        if settings.commitEvents { return "the Jira keys its commits name call for nothing" }
        let closing = settings.isClosingBranch(branch, defaultBranch: push.project.defaultBranch)
        let closesSomething = commits.contains { !extractor.extract($0.message).closes.isEmpty }
        var reason = "commit events are off (commit_events)"
        if closesSomething && !closing {
            reason +=
                ", and closing references move issues only on \(closingBranchesText(push.project.defaultBranch)): this push is to \(Texts.cut(branch, to: 255))"
        } else if closesSomething {
            reason += ", and no closing reference names an issue whose project has transitions (jira_issue_transition_id)"
        }
        return reason
    }

    private func why(_ mr: MergeRequestEvent) -> String {
        let name = mr.project.forge.changeName(mr.iid)
        switch mr.action {
        case .open, .reopen, .update, .ready, .merge: break
        default: return "\(name) was \(Self.describe(mr.action)): only opening, updating and merging are acted on"
        }
        guard !extractor.allKeys(mr.title + "\n\n" + mr.description).isEmpty else {
            return "the title and description of \(name) name no Jira key\(keyPatternHint)"
        }
        if settings.mergeRequestsEvents { return "the Jira keys \(name) names call for nothing" }
        var reason = "merge request events are off (merge_requests_events)"
        if mr.action == .merge, !extractor.extract(mr.title + "\n\n" + mr.description).closes.isEmpty,
            !settings.isClosingBranch(mr.targetBranch, defaultBranch: mr.project.defaultBranch)
        {
            reason +=
                ", and closing references move issues only on \(closingBranchesText(mr.project.defaultBranch)): \(name) was merged into \(Texts.cut(mr.targetBranch, to: 255))"
        }
        return reason
    }

    private var keyPatternHint: String {
        if !settings.issueRegex.isEmpty { return " matching the integration's pattern (jira_issue_regex)" }
        if !settings.issuePrefix.isEmpty { return " with the integration's prefix (jira_issue_prefix)" }
        return ""
    }

    func closingBranchesText(_ defaultBranch: String) -> String {
        let list = settings.closingBranches.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        if list.isEmpty { return "the default branch (\(Texts.cut(defaultBranch, to: 255)))" }
        return "the closing branches (\(Texts.cut(list.prefix(10).joined(separator: ", "), to: 500)))"
    }

    static func describe(_ action: MergeRequestEvent.Action) -> String {
        switch action {
        case .close: "closed"
        case .approved, .approval: "approved"
        case .unapproved, .unapproval: "unapproved"
        default: "changed in a way jira-bridge does not act on (\(action.rawValue))"
        }
    }
}
