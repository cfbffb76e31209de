/// Turns a forge event into the Jira deliveries it calls for, with GitLab's rules (behavior doc (c))
/// and jira-bridge's differences (closing lists, closing without transitions treated as a mention).
public struct EventPlanner: Sendable {
    public let settings: JiraSettings
    public let extractor: ReferenceExtractor

    public init(settings: JiraSettings, extractor: ReferenceExtractor) {
        self.settings = settings
        self.extractor = extractor
    }

    /// The deliveries for `event`; empty when the integration is inactive.
    public func plan(_ event: ForgeEvent) -> [PlannedDelivery] {
        planWithNotes(event).deliveries
    }

    /// The deliveries for `event`, within `EventLimits`, and a note for each limit the event reached
    /// (commits or keys left out), for the event's record. `eventID` tells apart changes that name nothing
    /// else unique (Gitea's branch deletion names no commit).
    public func planWithNotes(_ event: ForgeEvent, eventID: String = "") -> (deliveries: [PlannedDelivery], notes: [String]) {
        guard settings.active else { return ([], []) }
        var notes: [String] = []
        var deliveries: [PlannedDelivery]
        switch event {
        case .push(let push):
            deliveries = plan(push, notes: &notes)
            if let omitted = push.omittedCommits, omitted > 0 {
                notes.append("\(omitted) commits after the first \(EventLimits.commitsPerPush) of this push were skipped (limit per push)")
            }
        case .mergeRequest(let mr):
            deliveries = plan(mr, notes: &notes)
        case .pipeline(let pipeline):
            // Builds only: a pipeline writes no comment or link.
            guard settings.buildsEnabled, let build = BuildsAndDeployments.build(pipeline, extractor: extractor) else { return ([], notes) }
            return ([CloudDataWork.planned(.builds, repositoryID: DevelopmentInfo.repositoryID(pipeline.project), item: build)], notes)
        case .deployment(let deployment):
            guard settings.deploymentsEnabled, let item = BuildsAndDeployments.deployment(deployment, extractor: extractor) else {
                return ([], notes)
            }
            return ([CloudDataWork.planned(.deployments, repositoryID: DevelopmentInfo.repositoryID(deployment.project), item: item)], notes)
        }
        // Jira issue checks, as commit statuses: first, so that the cap below never cuts them.
        let rules = JiraIssueCheck.Rules(settings)
        switch event {
        case .push(let push) where rules.active && !push.deletesBranch && EventLimits.isCommitID(push.after) && !push.commits.isEmpty:
            let branch = push.branch ?? push.ref
            let work = CommitStatusWork(
                context: JiraIssueCheck.pushContext, sha: push.after, subject: "push to \(Texts.cut(branch, to: 255))",
                commits: JiraIssueCheck.commits(push, extractor: extractor), mergeRequestFailure: nil)
            deliveries.insert(work.planned(), at: 0)
        case .mergeRequest(let mr)
        where settings.preventMergeWithoutJiraIssue && mr.action != .merge && mr.action != .close
            && mr.lastCommitID.map(EventLimits.isCommitID) == true:
            let work = CommitStatusWork(
                context: JiraIssueCheck.mergeRequestContext, sha: mr.lastCommitID!,
                subject: JiraIssueCheck.changeName(mr), commits: [],
                mergeRequestFailure: JiraIssueCheck.mergeRequestFailure(mr, extractor: extractor))
            deliveries.insert(work.planned(), at: 0)
        default: break
        }
        if settings.developmentPanelEnabled {
            // One delivery per repository change, first: the cap below never cuts it.
            deliveries.insert(
                contentsOf: DevelopmentInfo.changes(event, extractor: extractor).map { DevelopmentInfoWork.planned($0, eventID: eventID) }, at: 0)
        }
        // `project_keys`, when set, limits what is written to issues of those Jira projects (a `UTF-8` or `SHA-256`
        // in a message names no issue of theirs).
        if !settings.projectKeys.isEmpty {
            let allowed = Set(settings.projectKeys)
            var outside: [String] = []
            deliveries.removeAll { d in
                guard d.action.namesIssue else { return false }
                let project = d.issueKey.lastIndex(of: "-").map { String(d.issueKey[..<$0]) } ?? d.issueKey
                if allowed.contains(project) { return false }
                if !outside.contains(d.issueKey) { outside.append(d.issueKey) }
                return true
            }
            if !outside.isEmpty {
                notes.append(
                    "\(outside.prefix(10).joined(separator: ", "))\(outside.count > 10 ? " and \(outside.count - 10) more" : "") left out: not in the integration's project keys (\(settings.projectKeys.prefix(10).joined(separator: ", ")))"
                )
            }
        }
        if deliveries.count > EventLimits.deliveriesPerEvent {
            notes.append(
                "\(deliveries.count - EventLimits.deliveriesPerEvent) deliveries beyond the first \(EventLimits.deliveriesPerEvent) of this event were skipped (limit per event)"
            )
            deliveries.removeLast(deliveries.count - EventLimits.deliveriesPerEvent)
        }
        return (deliveries, notes)
    }

    /// At most `EventLimits.keysPerEntity` keys, with a note when there were more.
    func capped(_ keys: [String], entity: String, notes: inout [String]) -> [String] {
        guard keys.count > EventLimits.keysPerEntity else { return keys }
        notes.append(
            "\(entity) names \(keys.count) Jira keys; only the first \(EventLimits.keysPerEntity) are used (limit per commit or merge request)")
        return Array(keys.prefix(EventLimits.keysPerEntity))
    }

    func plan(_ push: PushEvent, notes: inout [String]) -> [PlannedDelivery] {
        guard let branch = push.branch, !push.deletesBranch else { return [] }
        let project = push.project
        let toClosingBranch = settings.isClosingBranch(branch, defaultBranch: project.defaultBranch)
        var out: [PlannedDelivery] = []
        // GitLab processes the newest commits last; the payload lists them oldest first.
        for commit in push.commits {
            // A first line can be megabytes long: cut it once here, not once per key.
            let title = Texts.cut(commit.title, to: Texts.maxQuoteCharacters)
            let entityURL = project.forge.commitURL(project: project.webURL, sha: commit.id)
            let closing = toClosingBranch && !project.forge.isChangeMergeCommit(commit.message)
            var mentions: [String]
            var closes: [String] = []
            if closing {
                let refs = extractor.extract(commit.message)
                mentions = refs.mentions
                closes = refs.closes
            } else {
                mentions = extractor.allKeys(commit.message)
            }
            // GitLab sends nothing for a closing key without transitions; we mention it instead (per Jira project:
            // a project with no list of its own and no general list has no transitions).
            let moved = closes.filter(settings.transitionsEnabled(for:))
            if moved.count < closes.count {
                mentions = Self.ordered(closes.filter { !settings.transitionsEnabled(for: $0) } + mentions)
                closes = moved
            }
            closes = capped(closes, entity: "Commit \(commit.id.prefix(12))", notes: &notes)
            mentions = capped(mentions, entity: "Commit \(commit.id.prefix(12))", notes: &notes)
            for key in closes {
                out.append(transition(key: key, entityURL: entityURL, commitID: commit.id, project: project))
            }
            if settings.smartCommitsEnabled {
                out += smartCommands(commit, project: project, entityURL: entityURL, notes: &notes)
            }
            if settings.commitEvents {
                // The message is hashed once for all its keys: it can be megabytes long.
                var content = StableHash()
                content.add("commit|\(project.id)|\(commit.authorEmail ?? commit.authorName)|")
                content.add(commit.message)
                for key in mentions {
                    out += mention(
                        key: key, entity: .commit, entityURL: entityURL, title: title, author: push.pusher,
                        project: project, branch: branch, contentKey: content)
                }
            }
        }
        return out
    }

    func plan(_ mr: MergeRequestEvent, notes: inout [String]) -> [PlannedDelivery] {
        let project = mr.project
        let entityURL = project.forge.changeURL(project: project.webURL, number: mr.iid)
        let name = project.forge.changeName(mr.iid)
        let text = mr.title + "\n\n" + mr.description
        let title = Texts.cut(mr.title, to: Texts.maxQuoteCharacters)
        var out: [PlannedDelivery] = []
        switch mr.action {
        case .open, .reopen, .update, .ready:
            out += openedTransitions(mr, entityURL: entityURL, notes: &notes)
            guard settings.mergeRequestsEvents else { return out }
            for key in capped(extractor.allKeys(text), entity: name, notes: &notes) {
                out += mention(
                    key: key, entity: .mergeRequest, entityURL: entityURL, title: title, author: mr.user,
                    project: project, branch: mr.sourceBranch, contentKey: nil)
            }
        case .merge:
            let refs = extractor.extract(text)
            var mentions = refs.mentions
            var closes = refs.closes
            let toClosingBranch = settings.isClosingBranch(mr.targetBranch, defaultBranch: project.defaultBranch)
            let canClose = toClosingBranch && mr.lastCommitID != nil
            if !toClosingBranch, !closes.isEmpty, closes.contains(where: settings.transitionsEnabled(for:)) {
                notes.append(
                    "\(closes.prefix(10).joined(separator: ", ")) not moved: \(name) was merged into \(Texts.cut(mr.targetBranch, to: 255)), and closing references move issues only on \(closingBranchesText(project.defaultBranch))"
                )
            }
            let moved = canClose ? closes.filter(settings.transitionsEnabled(for:)) : []
            if moved.count < closes.count {
                mentions = Self.ordered(closes.filter { !moved.contains($0) } + mentions)
                closes = moved
            }
            closes = capped(closes, entity: name, notes: &notes)
            mentions = capped(mentions, entity: name, notes: &notes)
            for key in closes {
                out.append(transition(key: key, entityURL: entityURL, commitID: mr.lastCommitID!, project: project))
            }
            if settings.mergeRequestsEvents {
                for key in mentions {
                    out += mention(
                        key: key, entity: .mergeRequest, entityURL: entityURL, title: title, author: mr.user,
                        project: project, branch: mr.sourceBranch, contentKey: nil)
                }
            }
        default:
            break
        }
        return out
    }

    func mention(
        key: String, entity: Texts.Entity, entityURL: String, title: String, author: ForgeUser, project: ForgeProject,
        branch: String?, contentKey: StableHash?
    ) -> [PlannedDelivery] {
        let link = RemoteLinkSpec(
            globalId: RemoteLinkSpec.globalID(for: entityURL), url: entityURL,
            title: Texts.linkTitle(entity: entity, title: title, forge: project.forge), resolved: false,
            relationship: "mentioned on", iconURL: Self.iconURL(project), iconTitle: project.forge.displayName)
        var out = [PlannedDelivery(action: .remoteLink, issueKey: key, dedupeKey: "remote_link|\(link.globalId)", work: .remoteLink(link))]
        if settings.commentOnEventEnabled {
            let body = Texts.mention(
                author: author, forgeBaseURL: project.forgeBaseURL, entity: entity, entityURL: entityURL,
                project: project, branch: branch, title: title)
            out.append(
                PlannedDelivery(
                    action: .comment, issueKey: key, dedupeKey: "comment|\(entityURL)",
                    contentKey: contentKey.map {
                        var h = $0; h.add("|\(key)"); return h.hex
                    }, work: .comment(body: body)))
        }
        return out
    }

    /// A commit's smart commands, for every key named before the first command. Each runs once per commit: its
    /// key is the digest of the commit's message and author with the command's place, so a re-push, the same commit
    /// on another branch, or a rebase (same message and author) runs nothing again.
    func smartCommands(_ commit: ForgeCommit, project: ForgeProject, entityURL: String, notes: inout [String]) -> [PlannedDelivery] {
        let parsed = SmartCommits.parse(commit.message, extractor: extractor)
        guard !parsed.commands.isEmpty else { return [] }
        var content = StableHash()
        content.add("smart|\(project.id)|\(commit.authorEmail ?? commit.authorName)|")
        content.add(commit.message)
        let ledger = "smart|" + content.hex
        let author = commit.authorName.isEmpty ? (commit.authorEmail ?? "someone") : commit.authorName
        var out: [PlannedDelivery] = []
        for key in capped(parsed.keys, entity: "Commit \(commit.id.prefix(12))", notes: &notes) {
            for (i, command) in parsed.commands.enumerated() {
                func comment(_ text: String, _ suffix: String) {
                    out.append(
                        PlannedDelivery(
                            action: .comment, issueKey: key, dedupeKey: "\(ledger)|\(i)\(suffix)",
                            work: .comment(body: Texts.smartComment(text, author: author, commitID: commit.id, commitURL: entityURL))))
                }
                switch command {
                case .comment(let text):
                    if !text.isEmpty { comment(text, "") }
                case .time(let duration, let text):
                    guard !duration.isEmpty else { continue }
                    out.append(
                        PlannedDelivery(
                            action: .worklog, issueKey: key, dedupeKey: "\(ledger)|\(i)",
                            work: .worklog(
                                WorklogWork(
                                    timeSpent: duration, comment: Texts.smartWorklog(text, author: author, commitURL: entityURL), commitURL: entityURL
                                ))))
                case .transition(let name, let text):
                    let spec = TransitionSpec(
                        automatic: false, ids: [name], applied: 0, commitID: commit.id, commitURL: entityURL, comment: false,
                        iconURL: Self.iconURL(project), iconTitle: project.forge.displayName, smart: true)
                    out.append(PlannedDelivery(action: .transition, issueKey: key, dedupeKey: "\(ledger)|\(i)", work: .transition(spec)))
                    if !text.isEmpty { comment(text, "|comment") }
                }
            }
        }
        return out
    }

    /// `merge_request_opened_transition`: when a merge or pull request that names keys (in its title, description
    /// or source branch) is opened or reopened not as a draft, or leaves draft, each issue takes the transitions
    /// listed for its project, once per merge request and issue (the dedupe key), never a step back.
    func openedTransitions(_ mr: MergeRequestEvent, entityURL: String, notes: inout [String]) -> [PlannedDelivery] {
        let list = settings.openedTransitionList
        let draft = mr.details?.draft ?? false
        guard !list.isEmpty, mr.action == .ready || ((mr.action == .open || mr.action == .reopen) && !draft) else { return [] }
        let project = mr.project
        let keys = Self.ordered(extractor.allKeys(mr.title + "\n\n" + mr.description) + extractor.allKeys(mr.sourceBranch))
        return capped(keys, entity: project.forge.changeName(mr.iid), notes: &notes).compactMap { key in
            let steps = list.steps(for: key).map(\.description)
            guard !steps.isEmpty else { return nil }
            let spec = TransitionSpec(
                automatic: false, ids: steps, applied: 0, commitID: mr.lastCommitID ?? "", commitURL: entityURL, comment: false,
                iconURL: Self.iconURL(project), iconTitle: project.forge.displayName, onOpen: true)
            return PlannedDelivery(action: .transition, issueKey: key, dedupeKey: "opened-transition|\(entityURL)", work: .transition(spec))
        }
    }

    func transition(key: String, entityURL: String, commitID: String, project: ForgeProject) -> PlannedDelivery {
        let spec = TransitionSpec(
            automatic: settings.transitionAutomatic, ids: settings.transitionSteps(for: key), applied: 0, commitID: commitID,
            commitURL: project.forge.commitURL(project: project.webURL, sha: commitID), comment: settings.commentOnEventEnabled,
            iconURL: Self.iconURL(project), iconTitle: project.forge.displayName)
        return PlannedDelivery(action: .transition, issueKey: key, dedupeKey: "transition|\(entityURL)", work: .transition(spec))
    }

    static func iconURL(_ project: ForgeProject) -> String { "\(project.forgeBaseURL)/favicon.ico" }

    static func ordered(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
