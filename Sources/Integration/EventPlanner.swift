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
        guard settings.active else { return [] }
        switch event {
        case .push(let push): return plan(push)
        case .mergeRequest(let mr): return plan(mr)
        }
    }

    func plan(_ push: PushEvent) -> [PlannedDelivery] {
        guard let branch = push.branch, !push.deletesBranch else { return [] }
        let project = push.project
        let toDefault = branch == project.defaultBranch
        var out: [PlannedDelivery] = []
        // GitLab processes the newest commits last; the payload lists them oldest first.
        for commit in push.commits {
            let entityURL = "\(project.webURL)/-/commit/\(commit.id)"
            let closing = toDefault && !Self.isMergeRequestMergeCommit(commit.message)
            var mentions: [String]
            var closes: [String] = []
            if closing {
                let refs = extractor.extract(commit.message)
                mentions = refs.mentions
                closes = refs.closes
            } else {
                mentions = extractor.allKeys(commit.message)
            }
            if !settings.transitionsEnabled {
                // GitLab sends nothing for a closing key without transitions; we mention it instead.
                mentions = Self.ordered(closes + mentions)
                closes = []
            }
            for key in closes {
                out.append(transition(key: key, entityURL: entityURL, commitID: commit.id, project: project))
            }
            if settings.commitEvents {
                let content = "commit|\(project.id)|\(commit.authorEmail ?? commit.authorName)|\(commit.message)"
                for key in mentions {
                    out += mention(key: key, entity: .commit, entityURL: entityURL, title: commit.title, author: push.pusher,
                                   project: project, branch: branch, contentKey: content)
                }
            }
        }
        return out
    }

    func plan(_ mr: MergeRequestEvent) -> [PlannedDelivery] {
        let project = mr.project
        let entityURL = "\(project.webURL)/-/merge_requests/\(mr.iid)"
        let text = mr.title + "\n\n" + mr.description
        var out: [PlannedDelivery] = []
        switch mr.action {
        case .open, .reopen, .update:
            guard settings.mergeRequestsEvents else { return [] }
            for key in extractor.allKeys(text) {
                out += mention(key: key, entity: .mergeRequest, entityURL: entityURL, title: mr.title, author: mr.user,
                               project: project, branch: mr.sourceBranch, contentKey: nil)
            }
        case .merge:
            let refs = extractor.extract(text)
            var mentions = refs.mentions
            var closes = refs.closes
            let canClose = mr.targetBranch == project.defaultBranch && settings.transitionsEnabled && mr.lastCommitID != nil
            if !canClose {
                mentions = Self.ordered(closes + mentions)
                closes = []
            }
            for key in closes {
                out.append(transition(key: key, entityURL: entityURL, commitID: mr.lastCommitID!, project: project))
            }
            if settings.mergeRequestsEvents {
                for key in mentions {
                    out += mention(key: key, entity: .mergeRequest, entityURL: entityURL, title: mr.title, author: mr.user,
                                   project: project, branch: mr.sourceBranch, contentKey: nil)
                }
            }
        default:
            break
        }
        return out
    }

    func mention(key: String, entity: Texts.Entity, entityURL: String, title: String, author: ForgeUser, project: ForgeProject,
                 branch: String?, contentKey: String?) -> [PlannedDelivery] {
        let link = RemoteLinkSpec(globalId: RemoteLinkSpec.globalID(for: entityURL), url: entityURL,
                                  title: Texts.linkTitle(entity: entity, title: title), resolved: false,
                                  relationship: "mentioned on", iconURL: Self.iconURL(project))
        var out = [PlannedDelivery(action: .remoteLink, issueKey: key, dedupeKey: "remote_link|\(link.globalId)", work: .remoteLink(link))]
        if settings.commentOnEventEnabled {
            let body = Texts.mention(author: author, forgeBaseURL: project.forgeBaseURL, entity: entity, entityURL: entityURL,
                                     project: project, branch: branch, title: title)
            out.append(PlannedDelivery(action: .comment, issueKey: key, dedupeKey: "comment|\(entityURL)",
                                       contentKey: contentKey.map { "\($0)|\(key)" }, work: .comment(body: body)))
        }
        return out
    }

    func transition(key: String, entityURL: String, commitID: String, project: ForgeProject) -> PlannedDelivery {
        let spec = TransitionSpec(automatic: settings.transitionAutomatic, ids: settings.transitionIDs, applied: 0, commitID: commitID,
                                  commitURL: "\(project.webURL)/-/commit/\(commitID)", comment: settings.commentOnEventEnabled,
                                  iconURL: Self.iconURL(project))
        return PlannedDelivery(action: .transition, issueKey: key, dedupeKey: "transition|\(entityURL)", work: .transition(spec))
    }

    static func iconURL(_ project: ForgeProject) -> String { "\(project.forgeBaseURL)/favicon.ico" }

    /// GitLab's merge commits for merge requests end with "See merge request group/project!iid"; the
    /// merge request itself closes, not its merge commit.
    public static func isMergeRequestMergeCommit(_ message: String) -> Bool {
        guard let last = message.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }) else { return false }
        let line = last.trimmingCharacters(in: " \t\r")
        guard line.hasPrefix("See merge request "), let bang = line.lastIndex(of: "!") else { return false }
        let iid = line[line.index(after: bang)...]
        return !iid.isEmpty && iid.allSatisfy(\.isNumber)
    }

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
