import Integration

/// `deliveries.work`: what a delivery does (see `StoredFormat` for the versions). A comment is
/// `{"comment": {"body": ...}}` in both formats (format 0 had the labelled case's field directly).
/// `iconTitle` is absent in rows written before other forges existed: GitLab's.
enum StoredWorkFormat {
    static func encode(_ work: DeliveryWork) -> String {
        switch work {
        case .comment(let body):
            var w = StoredFormat.begin("comment", capacity: body.utf8.count + 64)
            w.beginObject()
            w.field("body", body)
            w.endObject()
            return StoredFormat.end(&w)
        case .remoteLink(let s):
            var w = StoredFormat.begin("remoteLink", capacity: 512 + s.title.utf8.count)
            w.beginObject()
            w.field("globalId", s.globalId)
            w.field("url", s.url)
            w.field("title", s.title)
            w.field("resolved", s.resolved)
            w.field("relationship", s.relationship)
            w.field("iconURL", s.iconURL)
            w.field("iconTitle", s.iconTitle)
            w.endObject()
            return StoredFormat.end(&w)
        case .transition(let s):
            var w = StoredFormat.begin("transition")
            w.beginObject()
            w.field("automatic", s.automatic)
            w.field("ids", s.ids)
            w.field("applied", Int64(s.applied))
            w.field("commitID", s.commitID)
            w.field("commitURL", s.commitURL)
            w.field("comment", s.comment)
            w.field("iconURL", s.iconURL)
            w.field("iconTitle", s.iconTitle)
            if s.onOpen { w.field("onOpen", true) }
            if s.smart { w.field("smart", true) }
            w.endObject()
            return StoredFormat.end(&w)
        case .developmentInfo(let d):
            var w = StoredFormat.begin("developmentInfo", capacity: 128 + (d.repository?.utf8.count ?? 0))
            w.beginObject()
            w.field("repositoryID", d.repositoryID)
            w.field("repository", d.repository)
            w.field("deletedBranch", d.deletedBranch)
            w.endObject()
            return StoredFormat.end(&w)
        case .commitStatus(let c):
            var w = StoredFormat.begin("commitStatus", capacity: 256 + c.commits.count * 160)
            w.beginObject()
            w.field("context", c.context)
            w.field("sha", c.sha)
            w.field("subject", c.subject)
            w.field("mergeRequestFailure", c.mergeRequestFailure)
            w.key("commits")
            w.beginArray()
            for commit in c.commits {
                w.beginObject()
                w.field("sha", commit.sha)
                w.field("title", commit.title)
                w.field("key", commit.key)
                w.field("authorName", commit.authorName)
                w.field("authorEmail", commit.authorEmail)
                w.endObject()
            }
            w.endArray()
            w.endObject()
            return StoredFormat.end(&w)
        case .backfill(let b):
            var w = StoredFormat.begin("backfill", capacity: 256 + b.sent.reduce(0) { $0 + $1.utf8.count + 4 })
            w.beginObject()
            w.field("run", b.run)
            w.field("repositoryID", b.repositoryID)
            w.field("phase", b.phase.rawValue)
            w.field("page", Int64(b.page))
            w.field("read", Int64(b.read))
            w.field("sent", b.sent)
            w.endObject()
            return StoredFormat.end(&w)
        case .worklog(let l):
            var w = StoredFormat.begin("worklog", capacity: 256 + l.comment.utf8.count)
            w.beginObject()
            w.field("timeSpent", l.timeSpent)
            w.field("comment", l.comment)
            w.field("commitURL", l.commitURL)
            w.endObject()
            return StoredFormat.end(&w)
        case .catchUp(let c):
            var w = StoredFormat.begin("catchUp", capacity: 256)
            w.beginObject()
            w.field("run", c.run)
            w.field("repositoryID", c.repositoryID)
            w.field("since", c.since)
            w.field("phase", c.phase.rawValue)
            w.field("page", Int64(c.page))
            w.field("cursor", c.cursor)
            w.field("taken", Int64(c.taken))
            w.endObject()
            return StoredFormat.end(&w)
        case .cloudData(let c):
            var w = StoredFormat.begin("cloudData", capacity: 128 + c.item.utf8.count)
            w.beginObject()
            w.field("kind", c.kind.rawValue)
            w.field("repositoryID", c.repositoryID)
            w.field("item", c.item)
            w.endObject()
            return StoredFormat.end(&w)
        }
    }

    static func decode(_ text: String) throws -> DeliveryWork {
        let (name, f) = try StoredFormat.read(
            text, cases: ["comment", "remoteLink", "transition", "developmentInfo", "cloudData", "commitStatus", "backfill", "catchUp", "worklog"])
        switch name {
        case "comment":
            return .comment(body: try f.string("body"))
        case "developmentInfo":
            return .developmentInfo(
                DevelopmentInfoWork(
                    repositoryID: try f.string("repositoryID"), repository: try f.optionalString("repository"),
                    deletedBranch: try f.optionalString("deletedBranch")))
        case "commitStatus":
            return .commitStatus(
                CommitStatusWork(
                    context: try f.string("context"), sha: try f.string("sha"), subject: try f.string("subject"),
                    commits: try f.list("commits").map { c in
                        JiraIssueCheck.Commit(
                            sha: try c.string("sha"), title: try c.string("title"), key: try c.optionalString("key"),
                            authorName: try c.string("authorName"), authorEmail: try c.optionalString("authorEmail"))
                    }, mergeRequestFailure: try f.optionalString("mergeRequestFailure")))
        case "backfill":
            guard let phase = BackfillWork.Phase(rawValue: try f.string("phase")) else { throw f.fail("phase", "is no known phase") }
            return .backfill(
                BackfillWork(
                    run: try f.int64("run"), repositoryID: try f.string("repositoryID"), phase: phase, page: Int(try f.int64("page")),
                    read: Int(try f.int64("read")), sent: try f.strings("sent")))
        case "worklog":
            return .worklog(WorklogWork(timeSpent: try f.string("timeSpent"), comment: try f.string("comment"), commitURL: try f.string("commitURL")))
        case "catchUp":
            guard let phase = CatchUpWork.Phase(rawValue: try f.string("phase")) else { throw f.fail("phase", "is no known phase") }
            return .catchUp(
                CatchUpWork(
                    run: try f.int64("run"), repositoryID: try f.string("repositoryID"), since: try f.int64("since"), phase: phase,
                    page: Int(try f.int64("page")), cursor: try f.optionalString("cursor"), taken: Int(try f.int64("taken"))))
        case "cloudData":
            guard let kind = BuildsAndDeployments.Kind(rawValue: try f.string("kind")) else { throw f.fail("kind", "is no known kind") }
            return .cloudData(CloudDataWork(kind: kind, repositoryID: try f.string("repositoryID"), item: try f.string("item")))
        case "remoteLink":
            return .remoteLink(
                RemoteLinkSpec(
                    globalId: try f.string("globalId"), url: try f.string("url"), title: try f.string("title"),
                    resolved: try f.bool("resolved"), relationship: try f.string("relationship"),
                    iconURL: try f.string("iconURL"),
                    iconTitle: try f.optionalString("iconTitle") ?? Forge.gitlab.displayName))
        default:
            return .transition(
                TransitionSpec(
                    automatic: try f.bool("automatic"), ids: try f.strings("ids"), applied: try f.optionalInt("applied") ?? 0,
                    commitID: try f.string("commitID"), commitURL: try f.string("commitURL"),
                    comment: try f.bool("comment"), iconURL: try f.string("iconURL"),
                    iconTitle: try f.optionalString("iconTitle") ?? Forge.gitlab.displayName, onOpen: f.object["onOpen"]?.bool ?? false,
                    smart: f.object["smart"]?.bool ?? false))
        }
    }
}

extension StoredFormat {
    static func encode(event: ForgeEvent) throws -> String { StoredEventFormat.encode(event) }
    static func decodeEvent(_ text: String) throws -> ForgeEvent { try StoredEventFormat.decode(text) }
    static func encode(work: DeliveryWork) throws -> String { StoredWorkFormat.encode(work) }
    static func decodeWork(_ text: String) throws -> DeliveryWork { try StoredWorkFormat.decode(text) }
}
