import Integration
import Testing

/// The delivery decisions: pure functions of what Jira answered, returning what to send next.
@Suite("Delivery decisions")
struct DeliveryDecisionsTests {
    let link = RemoteLinkSpec(
        globalId: "https://g/acme/shop/-/commit/abc", url: "https://g/acme/shop/-/commit/abc",
        title: "Commit - Fix", resolved: false, relationship: "mentioned on", iconURL: "https://g/favicon.ico")

    func existing(id: String = "1", globalID: String?, url: String?, title: String? = "Commit - Fix", resolved: Bool = false) -> ExistingRemoteLink {
        ExistingRemoteLink(id: id, globalID: globalID, url: url, title: title, resolved: resolved)
    }

    func spec(automatic: Bool = false, ids: [String] = ["11", "21"], applied: Int = 0, comment: Bool = true) -> TransitionSpec {
        TransitionSpec(
            automatic: automatic, ids: ids, applied: applied, commitID: "abc123", commitURL: "https://g/acme/shop/-/commit/abc123",
            comment: comment, iconURL: "https://g/favicon.ico")
    }

    // MARK: Comments

    @Test("a comment is posted when no existing comment contains it")
    func commentPosted() {
        #expect(DeliveryDecisions.comment("mentioned this", existing: []) == .post(body: "mentioned this"))
        #expect(DeliveryDecisions.comment("mentioned this", existing: ["something else"]) == .post(body: "mentioned this"))
    }

    @Test("GitLab's comment_exists?: a comment that contains the text means it is there (an edited one too)")
    func commentAlreadyThere() {
        #expect(DeliveryDecisions.comment("mentioned this", existing: ["mentioned this"]) == .skip(reason: "The comment is already on the issue."))
        #expect(
            DeliveryDecisions.comment("mentioned this", existing: ["Note: mentioned this, edited"])
                == .skip(reason: "The comment is already on the issue."))
    }

    // MARK: Remote links

    @Test("a link Jira does not have is upserted")
    func linkNew() {
        #expect(DeliveryDecisions.remoteLink(link, existing: []) == .upsert)
        #expect(DeliveryDecisions.remoteLink(link, existing: [existing(globalID: "other", url: "https://elsewhere")]) == .upsert)
    }

    @Test("the same link already there is skipped")
    func linkSame() {
        #expect(
            DeliveryDecisions.remoteLink(link, existing: [existing(globalID: link.globalId, url: link.url)])
                == .skip(reason: "The link is already on the issue."))
    }

    @Test("a resolved link is never set back to unresolved")
    func linkStaysResolved() {
        #expect(
            DeliveryDecisions.remoteLink(link, existing: [existing(globalID: link.globalId, url: link.url, resolved: true)])
                == .skip(reason: "The link is already resolved; it is never set back to unresolved."))
    }

    @Test("a changed title, or resolving, updates in place by global id")
    func linkUpdatedInPlace() {
        #expect(DeliveryDecisions.remoteLink(link, existing: [existing(globalID: link.globalId, url: link.url, title: "Commit - Old")]) == .upsert)
        var resolved = link
        resolved.resolved = true
        #expect(DeliveryDecisions.remoteLink(resolved, existing: [existing(globalID: link.globalId, url: link.url)]) == .upsert)
    }

    @Test("a link with the same URL under another global id (GitLab's own) is updated by its id")
    func linkFoundByURL() {
        #expect(DeliveryDecisions.remoteLink(link, existing: [existing(id: "77", globalID: "gitlab-old", url: link.url)]) == .update(linkID: "77"))
        #expect(DeliveryDecisions.remoteLink(link, existing: [existing(id: "78", globalID: nil, url: link.url)]) == .update(linkID: "78"))
    }

    @Test("the global id match wins over a URL match")
    func globalIDFirst() {
        let links = [existing(id: "1", globalID: "x", url: link.url), existing(id: "2", globalID: link.globalId, url: "https://moved")]
        #expect(
            DeliveryDecisions.remoteLink(link, existing: links) == .skip(reason: "The link is already on the issue."),
            "link 2 is the one compared, not link 1 found by URL")
    }

    // MARK: Transitions

    @Test("an issue already resolved is skipped before any transition")
    func resolvedSkipped() {
        #expect(
            DeliveryDecisions.transition(spec(), issueKey: "PROJ-1", resolved: true, offered: []) == .skip(reason: "The issue is already resolved."))
        #expect(
            DeliveryDecisions.transition(spec(automatic: true), issueKey: "PROJ-1", resolved: true, offered: [])
                == .skip(reason: "The issue is already resolved."))
    }

    @Test("listed transitions apply in order, one step at a time, saving progress after each")
    func listedTransitions() {
        #expect(DeliveryDecisions.transition(spec(), issueKey: "PROJ-1", resolved: false, offered: []) == .apply(ids: ["11"], advancing: true))
        #expect(
            DeliveryDecisions.transition(spec(applied: 1), issueKey: "PROJ-1", resolved: false, offered: []) == .apply(ids: ["21"], advancing: true))
    }

    @Test("a name is the offered transition of that name, without case; an unknown or shared name fails with the names offered")
    func namedTransitions() {
        var named = spec()
        named.ids = ["start progress", "Done"]
        let offered = [
            OfferedTransition(id: "11", name: "Start Progress", targetCategoryKey: "indeterminate"),
            OfferedTransition(id: "31", name: "Done", targetCategoryKey: "done"),
            OfferedTransition(id: "32", name: "done", targetCategoryKey: "done"),
        ]
        #expect(DeliveryDecisions.transition(named, issueKey: "PROJ-1", resolved: false, offered: offered) == .apply(ids: ["11"], advancing: true))
        named.applied = 1
        guard case .fail(let shared) = DeliveryDecisions.transition(named, issueKey: "PROJ-1", resolved: false, offered: offered) else {
            Issue.record("a shared name was applied")
            return
        }
        #expect(shared.contains("names 2 transitions of PROJ-1 (ids 31, 32)") && shared.contains("step 2 of 2"), "\(shared)")
        named.ids = ["Start Progress", "Ship it"]
        guard case .fail(let unknown) = DeliveryDecisions.transition(named, issueKey: "PROJ-1", resolved: false, offered: offered) else {
            Issue.record("an unknown name was applied")
            return
        }
        #expect(unknown == "PROJ-1 cannot take a transition named \"Ship it\" (step 2 of 2); it can take Start Progress (11), Done (31), done (32).")
    }

    @Test("a retry goes on after the transitions already applied, even once the issue shows a resolution")
    func retryContinues() {
        #expect(
            DeliveryDecisions.transition(spec(applied: 1), issueKey: "PROJ-1", resolved: true, offered: []) == .apply(ids: ["21"], advancing: true))
        #expect(DeliveryDecisions.transition(spec(applied: 2), issueKey: "PROJ-1", resolved: true, offered: []) == .check)
        #expect(
            DeliveryDecisions.transition(spec(applied: 9), issueKey: "PROJ-1", resolved: false, offered: []) == .check,
            "a progress count beyond the list applies nothing")
    }

    @Test("automatic: the first transition into a done-category status")
    func automaticTransition() {
        let offered = [
            OfferedTransition(id: "11", targetCategoryKey: "indeterminate"), OfferedTransition(id: "31", targetCategoryKey: "done"),
            OfferedTransition(id: "41", targetCategoryKey: "done"),
        ]
        #expect(
            DeliveryDecisions.transition(spec(automatic: true), issueKey: "PROJ-1", resolved: false, offered: offered)
                == .apply(ids: ["31"], advancing: false))
    }

    @Test("automatic without a done transition fails with the issue's key")
    func automaticWithoutDone() {
        let offered = [OfferedTransition(id: "11", targetCategoryKey: "new"), OfferedTransition(id: "12", targetCategoryKey: nil)]
        #expect(
            DeliveryDecisions.transition(spec(automatic: true), issueKey: "PROJ-9", resolved: false, offered: offered)
                == .fail(error: "No transition into a status of the done category is available for PROJ-9."))
    }

    @Test("after the transitions: resolved means the solved comment and the resolved link follow")
    func solvedFollowUps() {
        let (outcome, followUps) = DeliveryDecisions.afterTransitions(spec(), issueKey: "PROJ-1", resolvedNow: true)
        #expect(outcome == .succeeded)
        #expect(followUps.map(\.action) == [.comment, .remoteLink])
        #expect(followUps[0].work == .comment(body: "Issue solved with [abc123|https://g/acme/shop/-/commit/abc123]."))
        #expect(followUps[0].dedupeKey == "solved-comment|https://g/acme/shop/-/commit/abc123")
        guard case .remoteLink(let resolvedLink) = followUps[1].work else { Issue.record("no link"); return }
        #expect(resolvedLink.resolved && resolvedLink.title == "Solved by commit abc123.")
    }

    @Test("without comments on events only the resolved link follows; without a resolution nothing does")
    func fewerFollowUps() {
        #expect(
            DeliveryDecisions.afterTransitions(spec(comment: false), issueKey: "PROJ-1", resolvedNow: true).followUps.map(\.action) == [.remoteLink])
        let unresolved = DeliveryDecisions.afterTransitions(spec(), issueKey: "PROJ-1", resolvedNow: false)
        #expect(unresolved.outcome == .succeeded && unresolved.followUps.isEmpty)
    }

    // MARK: Failures

    @Test("Jira's refusals fail for good; transient failures retry after the policy's delay")
    func failures() {
        let policy = RetryPolicy()
        #expect(
            DeliveryDecisions.failure(.permanent, error: "403", attempts: 1, createdAt: 0, now: 1_000, policy: policy, random: 0)
                == .failed(error: "403"))
        #expect(
            DeliveryDecisions.failure(
                .transient(retryAfterSeconds: nil), error: "503", attempts: 1, createdAt: 0, now: 1_000, policy: policy, random: 0)
                == .retry(at: 2_000, error: "503"))
        #expect(
            DeliveryDecisions.failure(
                .transient(retryAfterSeconds: 30), error: "429", attempts: 1, createdAt: 0, now: 1_000, policy: policy, random: 0)
                == .retry(at: 31_000, error: "429"))
    }

    @Test("a transient failure after a day of trying is dead")
    func deadAfterADay() {
        let day: Millis = 24 * 3600 * 1000
        #expect(
            DeliveryDecisions.failure(
                .transient(retryAfterSeconds: nil), error: "503", attempts: 30, createdAt: 0, now: day,
                policy: RetryPolicy(), random: 0.5) == .dead(error: "503"))
    }

    @Test("outcomes have the names the log and the metrics use")
    func outcomeNames() {
        #expect(DeliveryOutcome.succeeded.name == "succeeded")
        #expect(DeliveryOutcome.skipped(reason: "").name == "skipped")
        #expect(DeliveryOutcome.retry(at: 0, error: "").name == "retry")
        #expect(DeliveryOutcome.failed(error: "").name == "failed")
        #expect(DeliveryOutcome.dead(error: "").name == "dead")
    }

    @Test("an outcome is recorded as a status, the next run and the text shown")
    func outcomesRecorded() {
        #expect(DeliveryOutcome.retry(at: 99, error: "503").recorded(now: 1) == (.pending, 99, "503"))
        #expect(DeliveryOutcome.succeeded.recorded(now: 5) == (.succeeded, 5, nil))
        #expect(DeliveryOutcome.skipped(reason: "there").recorded(now: 5) == (.skipped, 5, "there"))
        #expect(DeliveryOutcome.dead(error: "x").recorded(now: 5).status == .dead)
    }
}
